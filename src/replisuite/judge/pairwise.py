"""Pairwise judgements and arena ratings: a judge picks the better of two replies to the same
context, positions randomised (seeded by the context and the two replies' names) and recorded;
Bradley-Terry strengths with bootstrap intervals; the position-bias rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from scipy import optimize, stats

from replisuite.llm import LLM, Message
from replisuite.stats import name_seed

PAIR_SCHEMA = {"context": pl.String, "first": pl.String, "second": pl.String, "winner": pl.String, "loser": pl.String,
               "picked_first": pl.Boolean, "status": pl.String, "request_key": pl.String}
LETTERS = ("A", "B")


def pair_messages(context: str, first: str, second: str) -> list[Message]:
    """The messages asking a judge which of two replies to a client is the better counselling response (A or B)."""
    return [
        Message("system", "You are an experienced counselling supervisor comparing two replies to a client."),
        Message("user", f"The client wrote:\n\n{context}\n\nReply A:\n{first}\n\nReply B:\n{second}\n\n"
                        "Which reply is the better counselling response? Answer A or B, and nothing else."),
    ]


def judge_pairs(llm: LLM, contexts: dict[str, str], replies: pl.DataFrame, *, seed: int, method: str | None = None,
                messages: Callable[[str, str, str], list[Message]] = pair_messages, both_orders: bool = False) -> pl.DataFrame:
    """Every pair of replies within each context judged once (or, with ``both_orders``, twice: once in
    each position, see :func:`order_consistent_outcomes`).

    ``replies`` has ``context``, ``reply`` (the reply's name, e.g. its source) and ``text``. Which
    reply is shown first is drawn with a seed from (``seed``, context, both names). A reply the
    judge's answer cannot be matched to (parsed method) is a row with status ``unparseable``.
    ``messages(context, first, second)`` builds the question (default: the better counselling reply);
    its answer must be A or B.
    """
    jobs = []
    for (context,), frame in replies.group_by("context", maintain_order=True):
        rows = frame.sort("reply").to_dicts()
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                a, b = rows[i], rows[j]
                if np.random.default_rng(name_seed(seed, context, a["reply"], b["reply"])).random() < 0.5:
                    a, b = b, a
                for first, second in ((a, b), (b, a)) if both_orders else ((a, b),):
                    request = llm.request(messages(contexts[context], first["text"], second["text"]), options=LETTERS,
                                          method=method)
                    jobs.append((context, first["reply"], second["reply"], request))
    responses = llm.run([job[3] for job in jobs]).responses
    out = []
    for (context, first, second, request), response in zip(jobs, responses, strict=True):
        option = (response.parsed or {}).get("option")
        if option not in LETTERS:
            out.append((context, first, second, None, None, None, "unparseable", request.key))
            continue
        picked_first = option == "A"
        winner, loser = (first, second) if picked_first else (second, first)
        out.append((context, first, second, winner, loser, picked_first, "ok", request.key))
    return pl.DataFrame(out, schema=PAIR_SCHEMA, orient="row")


def bradley_terry(winners: Sequence[str], losers: Sequence[str], *, players: Sequence[str] | None = None,
                  ridge: float = 0.0) -> dict[str, float]:
    """Maximum-likelihood Bradley-Terry log-strengths (P(i beats j) = logistic(s_i - s_j)), centred
    to mean 0. ``ridge`` adds an L2 penalty, which keeps strengths finite when a player never
    loses (or never wins); 0 gives the plain MLE.
    """
    names = list(players) if players is not None else sorted(set(winners) | set(losers))
    index = {name: i for i, name in enumerate(names)}
    w = np.array([index[x] for x in winners])
    lo = np.array([index[x] for x in losers])

    def objective(strength):
        margin = strength[w] - strength[lo]
        centred = strength - strength.mean()
        # the penalty shrinks the centred strengths (it treats every player alike, so relabelling
        # players changes nothing); (sum s)^2 only fixes the shift the likelihood cannot see
        value = np.logaddexp(0, -margin).sum() + ridge * (centred**2).sum() + strength.sum() ** 2
        grad_margin = -1 / (1 + np.exp(margin))
        gradient = np.zeros(len(names))
        np.add.at(gradient, w, grad_margin)
        np.add.at(gradient, lo, -grad_margin)
        gradient += 2 * ridge * centred + 2 * strength.sum()
        return value, gradient

    result = optimize.minimize(objective, np.zeros(len(names)), jac=True, method="BFGS",
                               options={"gtol": 1e-10, "maxiter": 10000})
    strength = result.x - result.x.mean()
    return dict(zip(names, map(float, strength), strict=True))


def ratings(pairs: pl.DataFrame, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0, ridge: float = 0.01) -> pl.DataFrame:
    """Bradley-Terry log-strength per reply source with a percentile bootstrap interval over
    contexts (a context's comparisons are resampled together), games played and won.
    """
    usable = pairs.filter(pl.col("status") == "ok")
    players = sorted(set(usable["winner"]) | set(usable["loser"]))
    if len(players) < 2:
        return pl.DataFrame(schema={"reply": pl.String, "strength": pl.Float64, "ci_low": pl.Float64,
                                    "ci_high": pl.Float64, "games": pl.Int64, "wins": pl.Int64})
    estimate = bradley_terry(usable["winner"], usable["loser"], players=players, ridge=ridge)
    contexts = usable.partition_by("context")
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, len(players)))
    for b in range(n_boot):
        sample = pl.concat([contexts[i] for i in rng.integers(0, len(contexts), len(contexts))])
        fit = bradley_terry(sample["winner"], sample["loser"], players=players, ridge=ridge)
        draws[b] = [fit[p] for p in players]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    games = {p: int(((usable["winner"] == p) | (usable["loser"] == p)).sum()) for p in players}
    wins = {p: int((usable["winner"] == p).sum()) for p in players}
    return pl.DataFrame({"reply": players, "strength": [estimate[p] for p in players], "ci_low": low, "ci_high": high,
                         "games": [games[p] for p in players], "wins": [wins[p] for p in players]}).sort("strength", descending=True)


def position_bias(pairs: pl.DataFrame) -> dict[str, float]:
    """How often the judge picked the reply shown first, with a two-sided binomial test against 0.5."""
    picked = pairs.filter(pl.col("status") == "ok")["picked_first"]
    n, first = picked.len(), int(picked.sum())
    p = float(stats.binomtest(first, n, 0.5).pvalue) if n else float("nan")
    return {"comparisons": n, "picked_first": first, "first_rate": first / n if n else float("nan"), "p_value": p,
            "unparseable": int((pairs["status"] != "ok").sum())}


OUTCOME_SCHEMA = {"context": pl.String, "player": pl.String, "opponent": pl.String, "outcome": pl.String}


def order_consistent_outcomes(pairs: pl.DataFrame, *, player: str, opponent: str) -> pl.DataFrame:
    """Per context, ``player``'s result against ``opponent`` from judgements in both positions
    (``judge_pairs(..., both_orders=True)``): ``win`` or ``loss`` when both orders agree, ``tie`` when the
    verdict follows the position (the usual way to cancel a judge's position bias), ``unparseable``
    when either judgement is.
    """
    rows = []
    mine = pairs.filter(pl.col("first").is_in([player, opponent]) & pl.col("second").is_in([player, opponent]))
    for (context,), frame in mine.group_by("context", maintain_order=True):
        if frame.height != 2:
            raise ValueError(f"context {context}: expected one judgement in each order, got {frame.height}")
        if (frame["status"] != "ok").any():
            outcome = "unparseable"
        else:
            winners = set(frame["winner"])
            outcome = "tie" if len(winners) == 2 else ("win" if winners == {player} else "loss")
        rows.append((context, player, opponent, outcome))
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA, orient="row")


def win_rate(outcomes: pl.DataFrame, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Wins, ties and losses, and the win rate counting a tie as half a win, with a percentile
    bootstrap interval over contexts (unparseable contexts are counted, not scored).
    """
    scored = outcomes.filter(pl.col("outcome") != "unparseable")["outcome"].to_numpy()
    points = (scored == "win") + 0.5 * (scored == "tie")
    counts = {name: int((outcomes["outcome"] == name).sum()) for name in ("win", "tie", "loss", "unparseable")}
    if points.size == 0:
        return {**counts, "win_rate": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    draws = np.random.default_rng(seed).choice(points, size=(n_boot, points.size)).mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return {**counts, "win_rate": float(points.mean()), "ci_low": float(low), "ci_high": float(high)}
