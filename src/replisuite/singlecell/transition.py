"""A calibrated inflection point: where a patient's score turns from below its smooth trend to
above it, with a test of whether it turns at all and an interval for where.

The published IP is the first negative-to-positive zero crossing of a smooth of the TREP cells'
residuals. On a curve with no subpopulation such a crossing nearly always exists (TREP selection
leaves residual structure), and where there is a transition the crossing sits no closer to it
than a trivial guess. This module builds the corrected counterpart from three parts:

* **Location.** ``score ~ s(anchor)`` (a penalised spline with the patient's basis size and
  penalty) captures the mean; where a subpopulation follows the curve plus an offset that changes
  sign, its cells are tight and the others scatter, so the *conditional median* of the residuals
  changes sign where the offset does, while their mean is zero everywhere. The estimate is the
  negative-to-positive zero crossing of a median-regression spline of the residuals on the
  detected anchor (the crossing with the largest rise, when there are several).
* **Existence.** A wild bootstrap under "no transition": ``y* = fitted + s_i r_i`` with random
  signs ``s_i`` keeps each cell's residual size at its anchor value (heteroscedasticity) and
  destroys any sign structure along the anchor. Each replicate refits the trend and the median
  spline, so whatever the fitting does to the curve is in the null. The statistic is the rise of
  the median spline across its strongest crossing (0 without one); ``p = (1 + #{T* >= T}) / (B + 1)``.
* **Interval.** A bootstrap over cells (the sampled unit within a patient): resample cells,
  refit trend and median spline, take the percentile interval of the replicates' crossings;
  replicates without a crossing are counted, and with fewer than half crossing there is no interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replisuite.singlecell.gam import fit_fixed

TRANSITION_FIELDS = ("ip_calibrated", "ip_calibrated_low", "ip_calibrated_high", "ip_location", "transition_rise",
                     "transition_p", "interval_share_crossing", "transition_reason")


@dataclass(frozen=True)
class TrendSmoother:
    """``score ~ s(anchor)`` with a fixed basis and penalty as a linear smoother: the same fit as
    pygam's (`fit_fixed`) for many responses or cell weights at once, without refitting pygam.
    """

    design: np.ndarray  # cells x basis functions (intercept included)
    penalty: np.ndarray  # basis x basis, lambda included

    @classmethod
    def from_fit(cls, x: np.ndarray, y: np.ndarray, *, k: int, lam: float) -> TrendSmoother:
        """The smoother of pygam's fit with basis size ``k`` and penalty ``lam`` on these cells."""
        gam = fit_fixed(x, y, k=k, lam=lam)
        return cls(design=gam._modelmat(np.asarray(x, dtype=np.float64)[:, None]).toarray(), penalty=gam._P().toarray())

    def fitted(self, responses: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Fitted values of ``responses`` (cells, or cells x replicates) with optional cell ``weights``
        (e.g. bootstrap counts): ``B (B'WB + S)^+ B'W y``.
        """
        weighted = self.design if weights is None else self.design * weights[:, None]
        gram = weighted.T @ self.design + self.penalty
        # B-splines sum to one, collinear with the intercept: the pseudo-inverse gives pygam's fitted values
        return self.design @ (np.linalg.pinv(gram, hermitian=True) @ (weighted.T @ responses))


class MedianSpline:
    """Median regression of residuals on a B-spline basis of the anchor (``df`` degrees of freedom,
    knots at quantiles of the cells it was built on), evaluated on a fixed grid.
    """

    def __init__(self, x: np.ndarray, *, df: int, grid: np.ndarray):
        from patsy import dmatrix  # here: patsy loads pandas (0.4 s), which the GAM jobs do not need

        self._info = dmatrix(f"bs(x, df={df})", {"x": x}, return_type="matrix").design_info
        self.grid = grid
        self._grid_basis = self.basis(grid)

    def basis(self, x: np.ndarray) -> np.ndarray:
        """The basis at ``x`` (intercept column first), with the knots this spline was built with."""
        from patsy import build_design_matrices

        return np.asarray(build_design_matrices([self._info], {"x": x})[0])

    def curve(self, x: np.ndarray, residual: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The median-regression fit of ``residual`` on ``x`` (cell ``weights``: e.g. bootstrap counts), on the grid."""
        return self._grid_basis @ median_regression(self.basis(x), residual, weights=weights)


def median_regression(design: np.ndarray, response: np.ndarray, *, weights: np.ndarray | None = None,
                      max_iter: int = 500, tol: float = 1e-6) -> np.ndarray:
    """Coefficients minimising ``sum w_i |y_i - x_i' b|`` by iteratively reweighted least squares
    (weights ``w_i / max(|e_i|, eps)``, ``eps`` a millionth of the response's spread), started from
    least squares and stopped when an iteration lowers the loss by less than ``tol`` of it (the
    coefficients creep on long after the loss and the curve have settled: measured, the crossing
    moves by under 1e-3 anchor units after that). statsmodels' ``QuantReg`` solves the same
    problem without cell weights.
    """
    w = np.ones(response.size) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = w > 0
    design, response, w = design[keep], response[keep], w[keep]
    eps = 1e-6 * max(float(np.ptp(response)), 1e-12)
    coef = np.linalg.lstsq(design * np.sqrt(w)[:, None], response * np.sqrt(w), rcond=None)[0]
    previous = np.inf
    for _ in range(max_iter):
        absolute = np.abs(response - design @ coef)
        loss = float(w @ absolute)
        if previous - loss <= tol * loss:
            break
        previous = loss
        weighted = design * (w / np.maximum(absolute, eps))[:, None]
        coef = _solve(weighted.T @ design, weighted.T @ response)
    return coef


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:  # a basis function with no cell under it
        return np.linalg.lstsq(gram, rhs, rcond=None)[0]


def strongest_crossing(curve: np.ndarray, grid: np.ndarray) -> tuple[float, float]:
    """The negative-to-positive zero crossing of ``curve`` with the largest rise, and that rise.

    A crossing's rise is the curve's maximum from the crossing to the next positive-to-negative
    crossing minus its minimum from the previous one to the crossing. ``(nan, 0.0)`` without a crossing.
    """
    up = np.flatnonzero((curve[:-1] < 0) & (curve[1:] >= 0))
    if not up.size:
        return float("nan"), 0.0
    down = np.flatnonzero((curve[:-1] >= 0) & (curve[1:] < 0))
    best, best_rise = -1, -np.inf
    for at in up:
        start = down[down < at].max() + 1 if (down < at).any() else 0
        end = down[down > at].min() + 1 if (down > at).any() else curve.size
        rise = float(curve[at + 1:end].max() - curve[start:at + 1].min())
        if rise > best_rise:
            best, best_rise = at, rise
    left, right = curve[best], curve[best + 1]
    return float(grid[best] + (grid[best + 1] - grid[best]) * (-left / (right - left))), best_rise


def calibrated_transition(x: np.ndarray, y: np.ndarray, *, k: int, lam: float, seed: int, alpha: float = 0.05,
                          test_boot: int = 99, interval_boot: int = 99, level: float = 0.95, spline_df: int = 6,
                          grid_points: int = 400, grid_quantiles: tuple[float, float] = (0.02, 0.98),
                          min_cells: int = 50) -> dict[str, float | str]:
    """The calibrated IP of one patient (see the module docstring).

    ``k`` and ``lam`` are the patient's chosen trend basis and penalty (reused by every replicate);
    the median spline and its grid span the detected anchor (``x > 0``) between ``grid_quantiles``.

    Returns
    -------
    dict
        ``ip_location`` (the estimate, reported whatever the test says), ``transition_rise`` and
        ``transition_p`` (the wild-bootstrap test), ``ip_calibrated`` (the location where
        ``transition_p < alpha``, else NaN) with its ``level`` interval ``ip_calibrated_low`` /
        ``_high`` from the cell bootstrap, ``interval_share_crossing`` (share of cell-bootstrap
        replicates with a crossing) and ``transition_reason`` (empty, or why a part is missing:
        too few detected cells, no crossing, no test).
    """
    result: dict[str, float | str] = {name: float("nan") for name in TRANSITION_FIELDS} | {"transition_reason": ""}
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    detected = x > 0
    if detected.sum() < min_cells:
        return result | {"transition_reason": f"{int(detected.sum())} cells with the anchor detected: the calibrated "
                                               f"IP needs at least {min_cells}"}
    rng = np.random.default_rng(seed)
    trend = TrendSmoother.from_fit(x, y, k=k, lam=lam)
    fitted = trend.fitted(y)
    residual = y - fitted
    low, high = np.quantile(x[detected], grid_quantiles)
    spline = MedianSpline(x[detected], df=spline_df, grid=np.linspace(float(low), float(high), grid_points))
    location, rise = strongest_crossing(spline.curve(x[detected], residual[detected]), spline.grid)
    result.update(ip_location=location, transition_rise=rise)
    if np.isnan(location):
        return result | {"transition_p": 1.0, "transition_reason": "the residuals' median spline does not cross zero upwards"}

    signs = rng.choice(np.array([-1.0, 1.0]), size=(x.size, test_boot))
    null_responses = fitted[:, None] + signs * residual[:, None]
    null_residuals = null_responses - trend.fitted(null_responses)
    null_rises = np.array([strongest_crossing(spline.curve(x[detected], null_residuals[detected, b]), spline.grid)[1]
                           for b in range(test_boot)])
    p_value = float((1 + np.sum(null_rises >= rise)) / (test_boot + 1))
    result["transition_p"] = p_value
    if p_value >= alpha:
        return result | {"transition_reason": f"no transition: p = {p_value:.3g} >= alpha = {alpha:g}"}

    crossings = []
    for _ in range(interval_boot):
        counts = np.bincount(rng.integers(0, x.size, x.size), minlength=x.size).astype(np.float64)
        boot_residual = y - trend.fitted(y, weights=counts)
        curve = spline.curve(x[detected], boot_residual[detected], weights=counts[detected])
        crossings.append(strongest_crossing(curve, spline.grid)[0])
    crossings = np.array(crossings)
    found = ~np.isnan(crossings)
    result.update(ip_calibrated=location, interval_share_crossing=float(found.mean()))
    if found.mean() < 0.5:
        return result | {"transition_reason": f"interval: only {int(found.sum())} of {interval_boot} cell resamples "
                                               "have a crossing"}
    tail = (1 - level) / 2 * 100
    result.update(ip_calibrated_low=float(np.percentile(crossings[found], tail)),
                  ip_calibrated_high=float(np.percentile(crossings[found], 100 - tail)))
    return result
