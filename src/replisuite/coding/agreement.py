"""Agreement between coders: Cohen's kappa (pairwise), Fleiss' kappa and Krippendorff's alpha per code
and overall with bootstrap intervals over excerpts; span-level precision, recall and F1 of a coder
against gold with a configurable overlap rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import polars as pl

from replisuite.judge.reliability import cohen_kappa, krippendorff_alpha

OVERLAP_RULES = ("exact", "overlap", "iou")
AGREEMENT_SCHEMA = {"code": pl.String, "statistic": pl.String, "coders": pl.String, "value": pl.Float64,
                    "ci_low": pl.Float64, "ci_high": pl.Float64, "units": pl.Int64, "prevalence": pl.Float64}
SPAN_SCHEMA = {"code": pl.String, "precision": pl.Float64, "recall": pl.Float64, "f1": pl.Float64, "f1_ci_low": pl.Float64,
               "f1_ci_high": pl.Float64, "gold": pl.Int64, "predicted": pl.Int64, "matched": pl.Int64}


def presence(codings: pl.DataFrame, units: Sequence[str], coders: Sequence[str], codes: Sequence[str], *,
             missing: Mapping[str, Collection[str]] | None = None) -> np.ndarray:
    """Coders x units x codes: 1 where the coder gave the unit the code (anywhere in it), else 0; NaN
    for the units a coder did not code (``missing[coder]``, e.g. a reply that could not be parsed):
    not coding a unit is not the same as coding it with nothing.
    """
    unit_index = {u: i for i, u in enumerate(units)}
    coder_index = {c: i for i, c in enumerate(coders)}
    code_index = {c: i for i, c in enumerate(codes)}
    cube = np.zeros((len(coders), len(units), len(codes)))
    for coder, absent in (missing or {}).items():
        for unit in absent:
            if coder in coder_index and unit in unit_index:
                cube[coder_index[coder], unit_index[unit], :] = np.nan
    for unit, coder, code in codings.select("unit", "coder", "code").iter_rows():
        if unit in unit_index and coder in coder_index and code in code_index:
            if not np.isnan(cube[coder_index[coder], unit_index[unit], code_index[code]]):
                cube[coder_index[coder], unit_index[unit], code_index[code]] = 1
    return cube


def fleiss_kappa(ratings: np.ndarray) -> float:
    """Fleiss' kappa of a raters x units matrix of category labels, over the units every rater rated
    (a unit with a missing rating, NaN, is left out).
    """
    ratings = np.asarray(ratings, dtype=float)
    ratings = ratings[:, ~np.isnan(ratings).any(axis=0)]
    if ratings.shape[1] == 0:
        return float("nan")
    categories = np.unique(ratings)
    counts = (ratings.T[:, :, None] == categories[None, None, :]).sum(axis=1)  # units x categories
    raters = ratings.shape[0]
    agreement_per_unit = ((counts * (counts - 1)).sum(axis=1)) / (raters * (raters - 1))
    shares = counts.sum(axis=0) / counts.sum()
    expected = float((shares**2).sum())
    if expected == 1:
        return float("nan")
    return float((agreement_per_unit.mean() - expected) / (1 - expected))


def _statistics(matrix: np.ndarray, coders: Sequence[str]) -> dict[tuple[str, str], float]:
    """Agreement of a coders x cells binary matrix (cells: units, or unit x code pairs)."""
    out = {}
    for a, b in itertools.combinations(range(len(coders)), 2):
        out["cohen_kappa", f"{coders[a]}~{coders[b]}"] = cohen_kappa(matrix[a], matrix[b], categories=np.array([0.0, 1.0]))
    if len(coders) > 2:
        out["fleiss_kappa", "all"] = fleiss_kappa(matrix)
    out["krippendorff_alpha", "all"] = krippendorff_alpha(matrix, level="nominal")
    return out


def agreement(codings: pl.DataFrame, *, units: Sequence[str], coders: Sequence[str], codes: Sequence[str],
              n_boot: int, seed: int, missing: Mapping[str, Collection[str]] | None = None) -> pl.DataFrame:
    """Per code (presence in each excerpt) and overall (every excerpt x code cell): pairwise Cohen's
    kappa, Fleiss' kappa (three coders or more) and Krippendorff's alpha (nominal), each with a
    percentile bootstrap interval over excerpts. Units in ``missing[coder]`` are missing for that
    coder (dropped from its pairs), never counted as coded with nothing.
    """
    cube = presence(codings, units, coders, codes, missing=missing)
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(units), len(units)) for _ in range(n_boot)]
    targets = [(code, cube[:, :, k]) for k, code in enumerate(codes)] + [("overall", None)]
    rows = []
    for code, _ in targets:
        def matrix(index, code=code):
            sample = cube[:, index, :]
            return sample.reshape(len(coders), -1) if code == "overall" else sample[:, :, codes.index(code)]

        point = _statistics(matrix(np.arange(len(units))), coders)
        boot = [_statistics(matrix(d), coders) for d in draws]
        whole = matrix(np.arange(len(units)))
        for key, value in point.items():
            values = np.array([b[key] for b in boot], dtype=float)
            finite = values[np.isfinite(values)]
            rows.append({"code": code, "statistic": key[0], "coders": key[1], "value": value,
                         "ci_low": float(np.quantile(finite, 0.025)) if finite.size else float("nan"),
                         "ci_high": float(np.quantile(finite, 0.975)) if finite.size else float("nan"),
                         "units": whole.shape[1], "prevalence": float(np.nanmean(whole)) if whole.size else float("nan")})
    return pl.DataFrame(rows, schema=AGREEMENT_SCHEMA)


def spans_match(a: tuple[int, int], b: tuple[int, int], *, rule: str, threshold: float = 0.5) -> bool:
    """Whether two spans count as the same: ``exact`` offsets, any ``overlap``, or ``iou`` >= threshold."""
    if rule not in OVERLAP_RULES:
        raise ValueError(f"overlap rule must be one of {OVERLAP_RULES}, got {rule!r}")
    if rule == "exact":
        return a == b
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if rule == "overlap":
        return inter > 0
    union = max(a[1], b[1]) - min(a[0], b[0])
    return union > 0 and inter / union >= threshold


def match_units(gold: pl.DataFrame, predicted: pl.DataFrame, *, rule: str, threshold: float = 0.5,
                same_code: bool = True) -> list[tuple[dict, dict]]:
    """One-to-one matches of predicted to gold spans within each unit (greedy, largest overlap first)."""
    matches = []
    predicted_by_unit = {u: f.to_dicts() for (u,), f in predicted.group_by("unit")}
    for (unit,), frame in gold.group_by("unit", maintain_order=True):
        candidates = []
        for g in frame.to_dicts():
            for p in predicted_by_unit.get(unit, []):
                if (not same_code or g["code"] == p["code"]) and spans_match((g["start"], g["end"]), (p["start"], p["end"]),
                                                                               rule=rule, threshold=threshold):
                    overlap = min(g["end"], p["end"]) - max(g["start"], p["start"])
                    candidates.append((-overlap, id(g), id(p), g, p))
        used_g, used_p = set(), set()
        for _, gid, pid, g, p in sorted(candidates, key=lambda c: c[0]):
            if gid not in used_g and pid not in used_p:
                used_g.add(gid)
                used_p.add(pid)
                matches.append((g, p))
    return matches


def span_scores(gold: pl.DataFrame, predicted: pl.DataFrame, *, units: Sequence[str], codes: Sequence[str], rule: str,
                threshold: float = 0.5, n_boot: int, seed: int) -> pl.DataFrame:
    """Precision, recall and F1 of ``predicted`` spans against ``gold`` (same code, matched by the rule),
    per code and ``micro`` over all codes, with a bootstrap interval of F1 over units.
    """
    matched = match_units(gold, predicted, rule=rule, threshold=threshold)
    unit_index = {u: i for i, u in enumerate(units)}
    labels = [*codes, "micro"]
    counts = np.zeros((len(units), len(labels), 3))  # gold, predicted, matched
    for frame, column in ((gold, 0), (predicted, 1)):
        for unit, code in frame.select("unit", "code").iter_rows():
            if unit in unit_index and code in codes:
                counts[unit_index[unit], codes.index(code), column] += 1
    for g, _ in matched:
        if g["unit"] in unit_index:
            counts[unit_index[g["unit"]], codes.index(g["code"]), 2] += 1
    counts[:, -1, :] = counts[:, :-1, :].sum(axis=1)
    rng = np.random.default_rng(seed)
    boot = np.stack([counts[rng.integers(0, len(units), len(units))].sum(axis=0) for _ in range(n_boot)]) if n_boot else None
    total = counts.sum(axis=0)
    rows = []
    for k, label in enumerate(labels):
        precision, recall, f1 = _prf(*total[k])
        f1_draws = np.array([_prf(*b[k])[2] for b in boot]) if boot is not None else np.array([np.nan])
        rows.append({"code": label, "precision": precision, "recall": recall, "f1": f1,
                     "f1_ci_low": float(np.nanquantile(f1_draws, 0.025)) if np.isfinite(f1_draws).any() else float("nan"),
                     "f1_ci_high": float(np.nanquantile(f1_draws, 0.975)) if np.isfinite(f1_draws).any() else float("nan"),
                     "gold": int(total[k, 0]), "predicted": int(total[k, 1]), "matched": int(total[k, 2])})
    return pl.DataFrame(rows, schema=SPAN_SCHEMA)


def _prf(gold: float, predicted: float, matched: float) -> tuple[float, float, float]:
    precision = matched / predicted if predicted else float("nan")
    recall = matched / gold if gold else float("nan")
    if not gold and not predicted:
        return precision, recall, float("nan")
    f1 = 2 * matched / (gold + predicted)
    return precision, recall, float(f1)
