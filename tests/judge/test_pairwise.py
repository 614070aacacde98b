"""Pairwise judgements: Bradley-Terry against statsmodels and on planted strengths, position bias."""

import hashlib

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from replisuite.judge.pairwise import (bradley_terry, judge_pairs, order_consistent_outcomes, position_bias, ratings,
                                      win_rate)
from replisuite.llm import ScriptedBackend

from .conftest import model


def planted_games(strengths, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    names = list(strengths)
    i, j = rng.integers(0, len(names), (2, n))
    keep = i != j
    i, j = i[keep], j[keep]
    s = np.array([strengths[x] for x in names])
    first_wins = rng.random(i.size) < 1 / (1 + np.exp(-(s[i] - s[j])))
    winners = [names[a if w else b] for a, b, w in zip(i, j, first_wins, strict=True)]
    losers = [names[b if w else a] for a, b, w in zip(i, j, first_wins, strict=True)]
    return names, winners, losers


def test_bradley_terry_is_the_logit_on_the_paired_design():
    names, winners, losers = planted_games({"a": 0.5, "b": 0.0, "c": -0.3, "d": 0.9}, n=400, seed=1)
    fit = bradley_terry(winners, losers, players=names)
    # the same model as a logistic regression: y = 1 (first listed won), x_k = +1 / -1, player "a" the reference
    rng = np.random.default_rng(2)
    flip = rng.random(len(winners)) < 0.5
    first = [lo if f else w for w, lo, f in zip(winners, losers, flip, strict=True)]
    second = [w if f else lo for w, lo, f in zip(winners, losers, flip, strict=True)]
    design = np.zeros((len(first), len(names)))
    for row, (x, y) in enumerate(zip(first, second, strict=True)):
        design[row, names.index(x)] += 1
        design[row, names.index(y)] -= 1
    logit = sm.Logit((~flip).astype(float), design[:, 1:]).fit(disp=0)
    reference = np.r_[0.0, logit.params]
    reference -= reference.mean()
    assert [fit[n] for n in names] == pytest.approx(reference.tolist(), abs=1e-5)


def test_planted_strengths_are_recovered_in_order():
    planted = {"best": 1.0, "good": 0.4, "fair": 0.0, "poor": -0.8}
    names, winners, losers = planted_games(planted, n=3000, seed=3)
    fit = bradley_terry(winners, losers)
    assert sorted(fit, key=fit.get, reverse=True) == ["best", "good", "fair", "poor"]
    assert fit["best"] - fit["poor"] == pytest.approx(1.8, abs=0.25)


def test_ratings_have_intervals_and_ridge_keeps_an_unbeaten_player_finite():
    pairs = pl.DataFrame({"context": [f"q{i % 10}" for i in range(30)], "first": "x", "second": "y",
                          "winner": ["top"] * 20 + ["mid"] * 10, "loser": ["mid"] * 10 + ["low"] * 20,
                          "picked_first": [True] * 30, "status": "ok", "request_key": "k"})
    table = ratings(pairs, n_boot=200, seed=1)
    assert table["reply"].to_list() == ["top", "mid", "low"]
    # every resample of these contexts holds the same games: the interval is the point, to the optimiser's tolerance
    assert (table["ci_low"] <= table["strength"] + 1e-6).all() and (table["strength"] <= table["ci_high"] + 1e-6).all()
    assert np.isfinite(table["strength"].to_numpy()).all()


def replies():
    rows = []
    for q in range(12):
        for name, quality in (("human_top", 3), ("human_other", 2), ("model", 1)):
            rows.append({"context": f"q{q}", "reply": name, "text": f"reply of quality {quality} to q{q}"})
    return pl.DataFrame(rows)


def quality(text):
    return int(text.split("quality ")[1].split()[0])


def test_judge_pairs_randomises_positions_and_finds_a_planted_bias(store, scripted_env):
    contexts = {f"q{q}": f"question {q}" for q in range(12)}

    def fair(request):
        body = request.messages[1].content
        a, b = body.split("Reply A:\n")[1].split("\n\nReply B:\n")
        return "A" if quality(a) > quality(b.split("\n\n")[0]) else "B"

    def biased(request):  # picks the first reply in 90% of prompts, whatever it says
        digest = int(hashlib.sha256(request.messages[1].content.encode()).hexdigest(), 16)
        return "A" if digest % 10 else "B"

    honest = judge_pairs(model(store, ScriptedBackend(fair), "fair"), contexts, replies(), seed=4)
    assert honest.height == 12 * 3 and (honest["status"] == "ok").all()
    shown_first = honest["first"].value_counts()
    assert shown_first.height == 3  # every reply is sometimes shown first
    assert ratings(honest, n_boot=100)["reply"].to_list() == ["human_top", "human_other", "model"]
    assert position_bias(honest)["p_value"] > 0.05
    skewed = judge_pairs(model(store, ScriptedBackend(biased), "biased"), contexts, replies(), seed=4)
    bias = position_bias(skewed)
    assert bias["first_rate"] > 0.75 and bias["p_value"] < 0.01
    garbled = judge_pairs(model(store, ScriptedBackend(lambda r: "both are fine"), "garbled"), contexts, replies(), seed=4)
    assert (garbled["status"] == "unparseable").all() and position_bias(garbled)["unparseable"] == 36


def test_both_orders_cancel_position_bias_into_ties_and_keep_real_preferences(store, scripted_env):
    contexts = {f"q{q}": f"question {q}" for q in range(12)}
    frame = replies().filter(pl.col("reply") != "human_other")

    def fair(request):
        body = request.messages[1].content
        a, b = body.split("Reply A:\n")[1].split("\n\nReply B:\n")
        return "A" if quality(a) > quality(b.split("\n\n")[0]) else "B"

    honest = judge_pairs(model(store, ScriptedBackend(fair), "fair"), contexts, frame, seed=4, both_orders=True)
    assert honest.height == 24 and set(zip(honest["context"], honest["first"], strict=True)) == {
        (c, r) for c in contexts for r in ("human_top", "model")}
    outcomes = order_consistent_outcomes(honest, player="human_top", opponent="model")
    assert (outcomes["outcome"] == "win").all()
    rate = win_rate(outcomes, n_boot=200)
    assert (rate["win_rate"], rate["win"], rate["tie"]) == (1.0, 12, 0)
    first_always = judge_pairs(model(store, ScriptedBackend(lambda r: "A"), "first"), contexts, frame, seed=4,
                               both_orders=True)
    outcomes = order_consistent_outcomes(first_always, player="human_top", opponent="model")
    assert (outcomes["outcome"] == "tie").all()
    assert win_rate(outcomes, n_boot=200)["win_rate"] == 0.5
    garbled = judge_pairs(model(store, ScriptedBackend(lambda r: "?"), "garbled2"), contexts, frame, seed=4,
                          both_orders=True)
    counted = win_rate(order_consistent_outcomes(garbled, player="model", opponent="human_top"), n_boot=50)
    assert counted["unparseable"] == 12 and np.isnan(counted["win_rate"])


def test_ridge_bradley_terry_does_not_depend_on_player_names():
    """The penalty shrinks the centred strengths alike for every player: renaming the players (which
    changes which one sorts first) must not change any player's rating."""
    names, winners, losers = planted_games({"a": 1.2, "b": 0.0, "c": -0.4}, n=60, seed=5)
    fit = bradley_terry(winners, losers, ridge=0.5)
    rename = {"a": "zz", "b": "aa", "c": "mm"}
    renamed = bradley_terry([rename[w] for w in winners], [rename[lo] for lo in losers], ridge=0.5)
    assert [renamed[rename[n]] for n in "abc"] == pytest.approx([fit[n] for n in "abc"], abs=1e-6)
    # the same shrinkage as a ridge logit on sum-to-zero strengths, solved directly
    def penalised(s):
        s = np.r_[s, -s.sum()]
        margin = np.array([s["abc".index(w)] - s["abc".index(lo)] for w, lo in zip(winners, losers, strict=True)])
        return np.logaddexp(0, -margin).sum() + 0.5 * ((s - s.mean()) ** 2).sum()
    from scipy import optimize
    direct = optimize.minimize(penalised, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12}).x
    assert [fit[n] for n in "abc"] == pytest.approx(np.r_[direct, -direct.sum()].tolist(), abs=1e-4)
