"""Cell explanatory power (CEP), TREP cells, their cross-validation and the inflection point (IP).

For one patient's cells with anchor ``x``, score ``y`` and a GAM fit ``yhat``:
``EP_i = 1 - (y_i - yhat_i)^2 / (y_i - ybar)^2`` (0 where ``y_i = ybar``), and the TREP cells
("transcriptionally explained") are the top ``round(N x DE)`` cells by EP.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl
from scipy import stats

from replisuite.singlecell.gam import (
    deviance_explained,
    fit_anchor_gam,
    fit_fixed,
    leverage,
    predict_with_se,
)
from replisuite.stats import corrected_resampled_ttest

# How held-out cells are called TREP: by EP from their own residuals (as published); by a random draw
# or the training fit's leverage (controls); by a classifier of expression outside the score set,
# trained on the training cells' TREP labels, which never sees a held-out cell's score (corrected).
CV_VARIANTS = {"explanatory_power": "published", "random": "control", "leverage": "control", "classifier": "corrected"}
CV_SCHEMA = {"repeat": pl.Int64, "selection": pl.String, "method": pl.String, "n_test": pl.Int64, "n_trep": pl.Int64,
             "rmse_trep": pl.Float64, "rmse_non_trep": pl.Float64, "difference": pl.Float64}


def explanatory_power(y: np.ndarray, fitted: np.ndarray, baseline: float) -> np.ndarray:
    """Per-cell EP against the intercept-only prediction ``baseline``."""
    squared = (y - baseline) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(squared > 0, 1 - (y - fitted) ** 2 / squared, 0.0)


def top_cells(ranking: np.ndarray, count: int) -> np.ndarray:
    """Boolean mask of the ``count`` highest-ranked cells (ties broken by position)."""
    mask = np.zeros(ranking.size, dtype=bool)
    mask[np.argsort(-ranking, kind="stable")[:max(0, min(count, ranking.size))]] = True
    return mask


def trep_cells(y: np.ndarray, fitted: np.ndarray, deviance: float) -> tuple[np.ndarray, np.ndarray]:
    """EP per cell and the TREP mask: the top ``round(N x DE)`` cells by EP."""
    ep = explanatory_power(y, fitted, float(np.mean(y)))
    return ep, top_cells(ep, int(round(y.size * deviance)))


def _rmse(residual: np.ndarray) -> float:
    return float(np.sqrt(np.mean(residual**2))) if residual.size else float("nan")


# How each CV repeat gets its basis size and penalty: chosen on the repeat's training cells
# ("nested"), or the patient's choice on all cells, held-out ones included ("patient", as published).
CV_SELECTIONS = ("nested", "patient")


def classifier_ranking(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray, *,
                       c: float = 1.0) -> np.ndarray:
    """Each held-out cell's predicted probability of being TREP, from an L2 logistic regression
    (inverse penalty ``c``, standardised features) fitted to the training cells' TREP labels.
    With one class among the training labels there is nothing to learn: every cell gets 0.
    """
    if train_labels.all() or not train_labels.any():
        return np.zeros(len(test_features))
    # here, not at the top: the GAM jobs import this module and need no scikit-learn (0.6 s each)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    model.fit(train_features, train_labels)
    return model.predict_proba(test_features)[:, 1]


def cross_validate(x: np.ndarray, y: np.ndarray, *, k: int, lam: float, repeats: int, train_fraction: float,
                   seed: int, selections: tuple[str, ...] = CV_SELECTIONS, k_min: int = 3, k_max: int = 10,
                   lam_grid: np.ndarray | None = None, features: np.ndarray | None = None,
                   classifier_c: float = 1.0) -> pl.DataFrame:
    """Monte Carlo cross-validation of TREP calling, with random and leverage-ranked controls.

    Each repeat fits on a random ``train_fraction`` of cells, calls the top ``train DE x n_test``
    test cells TREP (by EP against the training mean; by a random draw; by the training fit's
    leverage) and records RMSE(non-TREP) - RMSE(TREP). ``selections`` says how the fit's k and
    lambda are chosen (`CV_SELECTIONS`): ``"nested"`` searches ``k_min..k_max`` and ``lam_grid``
    on the training cells only; ``"patient"`` reuses ``k`` and ``lam``, chosen on all cells, so
    the held-out cells took part in the choice. Every selection sees the same splits.

    With ``features`` (cells x features, e.g. principal components of genes outside the score
    set) the corrected method ``"classifier"`` is added: the training cells' TREP labels (EP of
    the training fit) train `classifier_ranking`, which ranks the held-out cells without their
    scores. EP ranking calls cells with small residuals TREP by construction, so it separates
    TREP from the rest even without a subpopulation; the classifier can only if the expression
    carries one. `CV_VARIANTS` labels each method.
    """
    unknown = sorted(set(selections) - set(CV_SELECTIONS))
    if unknown:
        raise ValueError(f"unknown CV selection(s) {unknown}; expected some of {list(CV_SELECTIONS)}")
    if features is not None and len(features) != x.size:
        raise ValueError(f"features have {len(features)} rows for {x.size} cells")
    rng = np.random.default_rng(seed)
    n = x.size
    n_train = int(round(n * train_fraction))
    rows = []
    for repeat in range(repeats):
        order = rng.permutation(n)
        train, test = order[:n_train], order[n_train:]
        random_ranking = rng.random(test.size)
        for selection in selections:
            if selection == "nested":
                gam, _ = fit_anchor_gam(x[train], y[train], k_min=k_min, k_max=k_max, lam_grid=lam_grid)
            else:
                gam = fit_fixed(x[train], y[train], k=k, lam=lam)
            train_fitted = gam.predict(x[train][:, None])
            train_de = deviance_explained(y[train], train_fitted)
            fitted = gam.predict(x[test][:, None])
            residual = y[test] - fitted
            count = int(round(train_de * test.size))
            rankings = {"explanatory_power": explanatory_power(y[test], fitted, float(y[train].mean())),
                        "random": random_ranking,
                        "leverage": leverage(gam, x[test], train=x[train])}
            if features is not None:
                _, train_trep = trep_cells(y[train], train_fitted, train_de)
                rankings["classifier"] = classifier_ranking(features[train], train_trep, features[test], c=classifier_c)
            for method in rankings:
                mask = top_cells(rankings[method], count)
                trep, rest = _rmse(residual[mask]), _rmse(residual[~mask])
                rows.append((repeat, selection, method, int(test.size), int(mask.sum()), trep, rest, rest - trep))
    return pl.DataFrame(rows, schema=CV_SCHEMA, orient="row")


def one_sample_test(values: np.ndarray, *, alpha: float = 0.05, alternative: str = "greater") -> dict[str, float | str]:
    """One-sample test of ``values`` against 0: t-test if Shapiro-Wilk keeps normality, else Wilcoxon.

    ``alternative`` is scipy's: ``"greater"`` (the default: the study predicts TREP cells better
    predicted, a positive difference), ``"less"`` or ``"two-sided"``.
    Returns the mean, standard deviation, effect size (mean / sd), the Shapiro p, the test used and its p.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    sd = float(values.std(ddof=1)) if values.size > 1 else float("nan")
    normal_p = float(stats.shapiro(values).pvalue) if values.size >= 3 and np.ptp(values) > 0 else float("nan")
    if not np.isnan(normal_p) and normal_p > alpha:
        test, p = "t-test", float(stats.ttest_1samp(values, 0.0, alternative=alternative).pvalue)
    elif values.size and np.any(values != 0):
        test, p = "wilcoxon", float(stats.wilcoxon(values, alternative=alternative).pvalue)
    else:
        test, p = "none", float("nan")
    return {"mean": float(values.mean()) if values.size else float("nan"), "sd": sd,
            "effect_size": float(values.mean() / sd) if sd and sd > 0 else float("nan"),
            "shapiro_p": normal_p, "test": test, "p_value": p}


