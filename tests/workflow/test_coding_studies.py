"""The networks and care studies end to end on the real AnnoMI sessions and the shipped illustrative
sets, with OpenAI-compatible models (the local fake server) as coders and judge: a planted coder
that spots phrases must beat the trivial guess; one that answers nonsense must not; one that
answers in prose instead of JSON falls below its task floor (three coders in one run, each with
its own verdicts)."""

import json

import polars as pl
import pytest

from tests.conftest import rerun_plan, served_study_run, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGETS = ["results/networks/manifest.json", "results/care/manifest.json"]
# a planted coder: phrases it recognises, with their codes
PHRASES = {
    "worried": "affect-maladaptive", "discouraging": "affect-maladaptive", "not gonna quit": "motivation-maladaptive",
    "I can quit": "self-adaptive", "I could probably do that": "self-adaptive", "get my kids back": "motivation-adaptive",
    "step at a time": "cognition-adaptive", "disastrous": "cognition-maladaptive", "bleak": "cognition-maladaptive",
    "helpline": "seeking_formal", "GP": "seeking_formal", "dragged me out": "encounter_disempowering",
    "waiting list": "barrier", "A&E": "crisis", "let me": "encounter_empowering", "friend": "seeking_informal",
    "want to": "aspiration", "I'd like": "aspiration", "stopped going": "withdrawal",
}


def served(body):
    messages = body["messages"]
    prompt = messages[-1]["content"]
    if messages[0]["content"].find("Codes:") >= 0 and body["model"] == "fake-nonsense":
        return json.dumps({"codes": [{"code": "motivation-adaptive", "span": "the"}]})
    if messages[0]["content"].find("Codes:") >= 0 and body["model"] == "fake-prose":
        return "The client sounds worried about quitting."
    if messages[0]["content"].find("Codes:") >= 0:
        if "could not be used" in prompt:
            return '{"codes": []}'
        text = prompt.split(":\n", 1)[1]
        found = [{"code": code, "span": phrase} for phrase, code in PHRASES.items() if phrase in text]
        return json.dumps({"codes": found})
    if "Name the clinical theme" in prompt:
        return "theme " + str(len(prompt) % 3)
    if "mean the same theme" in prompt:
        return '{"merge": []}'
    if "In one sentence" in prompt:
        return "One makes the other worse."
    if "Draw this client's network" in prompt:
        return json.dumps({"nodes": ["worry"], "edges": []})
    if "Network A:" in prompt:
        a, b = prompt.split("Network A:\n")[1].split("\n\nNetwork B:\n")
        return "A" if a.count("\n- ") >= b.split("\n\nWhich network")[0].count("\n- ") else "B"
    return "ok"


@pytest.fixture(scope="module")
def coding_run(tmp_path_factory):
    def small(config):
        config["llm"]["models"]["served"].update(model="fake-coder", label="served coder (fake server)")
        del config["llm"]["models"]["served"]["concurrency"]
        config["llm"]["models"]["nonsense"] = {**config["llm"]["models"]["served"], "model": "fake-nonsense",
                                               "label": "a coder answering nonsense (fake server)"}
        config["llm"]["models"]["prose"] = {**config["llm"]["models"]["served"], "model": "fake-prose",
                                            "label": "a coder answering in prose (fake server)"}
        config["networks"].update(coders=["served", "nonsense", "prose"], judge="served", shots=[0, 2], network_shots=2,
                                  n_boot=100, units_per_session=None)
        config["care"].update(coders=["served"], n_boot=100)

    with served_study_run(tmp_path_factory, "coding", served, small, TARGETS) as run:
        yield run


def table(work, study, name):
    return pl.read_csv(work / f"results/{study}/tables/{name}.csv")


