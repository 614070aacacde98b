"""Gaussian GAMs of a gene-set score on the anchor gene: ``score ~ s(anchor)``, identity link.

pygam picks the smoothing penalty by its own criterion (GCV for a Gaussian model with unknown
scale; it has no REML). The basis size k is chosen as published: the k in
``k_min .. min(k_max, unique anchor values - 1)`` whose fit has the smallest penalised residual
sum of squares ``RSS + b' S_lambda b``. pygam needs more basis functions than the spline order,
so k = 3 uses quadratic B-splines and larger k cubic ones.

The search does not refit pygam for every (k, lambda): with an identity link pygam's PIRLS is one
penalised least-squares solve, ``b = (B'B + S_lambda + sqrt(eps) I)^-1 B'y``, and its GCV is
``n RSS / (n - 1.4 edf)^2`` with ``edf`` the trace of the hat matrix. `_search_lambda` computes
both from pygam's own design and penalty (one Gram matrix per k, one small solve per lambda) and
pygam fits the chosen model once; the choice equals pygam's ``gridsearch`` (tested).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from pygam import LinearGAM, s


@dataclass(frozen=True)
class GamFit:
    """What one fit records (one row of the per-patient, per-set table)."""

    n_cells: int
    unique_anchor: int
    k: int
    lam: float
    edf: float
    deviance_explained: float
    rss: float
    penalised_rss: float
    gcv: float

    def as_dict(self) -> dict:
        """The fit's summary as a plain dict."""
        return asdict(self)


class TooFewAnchorValuesError(ValueError):
    """The anchor takes too few distinct values for any basis size in range."""


def _model(k: int, lam: float | None = None) -> LinearGAM:
    term = s(0, n_splines=k, spline_order=min(3, k - 1))
    return LinearGAM(term) if lam is None else LinearGAM(term, lam=lam)


# pygam's GCV counts each effective degree of freedom 1.4 times (its gridsearch default), and
# adds sqrt(eps) to the penalty's diagonal "to improve condition"
_GCV_GAMMA = 1.4
_RIDGE = np.sqrt(np.finfo(np.float64).eps)


