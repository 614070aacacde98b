"""Per-session code rates against MI quality, and agreement between annotators."""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
import statsmodels.api as sm
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from replisuite.coding.annomi import TASKS
from replisuite.stats import bh_fdr, cohen_kappa

log = logging.getLogger("replisuite.mi")


def quality_association(rates: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Per code: mean rate in high- vs low-quality sessions, difference with a bootstrap 95% CI,
    Cohen's d, and a logistic regression of high quality on the standardised rate (BH across codes;
    ``converged`` and ``fit_note`` say whether that fit is valid).
    """
    rows = []
    rng = np.random.default_rng(seed)
    for (task, source, code), group in rates.group_by("task", "source", "code", maintain_order=True):
        high = group.filter(pl.col("mi_quality") == "high")["rate"].to_numpy()
        low = group.filter(pl.col("mi_quality") == "low")["rate"].to_numpy()
        boot = rng.choice(high, (n_boot, high.size)).mean(1) - rng.choice(low, (n_boot, low.size)).mean(1)
        pooled = np.sqrt(((high.size - 1) * high.var(ddof=1) + (low.size - 1) * low.var(ddof=1)) / (high.size + low.size - 2))
        odds, p, converged, note = logit_odds_ratio(group["rate"].to_numpy(), (group["mi_quality"] == "high").to_numpy().astype(float))
        if not converged:
            log.warning("%s %s %s: logistic fit of quality on the rate did not converge (%s); no odds ratio", task, source, code, note)
        rows.append({
            "task": task, "source": source, "code": code, "sessions_high": high.size, "sessions_low": low.size,
            "mean_high": float(high.mean()), "mean_low": float(low.mean()), "difference": float(high.mean() - low.mean()),
            "ci_low": float(np.quantile(boot, 0.025)), "ci_high": float(np.quantile(boot, 0.975)),
            "cohen_d": float((high.mean() - low.mean()) / pooled) if pooled > 0 else float("nan"),
            "odds_ratio_per_sd": odds, "p_value": p, "converged": converged, "fit_note": note,
        })
    frame = pl.DataFrame(rows)
    return frame.with_columns(pl.Series("p_bh", bh_fdr(frame["p_value"].to_numpy())))


def logit_odds_ratio(rate: np.ndarray, high: np.ndarray) -> tuple[float, float, bool, str]:
    """Odds ratio of high quality per SD of ``rate`` (logistic regression), its p-value, whether
    the fit converged, and why not. A fit that did not converge (separation, a constant rate,
    a singular design) reports no odds ratio rather than an invalid one.
    """
    if np.ptp(rate) == 0:
        return float("nan"), float("nan"), False, "constant rate"
    z = (rate - rate.mean()) / rate.std()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.Logit(high, sm.add_constant(z)).fit(disp=0)
        except (np.linalg.LinAlgError, ValueError) as error:
            return float("nan"), float("nan"), False, f"{type(error).__name__}: {error}"
    problems = [str(w.message).splitlines()[0] for w in caught
                if issubclass(w.category, (ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning))]
    if not fit.mle_retvals.get("converged", False) or problems:
        return float("nan"), float("nan"), False, "; ".join(dict.fromkeys(problems)) or "did not converge"
    return float(np.exp(fit.params[1])), float(fit.pvalues[1]), True, ""


def annotator_agreement(full: pl.DataFrame, tasks: Sequence[str] = ("therapist_behaviour", "client_talk_type")) -> pl.DataFrame:
    """Fleiss' kappa and mean pairwise Cohen's kappa over utterances coded by several annotators."""
    rows = []
    for task in tasks:
        speaker, column = TASKS[task]
        coded = full.filter(pl.col("interlocutor") == speaker)
        multi = coded.group_by("transcript_id", "utterance_id", maintain_order=True).agg(
            pl.col(column), pl.col("annotator_id")).filter(pl.col(column).list.len() > 1)
        if multi.height == 0:
            continue
        table = [[str(v) for v in values] for values in multi[column].to_list()]
        width = min(len(r) for r in table)
        matrix = np.array([r[:width] for r in table])
        counts, _ = aggregate_raters(matrix)
        by_annotator: dict[object, dict[tuple, str]] = {}
        for key, labels, annotators in zip(multi.select("transcript_id", "utterance_id").iter_rows(), multi[column], multi["annotator_id"], strict=True):
            for label, annotator in zip(labels, annotators, strict=True):
                by_annotator.setdefault(annotator, {})[key] = str(label)
        pairwise = []
        for a, b in itertools.combinations(sorted(by_annotator), 2):
            shared = sorted(set(by_annotator[a]) & set(by_annotator[b]))
            if len(shared) >= 10:
                pairwise.append(cohen_kappa([by_annotator[a][k] for k in shared], [by_annotator[b][k] for k in shared]))
        rows.append({"task": task, "utterances": multi.height, "annotators_per_utterance": width,
                     "fleiss_kappa": float(fleiss_kappa(counts)), "mean_pairwise_cohen_kappa": float(np.nanmean(pairwise)),
                     "annotator_pairs": len(pairwise)})
    return pl.DataFrame(rows)


