"""Every study that generates or judges text, through a real OpenAI-compatible server.

`transformers serve` (the pinned transformers with its ``serving`` extra) serves the embedded
SmolLM2 weights on 127.0.0.1; a model entry ``served`` (``backend: openai``, ``base_url`` that
server, a key variable holding a canary) is every subject, judge and client of the ten LLM studies
(``roles``) at the smoke run's size (``.test/smoke.yaml``). Only what needs token log-probabilities
stays on the local backend (preference's likelihood rewards and its DPO policy, which are
trained weights, not a served model). The tables must be written, every answer must be in the
studies' stores, no file may hold the key, and a rerun of every job that talked to the server
must send it nothing (counted in the server's own access log).
"""

import json
from collections import Counter

import pytest
import yaml

from replisuite.llm import ResponseStore
from replisuite.llm.models import store_path
from replisuite.llm.serve import TransformersServer
from replisuite.smoke import SMOKE_CONFIG, merged, missing_outputs
from replisuite.workflow import listed_jobs
from tests.conftest import REPO, real_data_copy, rerun_jobs, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.served, pytest.mark.slow, pytest.mark.timeout(1500)]

STUDIES = ["roleplay", "reconstruct", "judge", "trauma", "preference", "networks", "care", "psaich", "stigma", "synthesis"]
TARGETS = [f"results/{study}/manifest.json" for study in STUDIES]
KEY_VARIABLE = "REPLISUITE_SERVED_KEY"
CANARY = "sk-canary-served-studies-3b7e"

# The served entry in every role (one key each: roles), and what a chat server needs besides: the
# generating method where a study defaults to likelihood scoring (an overlay: dicts merge, a list
# replaces, a key ending in "!" replaces a dict whole).
ROLES = {"subjects": ["served"], "judges": ["served"], "clients": ["served"]}
METHODS = {
    "stigma": {"answer_method!": {"served": "generate"}, "judge_method": "generate"},
    "psaich": {"answer_method!": {"served": "generate"}},
    "judge": {"method!": {}, "validation": {"per_label!": {"served": 2}}},
    "roleplay": {"recovery": {"method!": {}}},
    "reconstruct": {"judge": {"method!": {"served": "json"}}},
    # likelihood rewards need token log-probabilities: they stay on the local entry
    "preference": {"principles": {"method!": {"served": "json"}}, "reward": {"loglik_scorers": ["smollm2-135m"]},
                   "evaluation": {"judge_method!": {"served": "parsed"}}},
    # the therapists' answers are long prompts for a CPU-served model (116 s of the run with them);
    # tests/workflow/test_synthesis_study.py scores them through the fake server
    "synthesis": {"judge_method!": {}, "human_reference": False},
}


def served_requests(work, study):
    """Requests the study's jobs made of the served entry (their provenance files)."""
    total = 0
    for path in (work / "results" / study / "llm").rglob("*.json"):  # networks: a folder per coder
        total += sum(record["requests"] for record in json.loads(path.read_text()) if record["entry"] == "served")
    return total


def jobs_that_sent(work):
    """Rules whose jobs made requests of the served entry (their logs' request counts)."""
    rules = set()
    for log in (work / "logs").rglob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if "model requests of this job:" in line and '"entry": "served"' in line:
                relative = log.relative_to(work / "logs").parts
                rules.add(relative[1] if len(relative) > 2 else relative[1].removesuffix(".log"))
    return rules


@pytest.fixture(scope="module")
def served_run(tmp_path_factory):
    logs = tmp_path_factory.mktemp("server")
    # continuous batching: concurrent requests share forward passes (benchmarks/llm.py: about 5x the
    # tokens/s of one request at a time at concurrency 16 here); two threads, as the jobs mostly wait
    with TransformersServer(log_path=logs / "server.log", threads=2, continuous_batching=True) as server:
        def edit(config):
            smoke = yaml.safe_load((REPO / SMOKE_CONFIG).read_text())
            config.update(merged(merged(config, smoke), {"roles": ROLES, **METHODS}))
            config["llm"]["models"]["served"] = {
                "backend": "openai", "model": server.model_id, "base_url": server.base_url,
                "api_key_env": KEY_VARIABLE, "label": "SmolLM2-135M via transformers serve", "concurrency": 8,
                "timeout": 300.0,
                # replies the studies do not size themselves (JSON judges) stop at 48 tokens: the
                # 135M model fills any budget, and this test is about the path, not the verdicts
                "params": {"temperature": 0.0, "max_tokens": 48}}

        work, env = real_data_copy(tmp_path_factory, "served", edit)
        env[KEY_VARIABLE] = CANARY
        snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *TARGETS)
        yield work, env, server