def corrected_cv_test(values: np.ndarray, *, train_fraction: float) -> dict[str, float | str]:
    """The corrected variant's test of Monte Carlo CV differences against 0, one-sided (positive:
    TREP cells better predicted): the corrected resampled t-test, since the repeats share cells.
    Same fields as `one_sample_test` (no Shapiro step: ``shapiro_p`` is NaN).
    """
    test = corrected_resampled_ttest(values, test_train_ratio=(1 - train_fraction) / train_fraction)
    sd = test["sd"]
    return {"mean": test["mean"], "sd": sd, "effect_size": test["mean"] / sd if sd and sd > 0 else float("nan"),
            "shapiro_p": float("nan"), "test": "corrected resampled t", "p_value": test["p_value"]}


def median_detected(x: np.ndarray) -> float:
    """The median anchor over cells where it is detected: the trivial guess an IP must beat."""
    detected = x[x > 0]
    return float(np.median(detected)) if detected.size else float("nan")


def mean_crossing(x: np.ndarray, fitted: np.ndarray, mean: float, *, grid_points: int = 2000) -> float:
    """The detected anchor value where the fitted curve first crosses the mean score (NaN if never).

    Interpolated on a grid over the detected cells, from the fit's values at the cells (sorted by anchor).
    """
    support = x > 0 if (x > 0).sum() >= 2 else np.ones(x.size, dtype=bool)
    order = np.argsort(x[support], kind="stable")
    xs, fs = x[support][order], fitted[support][order]
    grid = np.linspace(xs[0], xs[-1], grid_points)
    curve = np.interp(grid, *_unique_mean(xs, fs)) - mean
    sign_change = np.flatnonzero(np.sign(curve[:-1]) * np.sign(curve[1:]) < 0)
    if not sign_change.size:
        return float("nan")
    at = sign_change[0]
    return float(grid[at] + (grid[at + 1] - grid[at]) * (-curve[at] / (curve[at + 1] - curve[at])))