def test_detection_beats_the_trivial_guess_and_is_labelled_illustrative(coding_run):
    work, _, _ = coding_run
    detection = table(work, "networks", "detection")
    assert detection["model"].unique(maintain_order=True).to_list() == ["served", "nonsense", "prose"]
    mine = detection.filter(pl.col("model") == "served")
    baseline = mine.filter(pl.col("shots").is_null()).row(0, named=True)
    model = mine.filter(pl.col("shots") == 2).row(0, named=True)
    assert model["precision"] > 0.6 and model["f1"] > baseline["f1"]  # the phrases are right where they fire
    assert model["dimension_accuracy"] > 0.9
    assert baseline["gold_spans"] == 39
    nonsense = detection.filter((pl.col("model") == "nonsense") & (pl.col("shots") == 2)).row(0, named=True)
    assert nonsense["f1"] < baseline["f1"] and nonsense["parsed_units"] == nonsense["units"]
    claims = pl.read_csv(work / "results/networks/claims.csv")
    detection_claim = claims.filter(pl.col("claim_id") == "process_detection_2_shot_served").row(0, named=True)
    assert "illustrative set written by the replisuite project" in detection_claim["note"]
    # each coder its own verdict, the planted difference in them
    verdicts = {(c["subject"], c["claim_id"]): (c["verdict"], c["task_floor"]) for c in claims.iter_rows(named=True)}
    assert verdicts[("served", "process_detection_2_shot_served")] == ("reproduced", "passed")
    assert verdicts[("nonsense", "process_detection_2_shot_nonsense")] == ("not reproduced", "passed")
    # no reply parsed: below the floor, so nothing can be said of its detection
    assert verdicts[("prose", "process_detection_2_shot_prose")] == ("not comparable", "below")
    assert {s for s, _ in verdicts} == {"served", "nonsense", "prose"}
    caption = (work / "workflow/report/networks/detection.rst").read_text()
    assert "ILLUSTRATIVE" in caption


def test_networks_themes_and_the_judge_comparison(coding_run):
    work, _, server = coding_run
    statistics = table(work, "networks", "served/network_statistics")
    assert set(statistics["case"].cast(pl.String)) == {"16", "24", "66"} and set(statistics["method"]) == {"multi-step", "direct"}
    edges = table(work, "networks", "served/edges")
    assert edges.filter(pl.col("method") == "multi-step")["explanation"].str.contains("worse").all()
    comparison = table(work, "networks", "comparison")
    assert set(comparison["model"]) == {"served", "nonsense", "prose"}
    preferred = comparison.filter((pl.col("measure") == "multi-step preferred") & (pl.col("model") == "served")).row(0, named=True)
    assert preferred["n"] == 3 and preferred["count"] == 3  # the planted judge prefers the network with more edges
    stability = table(work, "networks", "stability_summary").filter(pl.col("model") == "served").row(0, named=True)
    assert stability["pairs"] == 10 and stability["null"] == "embeddings with every dimension permuted across processes"
    claims = pl.read_csv(work / "results/networks/claims.csv")
    stable = claims.filter(pl.col("claim_id") == "theme_clusters_stable_served").row(0, named=True)
    expected = "reproduced" if stability["min_ari"] > stability["max_null_ari"] else "not reproduced"
    assert stable["verdict"] == expected
    manifest = json.loads((work / "results/networks/manifest.json").read_text())
    served_entry = next(e for e in manifest["llm"] if e["entry"] == "served")
    assert served_entry["backend"] == "openai"
    for figure in ("detection", "networks", "themes"):
        assert (work / f"results/networks/figures/{figure}.png").stat().st_size > 3000


def test_care_agreement_model_coder_and_journeys(coding_run):
    work, _, _ = coding_run
    agreement = table(work, "care", "agreement")
    humans = agreement.filter(pl.col("among") == "human coders")
    overall = humans.filter((pl.col("code") == "overall") & (pl.col("statistic") == "cohen_kappa")).row(0, named=True)
    assert 0.5 < overall["value"] < 0.95 and overall["data"].startswith("illustrative")  # planted disagreements
    everyone = agreement.filter((pl.col("among") == "human and model coders") & (pl.col("code") == "overall"))
    assert set(everyone["statistic"]) == {"cohen_kappa", "fleiss_kappa", "krippendorff_alpha"}
    versus = table(work, "care", "model_agreement").filter(pl.col("code") == "overall")
    assert set(versus["reference"]) == {"coder_a", "coder_b"} and (versus["value"] > 0).all()
    journeys = table(work, "care", "journeys")
    assert journeys.height == 8 and journeys.filter(pl.col("case") == "p02")["journey"][0].startswith("crisis > seeking_formal")
    for figure in ("cooccurrence", "timelines"):
        assert (work / f"results/care/figures/{figure}.png").stat().st_size > 3000


