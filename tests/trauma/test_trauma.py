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
from replisuite.llm.openai_compat import SEED_PROBE_PROMPT
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
from replisuite.trauma.fidelity import adherence, arc_recovery, habituation
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


RELEASED = ("P5", "P6", "P7", "P8", "P10", "P11")


def write_published(folder, subjects=("1", "2"), phase_list=RELEASED):
    """A few subjects in the layout the dataset card documents: conversations/ and metadata/, one file
    per subject and phase, the metadata repeated per conversation (field names are our assumption)."""
    (folder / "conversations").mkdir(parents=True, exist_ok=True)
    (folder / "metadata").mkdir(exist_ok=True)
    (folder / "README.md").write_text("Thousand Voices of Trauma (fixture)")
    (folder / "croissant.json").write_text("{}")
    for subject in subjects:
        for phase in phase_list:
            (folder / "metadata" / f"{subject}_{phase}_metadata.json").write_text(json.dumps(
                {"client": {"age": 52, "gender": "female", "ethnicity": "Asian", "trauma_type": "bullying",
                            "behaviors": ["nightmares"], "occupation": "teacher"},
                 "therapist": {"age": 45, "gender": "male", "profile": "PE-trained psychologist"}}))
            turns = [{"speaker": "Therapist", "text": "How distressed are you on the SUDS scale, 0 to 100?"},
                     {"speaker": "Client", "text": "About 70 out of 100."},
                     {"speaker": "Therapist", "text": "Let's continue. What do you notice?"},
                     {"speaker": "Client", "text": "My heart is racing."},
                     {"speaker": "Therapist", "text": "Rate your distress again?"},
                     {"speaker": "Client", "text": "Maybe sixty now."}]
            (folder / "conversations" / f"{subject}_{phase}_conversations.json").write_text(json.dumps({"conversation": turns}))
    return folder


def test_the_released_layout_loads_into_transcripts_and_their_ratings_extract(tmp_path):
    folder = write_published(tmp_path / "tvt")
    logged = []
    cases, records = read_published(folder, phases=list(RELEASED), log=logged.append)
    assert cases["case_id"].to_list() == ["1", "2"]
    assert cases.row(0, named=True)["behaviour"] == "nightmares" and cases["age"][0] == 52
    assert [r["id"] for r in records[:2]] == ["published/1_P5", "published/1_P6"] and len(records) == 12
    assert records[0]["therapist"] == {"age": 45, "gender": "male", "profile": "PE-trained psychologist"}
    assert [t["role"] for t in records[0]["turns"]][:2] == ["counsellor", "client"]
    assert logged == ["metadata fields not read: ['occupation']"]   # a field it does not know is said, not dropped silently
    frame = trajectories(records)
    assert frame.filter(pl.col("conversation") == "published/1_P5")["value"].to_list() == [70.0, 60.0]
    assert set(frame["status"]) == {"number", "word"} and set(frame["scenario"]) == {"published"}


def test_a_subject_whose_phases_disagree_on_demographics_is_an_error_naming_both_files(tmp_path):
    folder = write_published(tmp_path / "tvt")
    path = folder / "metadata" / "2_P7_metadata.json"
    values = json.loads(path.read_text())
    values["client"]["age"] = 61
    path.write_text(json.dumps(values))
    with pytest.raises(PublishedDataError, match=r"subject 2: field 'age' is 52 in .*2_P5_metadata.json but 61 in .*2_P7_metadata.json"):
        read_published(folder, phases=list(RELEASED))


