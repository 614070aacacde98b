"""Every study that generates or judges text, through a real OpenAI-compatible server.

`transformers serve` (the pinned transformers with its ``serving`` extra) serves the embedded
SmolLM2 weights on 127.0.0.1; a model entry ``served`` (``backend: openai``, ``base_url`` that
server, a key variable holding a canary) plays every generating and judging role of the ten LLM
studies at the smoke run's size (``.test/smoke.yaml``). Only what needs token log-probabilities
stays on the local backend (preference's likelihood rewards and its DPO policy, which are
trained weights, not a served model). The tables must be written, every answer must be in the
studies' stores, no file may hold the key, and a rerun of every job that talked to the server
must send it nothing (counted in the server's own access log).
"""

import json

import pytest
import yaml

from replisuite.llm import ResponseStore
from replisuite.llm.models import store_path
from replisuite.llm.serve import TransformersServer
from replisuite.smoke import SMOKE_CONFIG, merged, missing_outputs
from replisuite.workflow import listed_jobs
from tests.conftest import REPO, real_data_copy, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.served, pytest.mark.slow, pytest.mark.timeout(1500)]

STUDIES = ["roleplay", "reconstruct", "judge", "trauma", "preference", "networks", "care", "psaich", "stigma", "synthesis"]
TARGETS = [f"results/{study}/manifest.json" for study in STUDIES]
KEY_VARIABLE = "REPLISUITE_SERVED_KEY"
CANARY = "sk-canary-served-studies-3b7e"

# Every role that generates or judges text, as a config overlay (dicts merge, a list replaces).
ROLES = {
    "stigma": {"live": ["served"], "judge": "served", "answer_method!": {"served": "generate"},
               "judge_method": "generate"},
    "psaich": {"models": ["served"], "answer_method!": {"served": "generate"}},
    "judge": {"judges": ["served"], "method!": {}, "validation": {"per_label!": {"served": 2}},
              "arena": {"models": ["served"]}},
    "networks": {"coder": "served", "judge": "served"},
    "care": {"coders": ["served"]},
    "roleplay": {"pairs": [{"counsellor": "served", "client": "served"}],
                 "recovery": {"raters": ["served"], "method!": {}}},
    "reconstruct": {"counsellors": ["served"], "judge": {"judges": ["served"], "method!": {"served": "json"}}},
    "preference": {"principles": {"judges": ["served"], "method!": {"served": "json"}},
                   "evaluation": {"judges": ["served"], "judge_method!": {"served": "parsed"}}},
    "trauma": {"generate": {"counsellor": "served", "client": "served"}, "extraction": {"rater": "served"},
               "benchmark": {"raters": ["served"]}},
    # the therapists' answers are long prompts for a CPU-served model (116 s of the run with them);
    # tests/workflow/test_synthesis_study.py scores them through the fake server
    "synthesis": {"generators": ["served"], "client": "served", "judge": "served", "judge_method!": {},
                  "human_reference": False},
}


def served_requests(work, study):
    """Requests the study's jobs made of the served entry (their provenance files)."""
    total = 0
    for path in (work / "results" / study / "llm").glob("*.json"):
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
            config.update(merged(merged(config, smoke), ROLES))
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
    written = sorted(str(path.relative_to(work)) for study in STUDIES for path in (work / "results" / study / "llm").glob("*.json"))
    before = server.completions_served()
    done = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *written, "--forcerun", *rules)
    assert server.completions_served() == before
    rerun = {job.rule for job in listed_jobs(done.stdout + done.stderr)}
    assert {"ask_stigma_questions", "judge_sessions", "code_care_excerpts", "simulate_roleplay"} <= rerun <= set(rules)