def test_rerun_sends_nothing_and_one_key_reruns_only_its_jobs(coding_run):
    work, env, server = coding_run
    calls = server.counters.calls
    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *TARGETS)
    assert "Nothing to be done" in again.stdout + again.stderr and server.counters.calls == calls
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"networks/window": 3})
    assert by_params == {"build_networks": 3} and "code_eemm" not in scheduled  # one per coder
    by_params, _ = rerun_plan(work, env, TARGETS, {"networks/match/rule": "exact"})
    assert by_params == {"summarise_networks": 1}
    by_params, _ = rerun_plan(work, env, TARGETS, {"networks/coder_params/max_tokens": 150})
    assert by_params == {"code_eemm": 6}
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"care/shots": 3})
    assert by_params == {"code_care_excerpts": 1} and not {"code_eemm", "build_networks"} & scheduled


def test_a_nonsense_coder_does_not_beat_the_trivial_guess():
    """The check can fail: the claim's rule on a coder whose spans are never right."""
    from replisuite.networks.claims import networks_claims

    detection = pl.DataFrame({"coder": ["2 examples", "baseline"], "shots": [2, None], "f1": [0.05, 0.2],
                              "f1_ci_low": [0.0, 0.1], "f1_ci_high": [0.1, 0.3], "parsed_units": [10, 10], "units": [10, 10]})
    comparison = pl.DataFrame({"measure": ["multi-step preferred", "first shown picked", "unparseable"], "count": [1, 2, 0],
                               "n": [3, 3, 3], "rate": [1 / 3, 2 / 3, 0.0], "ci_low": [0.06, 0.2, None],
                               "ci_high": [0.8, 0.9, None]})
    # as stable as clusters of structureless embeddings: no finding
    stability = pl.DataFrame({"pairs": [10], "mean_ari": [0.8], "min_ari": [0.7], "mean_null_ari": [0.75],
                              "max_null_ari": [0.85]})
    claims = networks_claims(detection=detection, comparison=comparison, stability=stability, coders=["x"], judge="j",
                             embedded=[])
    verdicts = {c.claim_id: c.verdict for c in claims}
    assert verdicts == {"process_detection_2_shot_x": "not reproduced", "multi_step_networks_preferred_x": "not reproduced",
                        "theme_clusters_stable_x": "not reproduced"}
    assert {c.task_floor for c in claims if c.claim_id != "theme_clusters_stable_x"} == {"passed"}
    # the coder is the subject of every claim (the networks compared are built from its codes); the judge an instrument
    assert {c.subject for c in claims} == {"x"}


def test_a_judge_that_always_picks_the_first_network_is_below_its_floor():
    from replisuite.networks.claims import networks_claims

    detection = pl.DataFrame({"coder": ["baseline"], "shots": [None], "f1": [0.2], "f1_ci_low": [0.1], "f1_ci_high": [0.3]},
                             schema_overrides={"shots": pl.Int64})
    comparison = pl.DataFrame({"measure": ["multi-step preferred", "first shown picked", "unparseable",
                                           "pairs without a direct network"], "count": [20, 30, 0, 4], "n": [30, 30, 30, 34],
                               "rate": [0.67, 1.0, 0.0, 0.12], "ci_low": [0.5, 0.9, None, None], "ci_high": [0.8, 1.0, None, None]})
    stability = pl.DataFrame({"pairs": [1], "mean_ari": [None], "min_ari": [None], "mean_null_ari": [None]},
                             schema={"pairs": pl.Int64, "mean_ari": pl.Float64, "min_ari": pl.Float64, "mean_null_ari": pl.Float64})
    claim = next(c for c in networks_claims(detection=detection, comparison=comparison, stability=stability, coders=["x"],
                                            judge="x", embedded=[]) if c.claim_id == "multi_step_networks_preferred_x")
    assert claim.verdict == "not comparable" and claim.task_floor == "below"
    assert "1 distinct over 30 verdicts" in claim.note and "4 clients left out" in claim.note