@pytest.mark.parametrize(("damage", "message"), [
    (lambda f: (f / "conversations" / "1_P6_conversations.json").unlink(), r"1_P6_conversations.json: missing \(subject 1"),
    (lambda f: (f / "metadata" / "1_P6_metadata.json").unlink(), r"1_P6_metadata.json: missing \(every conversation"),
    (lambda f: (f / "conversations" / "1_P5_conversations.json").write_text("{broken"), r"1_P5_conversations.json: not valid JSON"),
    (lambda f: (f / "conversations" / "1_P5_conversations.json").write_text(json.dumps([{"speaker": "narrator", "text": "x"}])),
     r"1_P5_conversations.json: turn 1 needs a speaker"),
    (lambda f: (f / "metadata" / "1_P5_metadata.json").write_text(json.dumps({"age": "old"})), r"1_P5_metadata.json: field 'age'"),
    (lambda f: (f / "conversations" / "notes.json").write_text("{}"), r"notes.json: not a conversations file"),
    (lambda f: __import__("shutil").rmtree(f / "metadata"), r"metadata: missing \(the released layout"),
])
def test_a_broken_released_folder_is_an_error_naming_the_file(tmp_path, damage, message):
    folder = write_published(tmp_path / "tvt")
    damage(folder)
    with pytest.raises(PublishedDataError, match=message):
        read_published(folder, phases=list(RELEASED))


def test_a_phase_the_release_does_not_have_is_refused(tmp_path):
    with pytest.raises(PublishedDataError, match=r"phases \['P9'\] are not in the released dataset"):
        read_published(write_published(tmp_path / "tvt"), phases=["P5", "P9"])


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
    """Reference DTW normalised by path length: the least summed squared difference over warping
    paths, divided by that path's length (ties broken toward the shorter path), square-rooted."""
    cost = np.full((len(x) + 1, len(y) + 1), np.inf)
    length = np.zeros((len(x) + 1, len(y) + 1), dtype=int)
    cost[0, 0] = 0.0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            options = [(cost[i - 1, j - 1], length[i - 1, j - 1]), (cost[i - 1, j], length[i - 1, j]),
                       (cost[i, j - 1], length[i, j - 1])]
            best, steps = min(options)
            cost[i, j], length[i, j] = (x[i - 1] - y[j - 1]) ** 2 + best, steps + 1
    return float(np.sqrt(cost[-1, -1] / length[-1, -1]))


def test_trajectory_metrics_equal_reference_computations():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.uniform(0, 100, size=rng.integers(3, 9)), rng.uniform(0, 100, size=rng.integers(3, 9))
        assert benchmark.dtw_rms(x, y) == pytest.approx(naive_dtw(x, y), rel=1e-9)
        n = min(len(x), len(y))
        assert benchmark.pearson(x[:n], y[:n]) == pytest.approx(stats.pearsonr(x[:n], y[:n])[0], abs=1e-12)
        assert benchmark.rmse(x[:n], y[:n]) == pytest.approx(np.sqrt(mean_squared_error(y[:n], x[:n])))
    assert benchmark.dtw_rms(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 2.0, 3.0])) == 0.0
    # normalised by the path: a series twice as long with the same offset is no farther away
    assert benchmark.dtw_rms(np.full(3, 10.0), np.full(3, 0.0)) == benchmark.dtw_rms(np.full(6, 10.0), np.full(6, 0.0)) == 10.0
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
    frame = pl.DataFrame({"conversation": [f"c{i % 12}" for i in range(60)], "value": planted, "planted": planted,
                          "status": ["number"] * 60})
    rows = {r["measure"]: r for r in extraction_check(frame, n_boot=200, seed=0).iter_rows(named=True)}
    assert rows["within 5 of planted: extracted"]["value"] == 1.0
    assert rows["within 5 of planted: shuffled planted (null)"]["value"] < 0.3
    noisy = frame.with_columns(pl.Series("value", rng.integers(0, 100, size=60).astype(float)))
    rows = {r["measure"]: r for r in extraction_check(noisy, n_boot=200, seed=0).iter_rows(named=True)}
    # a reading unrelated to the plan is no better than the shuffled null: its interval reaches the null's value
    assert rows["within 5 of planted: extracted"]["ci_low"] <= rows["within 5 of planted: shuffled planted (null)"]["value"]
    assert rows["within 5 of planted: extracted"]["conversations"] == 12


