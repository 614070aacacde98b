"""Two served subject models with planted, different behaviour beside the embedded one, put through
stigma's subject part by one key (``roles.subjects``): the model x claim view shows the planted
difference, and the embedded model's task floors.

The local fake OpenAI server answers both entries. ``stigmatiser`` stigmatises the schizophrenia
vignettes and no other; ``fair`` stigmatises none; both answer in the paper's format (an option
letter). So the schizophrenia-vs-depression contrast must come out reproduced for the first and not
for the second, and the alcohol contrast for neither. Then `make plan` for a third subject must
count exactly what adding it sends.
"""

import json
import re
from collections import Counter

import pytest
import yaml

from replisuite import scorecard
from replisuite.claims import FLOOR_BELOW, FLOOR_PASSED, read_claims
from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer
from replisuite.plan import plan
from tests.conftest import real_data_copy, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

TARGET = "results/stigma/manifest.json"
SCHIZOPHRENIA_MARK = "spying on"  # words only the schizophrenia vignettes use


def planted(body):
    """An option letter for stigma questions, coded as the study codes it (the options from C on agree;
    "unwilling" questions stigmatise by not agreeing, the violence question by agreeing)."""
    text = body["messages"][-1]["content"]
    if "(A)" not in text:
        return f"I hear how hard this is ({body['model']}). Can you tell me more about what happened?"
    stigmatise = body["model"] == "stigmatiser-model" and SCHIZOPHRENIA_MARK in text
    violence = "violent" in text
    return "C" if stigmatise == violence else "A"


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    with FakeOpenAIServer(Behaviour(respond=planted)) as server:
        def edit(config):
            for name in ("stigmatiser", "fair"):
                config["llm"]["models"][name] = {"backend": "openai", "model": f"{name}-model",
                                                 "base_url": server.base_url, "label": f"{name} (fake server)"}
            config["roles"]["subjects"] = ["smollm2-135m", "stigmatiser", "fair"]
            study = config["stigma"]
            study["published"] = {"gpt-4o": study["published"]["gpt-4o"]}
            # five vignettes drawn by name: one each of depression, schizophrenia and alcohol dependence
            study.update(live_vignettes=5, limit_interjections=2, n_boot=200, live_max_tokens=12)

        work, env = real_data_copy(tmp_path_factory, "roles", edit)
        snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
        yield work, env, server


def test_the_model_view_shows_the_planted_difference_and_the_embedded_floors(planted_run):
    work, _, server = planted_run
    frame = read_claims([str(work / "results/stigma/claims.csv")])
    view = scorecard.model_view(frame)
    assert {"fair", "stigmatiser", "smollm2-135m", "gpt-4o"} <= set(view.columns)
    rows = {row["claim"]: row for row in view.iter_rows(named=True)}
    schizophrenia = rows["stigma_schizophrenia_vs_depression_{model}"]
    assert schizophrenia["stigmatiser"] == "reproduced"
    assert schizophrenia["fair"] == "not reproduced"
    alcohol = rows["stigma_alcohol_dependence_vs_depression_{model}"]
    assert alcohol["stigmatiser"] == alcohol["fair"] == "not reproduced"
    # the published model's claims sit in the same view; the live contrast is not stated for it
    assert rows["appropriateness_{model}"]["gpt-4o"] == "reproduced" and schizophrenia["gpt-4o"] is None
    embedded = frame.filter(frame["subject"] == "smollm2-135m")
    assert embedded.height == 2 and set(embedded["task_floor"]) <= {FLOOR_PASSED, FLOOR_BELOW}
    # every stated cell is its claim's verdict, marked exactly where that model was below the floor
    for claim in frame.filter(frame["subject"] != "").iter_rows(named=True):
        cell = rows[claim["claim_id"].replace(claim["subject"], "{model}", 1)][claim["subject"]]
        marked = claim["task_floor"] == FLOOR_BELOW
        assert cell == claim["verdict"] + (" (below task floor)" if marked else ""), (claim["claim_id"], cell)
    served = frame.filter(frame["subject"].is_in(["stigmatiser", "fair"]))
    assert set(served["task_floor"]) == {FLOOR_PASSED}  # both follow the format
    assert server.counters.calls > 0
    print(view)


def test_the_plan_counts_exactly_what_adding_a_model_then_sends(planted_run, tmp_path):
    """`make plan` for one more subject: it sends nothing, and its counts (the new model's questions,
    and the fixed judge's grading of its replies) equal what the run then sends."""
    work, env, server = planted_run
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    config["llm"]["models"]["newcomer"] = {"backend": "openai", "model": "newcomer-model", "base_url": server.base_url,
                                           "label": "newcomer (fake server)"}
    config["roles"]["subjects"].append("newcomer")
    edited = tmp_path / "newcomer.yaml"
    edited.write_text(yaml.safe_dump(config, sort_keys=False))
    calls = server.counters.calls
    table, failed = plan(work, studies=["stigma"], snakemake_args=["--configfile", str(edited)])
    assert server.counters.calls == calls and not failed
    counts = {row["entry"]: (row["stored"], row["to_send"]) for row in table.iter_rows(named=True)}
    assert set(counts) == {"newcomer", "smollm2-135m"}  # the new subject, and the judge of its replies
    assert counts["newcomer"][0] == 0 and counts["newcomer"][1] > 0

    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET,
              "--configfile", str(edited))
    sent = Counter()
    for log in (work / "logs/stigma").rglob("*newcomer*.log"):
        for match in re.finditer(r"model requests of this job: (\{.*\})", log.read_text()):
            record = json.loads(match.group(1))
            sent[record["entry"]] += record["new_calls"]
    assert dict(sent) == {entry: to_send for entry, (_, to_send) in counts.items()}
    print("plan for one more subject:", counts)
