"""The trauma study's pieces: the case sampler against the published marginals (and a wrong sampler
that must fail), planted SUDS arcs, the loader for the published file layout, SUDS extraction on
planted transcripts, Pearson/RMSE/DTW against reference computations, the benchmark on a planted
signal and on noise, fidelity checks, and generation resuming after a SIGKILL."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats
from sklearn.metrics import mean_squared_error

from replisuite.llm import LLM, ModelEntry, ResponseStore, ScriptedBackend
from replisuite.trauma import benchmark
from replisuite.trauma.cases import (
    TraumaConfigError,
    case_profiles,
    marginals_table,
    phases,
    planted_arc,
    sample_cases,
    shares,
)
from replisuite.trauma.fidelity import adherence, habituation
from replisuite.trauma.pipeline import extraction_check
from replisuite.trauma.published import PublishedDataError, read_published
from replisuite.trauma.suds import mask_ratings, parse_suds, trajectories

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())["trauma"]
ORDER = CONFIG["phases"]


def test_cases_sampled_at_the_configured_size_match_the_published_marginals():
    marginals = CONFIG["marginals"]
    cases = sample_cases(marginals["cases"], marginals, CONFIG["suds"], seed=CONFIG["seed"])
    table = marginals_table(cases, marginals)
    tests = table.filter(pl.col("p_value").is_not_null())
    assert tests["p_value"].min() >= 0.01
    n = marginals["cases"]
    published = table.filter((pl.col("share_source") == "published") & (pl.col("attribute") != "age"))
    share = published["published_share"].to_numpy()
    assert published.height == 7
    assert (np.abs(published["deviation"].to_numpy()) < 3 * np.sqrt(share * (1 - share) / n)).all()
    age = dict(zip(table.filter(pl.col("attribute") == "age")["category"],
                   table.filter(pl.col("attribute") == "age")["sampled_share"], strict=True))
    assert abs(age["mean"] - 49.3) < 3 * 16 / np.sqrt(n) and age["min"] >= 18 and age["max"] <= 80
    # a case is a function of its id: sampling more cases leaves the first ones unchanged
    assert sample_cases(20, marginals, CONFIG["suds"], seed=CONFIG["seed"]).equals(cases.head(20))


def test_a_sampler_with_the_wrong_shares_fails_the_check():
    marginals = CONFIG["marginals"]
    wrong = {**marginals, "gender": {"remainder": ["male", "female", "non-binary"]}}   # uniform, not published
    cases = sample_cases(marginals["cases"], wrong, CONFIG["suds"], seed=CONFIG["seed"])
    table = marginals_table(cases, marginals)
    assert table.filter(pl.col("attribute") == "gender")["p_value"][0] < 0.01


def test_age_keeps_the_published_mean_inside_the_published_range():
    marginals = CONFIG["marginals"]
    ages = sample_cases(4000, marginals, CONFIG["suds"], seed=1)["age"]
    assert abs(ages.mean() - 49.3) < 0.8 and ages.min() >= 18 and ages.max() <= 80


def test_shares_that_leave_nothing_for_the_remainder_are_refused():
    assert shares({"published": {"a": 0.3}, "remainder": ["b", "c"]}, attribute="x")[0] == pytest.approx(
        {"a": 0.3, "b": 0.35, "c": 0.35})
    with pytest.raises(TraumaConfigError, match="trauma.marginals.x: published shares sum to 1.200"):
        shares({"published": {"a": 0.7, "b": 0.5}, "remainder": ["c"]}, attribute="x")
    with pytest.raises(TraumaConfigError, match="no remainder"):
        shares({"published": {"a": 0.7}}, attribute="x")


def test_planted_arcs_habituate_within_and_between_phases():
    suds = {**CONFIG["suds"], "noise": 0}
    case = {"case_id": "c1", "baseline_suds": 80.0}
    arcs = {p: planted_arc(case, p, order=ORDER, max_exchanges=6, suds=suds, seed=3) for p in ORDER}
    p6 = [arcs["P6"][str(x)] for x in range(1, 7)]
    assert p6 == sorted(p6, reverse=True) and p6[0] > p6[-1]
    p10 = [arcs["P10"][str(x)] for x in range(1, 7)]
    assert max(p10) > p10[0] and p10[-1] < max(p10)               # exposure: a peak, then habituation
    assert set(arcs["P5"]) == {"1", "6"}                          # start and end only
    assert arcs["P11"]["1"] < arcs["P5"]["1"]                     # between phases
    profiles = case_profiles(sample_cases(2, CONFIG["marginals"], suds, seed=3), phase_ids=["P5", "P10"], order=ORDER,
                             max_exchanges=3, suds=suds, seed=3)
    assert [p["id"] for p in profiles] == ["tv0001_P5", "tv0001_P10", "tv0002_P5", "tv0002_P10"]
    assert "Full imaginal exposure" in profiles[1]["global_plan"][0]["goals"]


def write_published(folder, cases=("tv7",), phase_list=("P5", "P6")):
    folder.mkdir(exist_ok=True)
    for case in cases:
        (folder / f"{case}_metadata.json").write_text(json.dumps(
            {"age": 52, "gender": "female", "ethnicity": "Asian", "trauma_type": "bullying", "behaviors": ["nightmares"]}))
        for phase in phase_list:
            turns = [{"speaker": "Therapist", "text": "How distressed are you on the SUDS scale, 0 to 100?"},
                     {"speaker": "Client", "text": "About 70 out of 100."},
                     {"speaker": "Therapist", "text": "Let's continue. What do you notice?"},
                     {"speaker": "Client", "text": "My heart is racing."},
                     {"speaker": "Therapist", "text": "Rate your distress again?"},
                     {"speaker": "Client", "text": "Maybe sixty now."}]
            (folder / f"{case}_{phase}_conversations.json").write_text(json.dumps({"conversation": turns}))
    return folder


def test_the_published_layout_loads_into_transcripts_and_their_ratings_extract(tmp_path):
    folder = write_published(tmp_path / "tvt")
    cases, records = read_published(folder, phases=["P5", "P6"])
    assert cases.row(0, named=True)["behaviour"] == "nightmares" and cases["age"][0] == 52
    assert [r["id"] for r in records] == ["published/tv7_P5", "published/tv7_P6"]
    assert [t["role"] for t in records[0]["turns"]][:2] == ["counsellor", "client"]
    frame = trajectories(records)
    assert frame.filter(pl.col("conversation") == "published/tv7_P5")["value"].to_list() == [70.0, 60.0]
    assert set(frame["status"]) == {"number", "word"}


@pytest.mark.parametrize(("damage", "message"), [
    (lambda f: (f / "tv7_P6_conversations.json").unlink(), r"tv7_P6_conversations.json: missing \(case tv7"),
    (lambda f: (f / "tv7_P5_conversations.json").write_text("{broken"), r"tv7_P5_conversations.json: not valid JSON"),
    (lambda f: (f / "tv7_P5_conversations.json").write_text(json.dumps([{"speaker": "narrator", "text": "x"}])),
     r"tv7_P5_conversations.json: turn 1 needs a speaker"),
    (lambda f: (f / "tv7_metadata.json").write_text(json.dumps({"age": "old"})), r"tv7_metadata.json: field 'age'"),
])
def test_a_broken_published_folder_is_an_error_naming_the_file(tmp_path, damage, message):
    folder = write_published(tmp_path / "tvt")
    damage(folder)
    with pytest.raises(PublishedDataError, match=message):
        read_published(folder, phases=["P5", "P6"])


def record(turns, profile_id="tv1_P6"):
    return {"id": f"prolonged_exposure/{profile_id}", "profile_id": profile_id, "turns": turns}


def cued(text, exchange):
    return {"role": "client", "text": text, "exchange": exchange, "cued": True}


def test_suds_are_extracted_from_planted_transcripts_and_nothing_is_dropped(store):
    turns = [{"role": "counsellor", "text": "Rate it?", "exchange": 1, "cued": True}, cued("It is 70 out of 100.", 1),
             {"role": "counsellor", "text": "And now?", "exchange": 2, "cued": True}, cued("Seventy-five, I think.", 2),
             cued("Like 150, awful.", 3), cued("I feel really overwhelmed.", 4),
             {"role": "client", "text": "I said 20 earlier", "exchange": 4, "cued": False}]
    rater = LLM(ModelEntry(name="rater", backend="scripted", model="rater"), store, backend=ScriptedBackend(lambda r: "8"))
    frame = trajectories([record(turns)], planted={"tv1_P6": {"1": 70, "2": 72, "3": 60, "4": 55}}, rater=rater)
    assert frame["status"].to_list() == ["number", "word", "out_of_range", "model"]
    assert frame["value"].to_list() == [70.0, 75.0, None, 85.0]           # decile 8: SUDS 80-89
    assert frame["planted"].to_list() == [70.0, 72.0, 60.0, 55.0]
    assert frame["phase"].unique().to_list() == ["P6"] and frame["case_id"][0] == "tv1"
    without_rater = trajectories([record(turns)])
    assert without_rater["status"].to_list()[-1] == "unparseable" and without_rater.height == 4


@pytest.mark.parametrize(("text", "expected"), [
    ("On a scale of 0 to 100 I'm at 40.", (40, "number")), ("85/100", (85, "number")),
    ("a hundred, the worst", (100, "word")), ("It's one of the worst days.", (None, "unparseable")),
    ("Probably 200", (None, "out_of_range")), ("ten, maybe", (10, "word")),
])
def test_parse_suds_reads_ratings_not_the_scale(text, expected):
    assert parse_suds(text) == expected


def test_masking_hides_the_rating_from_the_predictors():
    assert mask_ratings("About 70, maybe seventy-five out of 100") == "About <n>, maybe <n> out of <n>"


def naive_dtw(x, y):
    """Reference DTW: the square root of the least summed squared difference over warping paths."""
    cost = np.full((len(x) + 1, len(y) + 1), np.inf)
    cost[0, 0] = 0.0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            cost[i, j] = (x[i - 1] - y[j - 1]) ** 2 + min(cost[i - 1, j], cost[i, j - 1], cost[i - 1, j - 1])
    return float(np.sqrt(cost[-1, -1]))


def test_trajectory_metrics_equal_reference_computations():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.uniform(0, 100, size=rng.integers(3, 9)), rng.uniform(0, 100, size=rng.integers(3, 9))
        assert benchmark.dtw_distance(x, y) == pytest.approx(naive_dtw(x, y), rel=1e-9)
        n = min(len(x), len(y))
        assert benchmark.pearson(x[:n], y[:n]) == pytest.approx(stats.pearsonr(x[:n], y[:n])[0], abs=1e-12)
        assert benchmark.rmse(x[:n], y[:n]) == pytest.approx(np.sqrt(mean_squared_error(y[:n], x[:n])))
    assert benchmark.dtw_distance(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 2.0, 3.0])) == 0.0
    assert np.isnan(benchmark.pearson(np.ones(4), np.arange(4.0)))


def planted_points(n_cases=12, planted=True, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for case in range(n_cases):
        for point in range(1, 5):
            target = float(rng.uniform(10, 90))
            level = target if planted else float(rng.uniform(10, 90))
            words = ["terrified"] * int(level // 10) + ["calm"] * int((100 - level) // 10)
            rows.append({"conversation": f"c{case}", "case_id": f"case{case}", "phase": "P6", "point": point,
                         "target": target, "masked": " ".join(rng.permutation(words))})
    return pl.DataFrame(rows)


@pytest.mark.parametrize("planted", [True, False])
def test_the_lexicon_learns_a_planted_signal_and_not_noise(planted):
    points = planted_points(planted=planted)
    predicted = benchmark.fitted_predictions(points, np.random.default_rng(1).normal(size=(points.height, 8)), n_splits=4,
                                             ridge_alpha=1.0)
    table = benchmark.score(benchmark.joined(points, predicted), target="planted", n_boot=200, seed=0)
    rmse = {r["predictor"]: r for r in table.filter((pl.col("metric") == "rmse") & (pl.col("phase") == "all"))
            .iter_rows(named=True)}
    lexicon, baseline = rmse["distress lexicon"], rmse["training mean (baseline)"]
    if planted:
        assert lexicon["ci_high"] < baseline["value"] / 2
        assert table.filter((pl.col("predictor") == "distress lexicon") & (pl.col("metric") == "pearson_r")
                            & (pl.col("phase") == "all"))["value"][0] > 0.95
    else:
        assert lexicon["value"] >= baseline["value"] * 0.9
    # random embeddings carry no signal: ridge on them must not beat the mean clearly
    assert rmse["MiniLM + ridge"]["ci_low"] > baseline["value"] * 0.8


def test_the_extraction_check_separates_a_faithful_reading_from_the_null():
    rng = np.random.default_rng(0)
    planted = rng.integers(20, 95, size=60).astype(float)
    frame = pl.DataFrame({"value": planted, "planted": planted, "status": ["number"] * 60})
    rows = {r["measure"]: r for r in extraction_check(frame, n_boot=200, seed=0).iter_rows(named=True)}
    assert rows["within 5 of planted: extracted"]["value"] == 1.0
    assert rows["within 5 of planted: shuffled planted (null)"]["value"] < 0.3
    noisy = frame.with_columns(pl.Series("value", rng.integers(0, 100, size=60).astype(float)))
    rows = {r["measure"]: r for r in extraction_check(noisy, n_boot=200, seed=0).iter_rows(named=True)}
    assert rows["within 5 of planted: extracted"]["ci_low"] < rows["within 5 of planted: shuffled planted (null)"]["value"] + 0.2


def test_adherence_is_measured_against_the_other_phases_and_habituation_by_slope():
    defined = {p: phases()[p] for p in ("P7", "P8")}
    records = [{"id": f"x/{c}_{p}", "phase": p, "case_id": c,
                "turns": [{"role": "counsellor", "text": text}]}
               for c in ("a", "b") for p, text in (("P7", "You're doing well, stay with it."),
                                                   ("P8", "What do you think and feel in your body?"))]
    table = adherence(records, defined)
    reinforcement = table.filter(pl.col("element") == "reinforcement").row(0, named=True)
    assert (reinforcement["present"], reinforcement["other_phases"]) == (1.0, 0.0)
    frame = pl.DataFrame({"conversation": ["c1"] * 3 + ["c2"] * 3, "phase": ["P6"] * 6, "exchange": [1, 2, 3] * 2,
                          "value": [80.0, 70.0, 60.0, 75.0, 70.0, 50.0], "planted": [80.0, 70.0, 60.0, 76.0, 68.0, 52.0]})
    rows = {r["source"]: r for r in habituation(frame, n_boot=200, seed=0).iter_rows(named=True)}
    assert rows["extracted"]["mean_slope"] == pytest.approx(-11.25) and rows["extracted"]["declining_share"] == 1.0


KILLED_RUN = """
import os, signal
from replisuite.trauma.pipeline import generate
generate({study!r}, {llm!r}, profiles={profiles!r}, out={out!r}, provenance_out={provenance!r})
"""


def test_generation_killed_mid_run_resumes_without_resending_stored_turns(tmp_path):
    from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer
    from replisuite.trauma.pipeline import generate, sample

    study = {**CONFIG, "phases": ["P5", "P6"], "generate": {**CONFIG["generate"], "cases": 2, "max_exchanges": 2,
                                                            "counsellor": "served", "client": "served"}}
    sample(study, cases_out=str(tmp_path / "cases.parquet"), marginals_out=str(tmp_path / "marginals.csv"),
           profiles_out=str(tmp_path / "profiles.jsonl"))
    child = {}
    calls = []

    def respond(body):
        calls.append(body["messages"][0]["content"])
        if len(calls) == 6 and "pid" in child:
            os.kill(child["pid"], signal.SIGKILL)
        system = body["messages"][0]["content"]
        turn = len(body["messages"])
        return f"My SUDS is {60 + turn}." if "distress rating" in system else f"Tell me more ({turn})."

    with FakeOpenAIServer(Behaviour(respond=respond)) as server:
        llm = {"store_dir": str(tmp_path / "llm"), "models": {"served": {
            "backend": "openai", "model": "fake-model", "base_url": server.base_url, "api_key_env": "REPLISUITE_TEST_KEY",
            "concurrency": 1}}}
        paths = {"profiles": str(tmp_path / "profiles.jsonl"), "out": str(tmp_path / "generated.jsonl"),
                 "provenance": str(tmp_path / "generate.json")}
        script = KILLED_RUN.format(study=study, llm=llm, **paths)
        process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO,
                                   env={**os.environ, "PYTHONPATH": str(REPO / "src"), "REPLISUITE_TEST_KEY": "k"})
        child["pid"] = process.pid
        assert process.wait(timeout=120) == -signal.SIGKILL
        assert not Path(paths["out"]).exists()                     # no partial transcripts
        sent_before = len(calls)
        with ResponseStore(tmp_path / "llm" / "trauma.sqlite") as store:
            stored = len(store)
        assert 0 < stored < 16
        os.environ["REPLISUITE_TEST_KEY"] = "k"
        generate(study, llm, profiles=paths["profiles"], out=paths["out"], provenance_out=paths["provenance"])
    # 2 cases x 2 phases x 2 exchanges x 2 roles = 16 turns; the rerun asks only for the ones not stored
    with ResponseStore(tmp_path / "llm" / "trauma.sqlite") as store:
        assert len(store) == 16
    assert len(calls) - sent_before == 16 - stored
    records = [json.loads(line) for line in Path(paths["out"]).read_text().splitlines()]
    assert len(records) == 4 and {r["phase"] for r in records} == {"P5", "P6"}
    cued_client = [t for r in records for t in r["turns"] if t["role"] == "client" and t.get("cued")]
    assert cued_client and all(t["text"].startswith("My SUDS is") and not t["filler"] for t in cued_client)