def test_adherence_is_measured_against_the_other_phases_and_habituation_by_slope():
    defined = {p: phases()[p] for p in ("P7", "P8")}
    records = [{"id": f"x/{c}_{p}", "phase": p, "case_id": c,
                "turns": [{"role": "counsellor", "text": text}]}
               for c in ("a", "b") for p, text in (("P7", "You're doing well, stay with it."),
                                                   ("P8", "What do you think and feel in your body?"))]
    table = adherence(records, defined)
    reinforcement = table.filter(pl.col("element") == "reinforcement").row(0, named=True)
    assert (reinforcement["present"], reinforcement["other_phases"]) == (1.0, 0.0)
    frame = pl.DataFrame({"conversation": ["c1"] * 3 + ["c2"] * 3, "case_id": ["a"] * 3 + ["b"] * 3, "phase": ["P6"] * 6,
                          "exchange": [1, 2, 3] * 2, "scenario": "planted",
                          "value": [80.0, 70.0, 60.0, 75.0, 70.0, 50.0], "planted": [80.0, 70.0, 60.0, 76.0, 68.0, 52.0]})
    rows = {r["source"]: r for r in habituation(frame, n_boot=200, seed=0).iter_rows(named=True)}
    assert rows["extracted"]["mean_slope"] == pytest.approx(-11.25) and rows["extracted"]["declining_share"] == 1.0


def test_arc_recovery_averages_per_case_and_keeps_scenarios_apart():
    frame = pl.DataFrame({"conversation": ["a6", "a6", "a7", "a7", "b6", "b6", "f6", "f6"],
                          "case_id": ["a", "a", "a", "a", "b", "b", "a", "a"], "phase": ["P6", "P6", "P7", "P7", "P6", "P6", "P6", "P6"],
                          "exchange": [1, 2] * 4, "scenario": ["planted"] * 6 + ["flat"] * 2,
                          "value": [80.0, 70.0, 60.0, 40.0, 50.0, 46.0, 60.0, 61.0],
                          "planted": [80.0, 70.0, 60.0, 40.0, 50.0, 46.0, 60.0, 60.0]})
    table = arc_recovery(frame, phases=["P6", "P7"], n_boot=200, seed=0)
    planted = table.filter((pl.col("scenario") == "planted") & (pl.col("source") == "extracted")).row(0, named=True)
    # case a: slopes -10 and -20 average to -15; case b: -4; the mean over cases is -9.5
    assert (planted["cases"], planted["conversations"]) == (2, 3) and planted["mean_slope"] == pytest.approx(-9.5)
    flat = table.filter((pl.col("scenario") == "flat") & (pl.col("source") == "extracted")).row(0, named=True)
    assert flat["mean_slope"] == pytest.approx(1.0) and flat["cases"] == 1


def test_flat_arcs_hold_the_starting_suds():
    cases = sample_cases(2, CONFIG["marginals"], CONFIG["suds"], seed=1)
    profiles = case_profiles(cases, phase_ids=["P6"], order=["P6"], max_exchanges=4, suds={**CONFIG["suds"], "noise": 0},
                             seed=1, flat_cases=[cases["case_id"][0]])
    by_id = {p["id"]: p for p in profiles}
    flat = by_id[f"{cases['case_id'][0]}_P6_flat"]
    assert flat["scenario"] == "flat" and len(set(flat["suds_plan"].values())) == 1
    planted = by_id[f"{cases['case_id'][0]}_P6"]
    assert planted["scenario"] == "planted" and list(planted["suds_plan"].values()) == sorted(planted["suds_plan"].values(), reverse=True)
    assert f"{cases['case_id'][1]}_P6_flat" not in by_id
    with pytest.raises(TraumaConfigError, match="not among the generated cases"):
        case_profiles(cases, phase_ids=["P6"], order=["P6"], max_exchanges=4, suds=CONFIG["suds"], seed=1, flat_cases=["nobody"])