def _design_and_penalty(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The model matrix pygam builds for ``s(anchor)`` with basis size ``k`` at ``x``, and its penalty at lambda 1."""
    gam = _model(k, 1.0)
    gam._validate_params()
    gam._validate_data_dep_params(x[:, None])  # the knots span these cells, as in pygam's fit
    gam.statistics_ = {"m_features": 1}
    return gam._modelmat(x[:, None]).toarray(), gam._P().toarray()


def _search_lambda(design: np.ndarray, penalty: np.ndarray, y: np.ndarray,
                   lam_grid: np.ndarray) -> tuple[float, float]:
    """The grid's lambda with the smallest GCV (the first of equals, as pygam's ``gridsearch``)
    and that fit's penalised RSS ``RSS + b' S_lambda b``.
    """
    n = y.size
    gram = design.T @ design
    rhs = design.T @ y
    ridge = _RIDGE * np.eye(gram.shape[0])
    best = (np.inf, np.nan, np.nan)
    for lam in lam_grid:
        system = gram + lam * penalty + ridge
        coef = np.linalg.solve(system, rhs)
        rss = float(((y - design @ coef) ** 2).sum())
        edf = float(np.trace(np.linalg.solve(system, gram)))
        gcv = n * rss / (n - _GCV_GAMMA * edf) ** 2
        if gcv < best[0]:
            best = (gcv, float(lam), rss + float(coef @ (lam * penalty) @ coef))
    return best[1], best[2]


def deviance_explained(y: np.ndarray, fitted: np.ndarray) -> float:
    """``1 - RSS / TSS``: the Gaussian deviance explained (mgcv's ``dev.expl``)."""
    total = float(((y - y.mean()) ** 2).sum())
    return float(1 - ((y - fitted) ** 2).sum() / total) if total > 0 else float("nan")


def penalised_rss(gam: LinearGAM, x: np.ndarray, y: np.ndarray) -> float:
    """``RSS + b' S_lambda b`` of a fitted model (pygam's penalty already carries lambda)."""
    coef = gam.coef_
    penalty = gam._P()  # the fitted model's block-diagonal penalty, lambda included
    return float(((y - gam.predict(x[:, None])) ** 2).sum() + coef @ (penalty @ coef))


def fit_anchor_gam(anchor: np.ndarray, score: np.ndarray, *, k_min: int = 3, k_max: int = 10,
                   lam_grid: np.ndarray | None = None) -> tuple[LinearGAM, GamFit]:
    """Fit ``score ~ s(anchor)`` choosing k by penalised RSS and lambda by pygam's GCV grid search.

    Raises
    ------
    TooFewAnchorValuesError
        When ``min(k_max, unique - 1) < k_min``.
    """
    x = np.asarray(anchor, dtype=np.float64)
    y = np.asarray(score, dtype=np.float64)
    unique = int(np.unique(x).size)
    upper = min(k_max, unique - 1)
    if upper < k_min:
        raise TooFewAnchorValuesError(f"the anchor takes {unique} distinct values in {x.size} cells; "
                                      f"a basis of at least k = {k_min} needs {k_min + 1}")
    lam_grid = np.logspace(-3, 3, 11) if lam_grid is None else np.asarray(lam_grid, dtype=np.float64)
    best = None
    for k in range(k_min, upper + 1):
        lam, criterion = _search_lambda(*_design_and_penalty(x, k), y, lam_grid)
        if best is None or criterion < best[1]:
            best = (k, criterion, lam)
    k, _, lam = best
    gam = fit_fixed(x, y, k=k, lam=lam)
    return gam, _summary(gam, x, y, k=k, criterion=penalised_rss(gam, x, y))


def fit_fixed(anchor: np.ndarray, score: np.ndarray, *, k: int, lam: float) -> LinearGAM:
    """Refit with a given basis size and penalty (cross-validation reuses a patient's choice)."""
    return _model(k, lam).fit(np.asarray(anchor, dtype=np.float64)[:, None], np.asarray(score, dtype=np.float64))


def _summary(gam: LinearGAM, x: np.ndarray, y: np.ndarray, *, k: int, criterion: float) -> GamFit:
    fitted = gam.predict(x[:, None])
    return GamFit(n_cells=int(x.size), unique_anchor=int(np.unique(x).size), k=k, lam=float(np.ravel(gam.lam)[0]),
                  edf=float(gam.statistics_["edof"]), deviance_explained=deviance_explained(y, fitted),
                  rss=float(((y - fitted) ** 2).sum()), penalised_rss=criterion, gcv=float(gam.statistics_["GCV"]))


def predict_with_se(gam: LinearGAM, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted values and their standard errors at ``x`` (from the coefficient covariance)."""
    design = gam._modelmat(np.asarray(x, dtype=np.float64)[:, None])
    mean = np.asarray(design @ gam.coef_).ravel()
    covariance = gam.statistics_["cov"]
    se = np.sqrt(np.maximum(np.asarray(design.multiply(design @ covariance).sum(axis=1)).ravel(), 0.0))
    return mean, se


def leverage(gam: LinearGAM, x: np.ndarray, *, train: np.ndarray) -> np.ndarray:
    """The fit's leverage at ``x``: ``h(x) = b(x)' (B'B + S)^-1 b(x)``, with ``B`` the design of the
    ``train`` cells the model was fitted on (for a new cell: its prediction variance / sigma^2).

    At the training cells it is the diagonal of the influence matrix and sums to the effective
    degrees of freedom. Building the Gram matrix from ``x`` instead is a different quantity (about
    twice as large at held-out cells).
    """
    design = gam._modelmat(np.asarray(train, dtype=np.float64)[:, None]).toarray()
    at = gam._modelmat(np.asarray(x, dtype=np.float64)[:, None]).toarray()
    gram = design.T @ design + gam._P().toarray()
    # B-splines sum to one (collinear with the intercept) and a basis function may have no cell
    # under it: the pseudo-inverse gives the same fitted space where the inverse does not exist
    return np.einsum("ij,ji->i", at, np.linalg.pinv(gram, hermitian=True) @ at.T)
