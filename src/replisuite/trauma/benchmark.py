"""The emotional-trajectory benchmark: predict each elicited SUDS rating from the client's words
(with the rating itself masked), score the predicted trajectory against the extracted or planted
one with Pearson r, DTW and RMSE, per phase and overall, with intervals that resample cases.

Predictors: the training-fold mean (the trivial baseline), a distress lexicon with a linear fit,
MiniLM embeddings with ridge regression, and any configured model asked to rate the distress; the
fitted ones are cross-validated in folds grouped by case, so no case is in its own training fold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from dtaidistance import dtw

from replisuite.llm import LLM, Message
from replisuite.stats import name_seed
from replisuite.trauma.suds import DECILE_SCALE, DECILES, decile_value, mask_ratings

PREDICTION_SCHEMA = {"conversation": pl.String, "case_id": pl.String, "phase": pl.String, "point": pl.Int64,
                     "predictor": pl.String, "predicted": pl.Float64}
BENCHMARK_SCHEMA = {"target": pl.String, "predictor": pl.String, "phase": pl.String, "metric": pl.String,
                    "value": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "conversations": pl.Int64,
                    "points": pl.Int64, "cases": pl.Int64}
DISTRESS = ("afraid", "scared", "terrified", "panic", "anxious", "anxiety", "overwhelmed", "shaking", "trembling",
            "worst", "horrible", "terrible", "awful", "unbearable", "racing", "sweating", "frozen", "helpless",
            "hurts", "pain", "crying", "tense", "dread", "fear", "nightmare", "can't")
CALM = ("calm", "calmer", "better", "okay", "ok", "relaxed", "safe", "lower", "easier", "lighter", "relief",
        "manageable", "fine", "peaceful", "less")
WORD = re.compile(r"[a-z']+")


def lexicon_score(text: str) -> float:
    """Distress minus calm words per word of the reply."""
    words = WORD.findall(text.lower())
    if not words:
        return 0.0
    return (sum(w in DISTRESS for w in words) - sum(w in CALM for w in words)) / len(words)


def cross_validated(points: pl.DataFrame, features: np.ndarray, model, *, n_splits: int) -> np.ndarray:
    """Out-of-fold predictions of ``target`` from ``features`` in folds grouped by case."""
    from sklearn.model_selection import GroupKFold  # here: the study's model jobs need no scikit-learn

    groups = points["case_id"].to_numpy()
    y = points["target"].to_numpy()
    predicted = np.full(len(y), np.nan)
    folds = GroupKFold(n_splits=min(n_splits, len(set(groups))))
    for train, test in folds.split(features, y, groups=groups):
        if model is None:
            predicted[test] = y[train].mean()
        else:
            predicted[test] = model().fit(features[train], y[train]).predict(features[test])
    return predicted


def fitted_predictions(points: pl.DataFrame, embeddings: np.ndarray, *, n_splits: int, ridge_alpha: float) -> pl.DataFrame:
    """Out-of-fold predictions of the mean baseline, the lexicon and the embedding ridge."""
    from sklearn.linear_model import LinearRegression, Ridge

    lexicon = np.array([[lexicon_score(t)] for t in points["masked"]])
    predictions = {
        "training mean (baseline)": cross_validated(points, lexicon, None, n_splits=n_splits),
        "distress lexicon": cross_validated(points, lexicon, LinearRegression, n_splits=n_splits),
        "MiniLM + ridge": cross_validated(points, embeddings, lambda: Ridge(alpha=ridge_alpha), n_splits=n_splits),
    }
    return pl.concat([_frame(points, name, values) for name, values in predictions.items()])


def _frame(points: pl.DataFrame, predictor: str, values: Sequence[float]) -> pl.DataFrame:
    return points.select("conversation", "case_id", "phase", "point").with_columns(
        pl.lit(predictor).alias("predictor"), pl.Series("predicted", np.asarray(values, dtype=float)))


def model_ratings(llm: LLM, points: pl.DataFrame, *, predictor: str) -> pl.DataFrame:
    """A model's distress rating of each (masked) reply: its SUDS decile, read as the decile's middle
    (an answer that is not a digit is NaN, left out of the scores).
    """
    requests = [llm.request([Message("system", "You rate how distressed a therapy client is from what they say, on "
                                               "the SUDS scale from 0 (calm) to 100 (the worst distress imaginable)."),
                             Message("user", f"The client said: {text}\n\nTheir SUDS right now? Answer with "
                                             f"{DECILE_SCALE}.")],
                            options=DECILES, sample=f"trauma/rate/{conversation}/{point}")
                for text, conversation, point in zip(points["masked"], points["conversation"], points["point"], strict=True)]
    values = [decile_value((r.parsed or {}).get("option")) for r in llm.run(requests).responses]
    return _frame(points, predictor, [np.nan if v is None else v for v in values])


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r (NaN with fewer than 3 points or a constant side)."""
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def rmse(x: np.ndarray, y: np.ndarray) -> float:
    """Root mean squared difference (NaN when empty)."""
    return float(np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2))) if len(x) else float("nan")