def test_a_case_drawn_twice_in_the_bootstrap_is_two_series():
    one = pl.DataFrame({"conversation": ["c1"] * 3, "case_id": "a", "point": [1, 2, 3]})
    doubled = benchmark.resample_cases([one], [0, 0])
    assert doubled["conversation"].n_unique() == 2 and doubled.group_by("conversation").len()["len"].to_list() == [3, 3]


KILLED_RUN = """
import os, signal
from replisuite.trauma.pipeline import generate
generate({study!r}, {llm!r}, profiles={profiles!r}, out={out!r}, provenance_out={provenance!r})
"""


def test_generation_killed_mid_run_resumes_without_resending_stored_turns(tmp_path, monkeypatch):
    from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer
    from replisuite.trauma.pipeline import generate, sample

    study = {**CONFIG, "phases": ["P5", "P6"], "generate": {**CONFIG["generate"], "cases": 2, "flat_cases": 0,
                                                            "max_exchanges": 2, "counsellor": "served", "client": "served"}}
    sample(study, cases_out=str(tmp_path / "cases.parquet"), marginals_out=str(tmp_path / "marginals.csv"),
           profiles_out=str(tmp_path / "profiles.jsonl"))
    child = {}
    calls = []

    def respond(body):
        if body["messages"][0]["content"] == SEED_PROBE_PROMPT:   # the server's seed handling, checked once a run
            return "a sentence"
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
        with ResponseStore(tmp_path / "llm" / "trauma") as store:
            stored = len(store)
        assert 0 < stored < 16
        monkeypatch.setenv("REPLISUITE_TEST_KEY", "k")
        generate(study, llm, profiles=paths["profiles"], out=paths["out"], provenance_out=paths["provenance"])
    # 2 cases x 2 phases x 2 exchanges x 2 roles = 16 turns; the rerun asks only for the ones not stored
    with ResponseStore(tmp_path / "llm" / "trauma") as store:
        assert len(store) == 16
    assert len(calls) - sent_before == 16 - stored
    records = [json.loads(line) for line in Path(paths["out"]).read_text().splitlines()]
    assert len(records) == 4 and {r["phase"] for r in records} == {"P5", "P6"}
    cued_client = [t for r in records for t in r["turns"] if t["role"] == "client" and t.get("cued")]
    assert cued_client and all(t["text"].startswith("My SUDS is") and not t["filler"] for t in cued_client)


def arc_table(planted_slope, flat_slope, cases=10):
    rows = []
    for scenario, slope in (("planted", planted_slope), ("flat", flat_slope)):
        rows.append({"scenario": scenario, "source": "extracted", "cases": cases, "conversations": cases * 4,
                     "mean_slope": slope, "ci_low": slope - 2, "ci_high": slope + 2, "declining_share": 0.5})
    return pl.DataFrame(rows)


def test_habituation_is_recovered_only_where_planted_and_not_on_the_flat_null():
    from replisuite.trauma.claims import arc_claim

    assert arc_claim(arc_table(-8.0, 0.5), models="m", min_units=8, floor=None).verdict == "planted recovered"
    # the extraction calls a flat arc habituation too: the check fails
    assert arc_claim(arc_table(-8.0, -6.0), models="m", min_units=8, floor=None).verdict == "not reproduced"
    assert arc_claim(arc_table(0.0, 0.0), models="m", min_units=8, floor=None).verdict == "not reproduced"
    assert arc_claim(arc_table(-8.0, 0.5, cases=3), models="m", min_units=8, floor=None).verdict == "not comparable"
    no_null = arc_table(-8.0, 0.0).filter(pl.col("scenario") == "planted")
    assert arc_claim(no_null, models="m", min_units=8, floor=None).verdict == "not comparable"
    released = arc_table(-8.0, 0.0).filter(pl.col("scenario") == "planted").with_columns(pl.lit("published").alias("scenario"))
    claim = arc_claim(released, models="m", min_units=8, floor=None)
    assert (claim.claim_id, claim.level, claim.verdict) == ("suds_habituates_released", "A-direction", "direction reproduced")