def test_every_llm_study_runs_on_the_served_model_and_keeps_every_answer(served_run):
    work, _, server = served_run
    assert {study: bad for study, bad in missing_outputs(work).items() if study in STUDIES} == {s: [] for s in STUDIES}
    sent = {study: served_requests(work, study) for study in STUDIES}
    assert all(sent.values()), f"a study made no request of the served model: {sent}"
    stored = {}
    for study in STUDIES:
        with ResponseStore(store_path(work / "data/llm", study)) as store:
            stored[study] = sum(server.base_url in r.request.server for r in store.iter_responses(backend="openai"))
            assert not store.failures(), (study, store.failures()[:2])
    assert all(stored.values()), f"a study stored no served answer: {stored}"
    # the server answered every distinct request the studies stored (and a few more: the probe
    # of its seed handling, an identical request asked by two jobs at once)
    assert server.completions_served() >= sum(stored.values())
    manifest = json.loads((work / "results/psaich/manifest.json").read_text())
    entry = next(e for e in manifest["llm"] if e["entry"] == "served")
    assert entry["base_url"] == server.base_url and entry["seed_check"] in {"honoured", "ignored", "no effect seen"}
    print("served requests per study:", sent, "stored:", stored, "served:", server.completions_served(),
          "seed:", entry["seed_check"])


def test_no_file_holds_the_key(served_run):
    work, _, _ = served_run
    for folder in ("results", "logs", ".snakemake/log", "data"):
        for path in (work / folder).rglob("*"):
            if path.is_file() and path.stat().st_size < 50_000_000:
                assert CANARY.encode() not in path.read_bytes(), path


def test_a_rerun_of_every_job_that_talked_to_the_server_sends_it_nothing(served_run):
    work, env, server = served_run
    rules = sorted(jobs_that_sent(work))
    assert {"ask_stigma_questions", "judge_sessions", "code_care_excerpts", "simulate_roleplay"} <= set(rules)
    # what those jobs write (each writes its model provenance under results/<study>/llm/): forced,
    # they run again and nothing downstream does
    written = sorted(str(path.relative_to(work)) for study in STUDIES
                     for path in (work / "results" / study / "llm").rglob("*.json"))
    before = server.completions_served()
    done = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *written, "--forcerun", *rules)
    assert server.completions_served() == before
    rerun = {job.rule for job in listed_jobs(done.stdout + done.stderr)}
    assert {"ask_stigma_questions", "judge_sessions", "code_care_excerpts", "simulate_roleplay"} <= rerun <= set(rules)


def test_adding_a_subject_is_one_key_and_reschedules_only_its_jobs_and_the_summaries(served_run):
    """A second served subject (another entry on the same server) added to roles.subjects: the dry
    run schedules that model's jobs in every study with a subject part, and of the rest only jobs
    whose inputs or model lists changed (summaries, claims, manifests), never a job of the first."""
    work, env, server = served_run
    second = {"backend": "openai", "model": server.model_id, "base_url": server.base_url,
              "api_key_env": KEY_VARIABLE, "label": "second subject (same server)", "concurrency": 8}
    jobs = rerun_jobs(work, env, TARGETS, {"llm/models/served-2": second, "roles/subjects": ["served", "served-2"]})
    of_new = [job for job in jobs if any("served-2" in value for value in job.wildcards.values())]
    subject_rules = {"ask_stigma_questions", "administer_psaich", "judge_sessions", "arena_replies", "code_care_excerpts",
                     "code_eemm", "build_networks", "compare_networks", "simulate_roleplay", "reconstruct_sessions",
                     "synthesise_dialogues"}
    assert subject_rules <= {job.rule for job in of_new}, {job.rule for job in of_new}
    others = [job for job in jobs if job not in of_new]
    # no subject job of the first model runs again; the rest run because what they read grew (a
    # judge of every counsellor's sessions, summaries, claims) or because they list the subjects
    assert not [job for job in others if job.rule in subject_rules]
    assert {job.reason.split(":")[0] for job in others} <= {
        "Input files updated by another job", "Params have changed since last execution", "Missing output files"}
    # the jobs that list the subjects in their params: summaries, claims (a verdict per subject), and
    # trauma's benchmark (its raters are subjects)
    listing = {job.rule for job in others if "Params have changed" in job.reason}
    assert {"predict_trauma_trajectories", "summarise_networks"} <= listing
    assert all(rule.startswith("summarise_") for rule in listing - {"predict_trauma_trajectories", "state_claims"}), listing
    print("jobs of the new subject per rule:", dict(Counter(job.rule for job in of_new)),
          "other jobs with changed params:", dict(Counter(job.rule for job in jobs
                                                          if job not in of_new and "Params have changed" in job.reason)))