def _unique_mean(xs: np.ndarray, fs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(xs, return_inverse=True)
    return unique, np.bincount(inverse, weights=fs) / np.bincount(inverse)


def zero_crossings(curve: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Every negative-to-non-negative zero crossing of ``curve`` on ``grid``, linearly interpolated."""
    at = np.flatnonzero((curve[:-1] < 0) & (curve[1:] >= 0))
    left, right = curve[at], curve[at + 1]
    return grid[at] + (grid[at + 1] - grid[at]) * (-left / (right - left))


def inflection_point(x: np.ndarray, residual: np.ndarray, *, grid_points: int = 2000, level: float = 0.95,
                     grid_quantiles: tuple[float, float] = (0.0, 1.0), detected_only: bool = True, k_min: int = 3, k_max: int = 10, lam_grid: np.ndarray | None = None) -> dict[str, float | int]:
    """IP: the first negative-to-positive zero crossing of a GAM fit to TREP residuals on the anchor.

    The grid spans the ``grid_quantiles`` of ``x`` ((0, 1): its whole range, as published; a
    narrower span keeps a wiggle in the sparsely populated tails from being taken as the IP).
    With ``detected_only`` the span is taken over cells with a non-zero anchor: cells where the
    anchor is undetected sit at 0, with a gap up to the lowest detected value, and a crossing
    inside that gap is interpolation between no data.
    The interval is where the fit's pointwise ``level`` band contains zero around the IP: from
    the upper band's last crossing at or before the IP to the lower band's first crossing at or
    after it (NaN when the band does not cross on that side).
    """
    gam, fit = fit_anchor_gam(x, residual, k_min=k_min, k_max=k_max, lam_grid=lam_grid)
    support = x[x > 0] if detected_only and (x > 0).sum() >= 2 else x
    low, high = np.quantile(support, grid_quantiles)
    grid = np.linspace(float(low), float(high), grid_points)
    mean, se = predict_with_se(gam, grid)
    z = stats.norm.ppf(0.5 + level / 2)
    found = zero_crossings(mean, grid)
    result = {"ip": np.nan, "ip_low": np.nan, "ip_high": np.nan, "crossings": int(found.size),
              "residual_k": fit.k, "residual_lam": fit.lam, "residual_edf": fit.edf,
              # pygam's test that the residual smooth is not flat: an IP of a flat smooth is noise
              "residual_p": float(gam.statistics_["p_values"][0])}
    if found.size:
        ip = float(found[0])
        upper = zero_crossings(mean + z * se, grid)
        lower = zero_crossings(mean - z * se, grid)
        result.update(ip=ip, ip_low=float(upper[upper <= ip].max()) if (upper <= ip).any() else np.nan,
                      ip_high=float(lower[lower >= ip].min()) if (lower >= ip).any() else np.nan)
    return result


def compare_pre_post(residual_pre: np.ndarray, residual_post: np.ndarray, *, alpha: float = 0.05) -> dict[str, float | str]:
    """One-sided test that TREP residuals after the IP exceed those before it.

    Welch's t when both sides pass Shapiro-Wilk at ``alpha``, otherwise Mann-Whitney U.
    """
    def normal(values):
        return values.size >= 3 and np.ptp(values) > 0 and stats.shapiro(values).pvalue > alpha

    if residual_pre.size < 2 or residual_post.size < 2:
        return {"test": "none", "statistic": float("nan"), "p_value": float("nan")}
    if normal(residual_pre) and normal(residual_post):
        result = stats.ttest_ind(residual_post, residual_pre, equal_var=False, alternative="greater")
        return {"test": "welch-t", "statistic": float(result.statistic), "p_value": float(result.pvalue)}
    result = stats.mannwhitneyu(residual_post, residual_pre, alternative="greater")
    return {"test": "mann-whitney", "statistic": float(result.statistic), "p_value": float(result.pvalue)}


def quadrants(x: np.ndarray, trep: np.ndarray, ip: float) -> np.ndarray:
    """Each cell's quadrant: ``pre_trep``, ``pre_non_trep``, ``post_trep``, ``post_non_trep`` (post: anchor > IP)."""
    side = np.where(x > ip, "post", "pre")
    return np.char.add(np.char.add(side, "_"), np.where(trep, "trep", "non_trep"))


def above_below_test(x: np.ndarray, residual: np.ndarray, ip: float) -> Mapping[str, float]:
    """Chi-square test of TREP cells above vs below the curve, before vs after the IP."""
    post = x > ip
    above = residual > 0
    table = np.array([[np.sum(~post & above), np.sum(~post & ~above)], [np.sum(post & above), np.sum(post & ~above)]])
    counts = {"pre_above": int(table[0, 0]), "pre_below": int(table[0, 1]), "post_above": int(table[1, 0]),
              "post_below": int(table[1, 1])}
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return {**counts, "chi2": float("nan"), "p_value": float("nan")}
    chi2, p, _, _ = stats.chi2_contingency(table)
    return {**counts, "chi2": float(chi2), "p_value": float(p)}