def test_benchmark_claim_needs_the_rmse_interval_below_the_mean_guess():
    from replisuite.trauma.claims import benchmark_claim

    def table(value, high, cases=10):
        return pl.DataFrame({"phase": ["all", "all"], "metric": ["rmse", "rmse"], "target": ["extracted"] * 2,
                             "predictor": ["MiniLM + ridge", "training mean (baseline)"], "value": [value, 20.0],
                             "ci_low": [value - 2, 18.0], "ci_high": [high, 22.0], "points": [80, 80], "cases": [cases] * 2})
    assert benchmark_claim(table(12.0, 15.0), min_units=8).verdict == "reproduced"
    assert benchmark_claim(table(18.0, 21.0), min_units=8).verdict == "not reproduced"   # upper bound above 20
    assert benchmark_claim(table(12.0, 15.0, cases=3), min_units=8).verdict == "not comparable"


def test_each_model_rater_gets_its_own_verdict_and_format_floor():
    from replisuite.trauma.claims import rater_claims

    rows = [("training mean (baseline)", 20.0, 18.0, 22.0, 80), ("rated by good", 12.0, 10.0, 15.0, 78),
            ("rated by guesser", 21.0, 19.0, 24.0, 80), ("rated by mute", 12.0, 10.0, 15.0, 20)]
    table = pl.DataFrame([{"phase": "all", "metric": "rmse", "target": "extracted", "predictor": p, "value": v,
                           "ci_low": lo, "ci_high": hi, "points": n, "cases": 10} for p, v, lo, hi, n in rows])
    claims = {c.subject: c for c in rater_claims(table, raters=["good", "guesser", "mute", "absent"], embedded=["good"],
                                                 min_units=8)}
    assert {s: c.claim_id for s, c in claims.items()} == {s: f"model_rates_suds_{s}" for s in ("good", "guesser", "mute",
                                                                                               "absent")}
    assert (claims["good"].verdict, claims["good"].task_floor) == ("reproduced", "passed")
    assert claims["guesser"].verdict == "not reproduced"               # no closer than the mean guess
    assert claims["mute"].task_floor == "below"                        # 20 of 80 ratings given as a decile
    assert claims["absent"].verdict == "not comparable"                # no row: nothing rated
    assert (claims["good"].models, claims["guesser"].models) == ("good (embedded 135M model)", "guesser")


def test_released_metadata_are_tested_against_the_published_shares_only():
    from replisuite.trauma.cases import published_marginals_table
    from replisuite.trauma.claims import published_marginals_claim

    rng = np.random.default_rng(3)
    gender = rng.choice(["male", "female", "non-binary"], 500, p=[0.494, 0.444, 0.062])
    cases = pl.DataFrame({"case_id": [str(i) for i in range(500)], "age": rng.integers(18, 81, 500), "gender": gender,
                          "ethnicity": "x", "trauma_type": rng.choice(["witnessing violence", "bullying", "fire"], 500,
                                                                       p=[0.106, 0.102, 0.792]),
                          "behaviour": rng.choice(["nightmares", "substance abuse", "other"], 500, p=[0.234, 0.208, 0.558]),
                          "baseline_suds": None})
    table = published_marginals_table(cases, CONFIG["marginals"])
    assert "other" in table.filter(pl.col("attribute") == "trauma_type")["category"].to_list()
    assert "ethnicity" not in table["attribute"].to_list()      # no published shares, nothing to test
    assert published_marginals_claim(table, alpha=0.01).verdict == "reproduced"
    skewed = cases.with_columns(pl.lit("male").alias("gender"))
    assert published_marginals_claim(published_marginals_table(skewed, CONFIG["marginals"]), alpha=0.01).verdict == "not reproduced"
    assert published_marginals_claim(published_marginals_table(cases.head(40), CONFIG["marginals"]),
                                     alpha=0.01).verdict == "not comparable"
