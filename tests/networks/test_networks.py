"""The networks study's detection table, trivial guess and comparison table on planted inputs."""

import polars as pl
import pytest

from replisuite.coding.codebook import shipped
from replisuite.networks.pipeline import comparison_table, detection_table, majority_guess

UNITS = pl.DataFrame({"unit": ["1-1", "1-2", "2-1", "2-2"], "case": ["1", "1", "2", "2"], "order": [1, 2, 1, 2],
                      "text": ["I am so worried.", "I can do it.", "Worried again.", "It is hopeless."]})
GOLD = pl.DataFrame({"unit": ["1-1", "1-2", "2-1", "2-2"], "coder": "us",
                     "code": ["affect-maladaptive", "self-adaptive", "affect-maladaptive", "cognition-maladaptive"],
                     "span": ["so worried", "I can do it", "Worried", "hopeless"], "start": [6, 0, 0, 6], "end": [16, 11, 7, 14]})
STUDY = {"match": {"rule": "overlap", "threshold": 0.5}, "n_boot": 50, "seed": 0}


def detections(rows, k):
    return pl.DataFrame([{"unit": u, "coder": "m", "k": k, "code": c, "span": "", "start": s, "end": e, "status": "ok",
                          "repaired": False, "request_key": "x"} for u, c, s, e in rows])


def test_the_trivial_guess_uses_the_other_sessions_most_frequent_code():
    guess = majority_guess(UNITS, GOLD)
    # session 1 gets session 2's most frequent code (a tie, broken by name), and the reverse
    assert dict(zip(guess["unit"], guess["code"], strict=True)) == {"1-1": "affect-maladaptive", "1-2": "affect-maladaptive",
                                                       "2-1": "affect-maladaptive", "2-2": "affect-maladaptive"}
    assert guess.filter(pl.col("unit") == "1-2")["end"][0] == len("I can do it.")


def test_a_perfect_coder_scores_one_and_a_wrong_one_is_below_the_guess():
    book = shipped("eemm")
    perfect = detections([(u, c, s, e) for u, c, s, e in GOLD.select("unit", "code", "start", "end").iter_rows()], 2)
    wrong = detections([(u, "motivation-adaptive", s, e) for u, _, s, e in GOLD.select("unit", "code", "start", "end").iter_rows()], 5)
    table = detection_table(STUDY, book, UNITS, GOLD, [perfect, wrong])
    rows = {r["coder"]: r for r in table.iter_rows(named=True)}
    assert rows["2 examples"]["f1"] == 1.0 and rows["2 examples"]["dimension_accuracy"] == 1.0
    assert rows["5 examples"]["f1"] == 0.0 and rows["5 examples"]["dimension_accuracy"] == 0.0
    baseline = rows["baseline: most frequent code, whole utterance"]
    assert baseline["f1"] == pytest.approx(2 * 2 / (4 + 4)) and baseline["shots"] is None


def test_comparison_counts_wins_position_and_unparseable():
    pairs = pl.DataFrame({"context": ["a", "b", "c", "d"], "first": ["multi-step", "direct", "multi-step", "direct"],
                          "second": ["direct", "multi-step", "direct", "multi-step"],
                          "winner": ["multi-step", "direct", "multi-step", None], "loser": ["direct", "multi-step", "direct", None],
                          "picked_first": [True, True, True, None], "status": ["ok", "ok", "ok", "unparseable"],
                          "request_key": "k"})
    table = {r["measure"]: r for r in comparison_table(pairs).iter_rows(named=True)}
    assert (table["multi-step preferred"]["count"], table["multi-step preferred"]["n"]) == (2, 3)
    assert table["first shown picked"]["count"] == 3 and table["unparseable"]["count"] == 1
    assert table["multi-step preferred"]["ci_low"] < 2 / 3 < table["multi-step preferred"]["ci_high"]


def test_claims_are_stated_when_a_weak_coder_found_nothing():
    from replisuite.networks.claims import networks_claims

    detection = pl.DataFrame({"coder": ["2 examples", "baseline"], "shots": [2, None], "f1": [0.0, 0.2],
                              "f1_ci_low": [0.0, 0.0], "f1_ci_high": [0.0, 0.4]})
    comparison = pl.DataFrame({"measure": ["multi-step preferred", "first shown picked"], "count": [0, 0], "n": [0, 0],
                               "rate": [None, None], "ci_low": [None, None], "ci_high": [None, None]})
    stability = pl.DataFrame({"pairs": [0], "mean_ari": [None], "min_ari": [None], "mean_null_ari": [None]},
                             schema={"pairs": pl.Int64, "mean_ari": pl.Float64, "min_ari": pl.Float64, "mean_null_ari": pl.Float64})
    verdicts = {c.claim_id: c.verdict for c in networks_claims(detection=detection, comparison=comparison, stability=stability,
                                                               coders=["m"], judge="m", embedded=["m"])}
    assert verdicts == {"process_detection_2_shot_m": "not reproduced", "multi_step_networks_preferred_m": "not comparable",
                        "theme_clusters_stable_m": "not comparable"}


def test_clients_without_a_parseable_direct_network_are_not_judged(tmp_path):
    from replisuite.networks.pipeline import failed_direct, rendered_networks

    statistics = tmp_path / "network_statistics.csv"
    pl.DataFrame({"case": ["16", "16", "24", "24"], "method": ["multi-step", "direct"] * 2,
                  "status": ["ok", "unparseable", "ok", "ok"]}).write_csv(statistics)
    assert failed_direct(str(statistics)) == ["16"]          # numeric-looking ids stay text
    nodes = pl.DataFrame({"case": ["16", "24", "24"], "theme": ["a", "b", "c"], "processes": [1, 1, 1],
                          "method": ["multi-step", "multi-step", "direct"]})
    edges = pl.DataFrame(schema={"case": pl.String, "source": pl.String, "target": pl.String, "weight": pl.Float64,
                                 "explanation": pl.String, "method": pl.String})
    replies = rendered_networks(nodes, edges, skip=failed_direct(str(statistics)))
    assert set(replies["context"]) == {"24"}