def dtw_rms(x: np.ndarray, y: np.ndarray) -> float:
    """DTW normalised by the warping path's length: the root mean squared difference along the best
    path, in SUDS points like an RMSE, so conversations (and phases) with more ratings are not
    farther apart just for being longer.
    """
    x, y = np.asarray(x, dtype=np.double), np.asarray(y, dtype=np.double)
    path = dtw.warping_path(x, y)
    return float(np.sqrt(np.mean([(x[i] - y[j]) ** 2 for i, j in path])))


def _metrics(frame: pl.DataFrame) -> dict[str, float]:
    """Pooled Pearson r and RMSE over the points; path-normalised DTW averaged over the conversations."""
    distances = [dtw_rms(c["predicted"].to_numpy(), c["target"].to_numpy())
                 for _, c in frame.sort("point").group_by("conversation", maintain_order=True)]
    x, y = frame["predicted"].to_numpy(), frame["target"].to_numpy()
    return {"pearson_r": pearson(x, y), "rmse": rmse(x, y), "dtw": float(np.mean(distances)) if distances else np.nan}


def resample_cases(cases: Sequence[pl.DataFrame], picks: Sequence[int]) -> pl.DataFrame:
    """One bootstrap sample of whole cases; a case drawn twice gives two copies whose conversations
    are relabelled, so each copy stays a series of its own (not one interleaved twice as long).
    """
    return pl.concat([cases[i].with_columns((pl.col("conversation") + f"#{draw}").alias("conversation"))
                      for draw, i in enumerate(picks)])


def score(joined: pl.DataFrame, *, target: str, n_boot: int, seed: int) -> pl.DataFrame:
    """Every predictor per phase and overall: each metric with a percentile interval over cases."""
    rows = []
    usable = joined.filter(pl.col("target").is_not_null() & pl.col("predicted").is_not_nan())
    for (predictor,), by_predictor in usable.group_by("predictor", maintain_order=True):
        parts = [("all", by_predictor)] + [(p, f) for (p,), f in by_predictor.group_by("phase", maintain_order=True)]
        for phase, frame in parts:
            estimate = _metrics(frame)
            cases = frame.partition_by("case_id")
            rng = np.random.default_rng(name_seed(seed, target, predictor, phase))
            draws = [_metrics(resample_cases(cases, rng.integers(0, len(cases), len(cases)))) for _ in range(n_boot)]
            for metric, value in estimate.items():
                values = np.array([d[metric] for d in draws], dtype=float)
                values = values[~np.isnan(values)]
                low, high = np.quantile(values, [0.025, 0.975]) if values.size else (np.nan, np.nan)
                rows.append((target, predictor, phase, metric, value, float(low), float(high),
                             frame["conversation"].n_unique(), frame.height, len(cases)))
    return pl.DataFrame(rows, schema=BENCHMARK_SCHEMA, orient="row")


def targets(trajectories: pl.DataFrame, which: str) -> pl.DataFrame:
    """The points scored against ``extracted`` ratings or ``planted`` ones, with the masked reply."""
    column = "value" if which == "extracted" else "planted"
    return (trajectories.filter(pl.col(column).is_not_null())
            .with_columns(pl.col(column).alias("target"),
                          pl.col("text").map_elements(mask_ratings, return_dtype=pl.String).alias("masked")))


def joined(points: pl.DataFrame, predictions: pl.DataFrame) -> pl.DataFrame:
    """Predictions joined with the points' targets."""
    return predictions.join(points.select("conversation", "point", "target"), on=["conversation", "point"])


def benchmark_table(trajectories: pl.DataFrame, predictions: Mapping[str, pl.DataFrame], *, n_boot: int,
                    seed: int) -> pl.DataFrame:
    """The benchmark against each target kind (``predictions[target]`` holds its predictions)."""
    parts = [score(joined(targets(trajectories, which), frame), target=which, n_boot=n_boot, seed=seed)
             for which, frame in predictions.items() if frame.height]
    return pl.concat(parts) if parts else pl.DataFrame(schema=BENCHMARK_SCHEMA)
