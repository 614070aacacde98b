"""What the topic-modelling paper reports (coherent, stable topics), checked against baselines."""

from __future__ import annotations

import numpy as np
import polars as pl

from replisuite.claims import Claim, beats_baseline_verdict, direction_verdict
from replisuite.stats import bootstrap_mean_ci

STUDY = "topics"


def coherence_claim(coherence: pl.DataFrame, *, seed: int, n_boot: int) -> Claim:
    """Mean NPMI of BERTopic's topics minus the TF-IDF + NMF baseline's, bootstrap over topics."""
    bertopic = coherence.filter(pl.col("model") == "bertopic")["npmi"].drop_nulls().to_numpy()
    baseline = coherence.filter(pl.col("model") != "bertopic")["npmi"].drop_nulls().to_numpy()
    rng = np.random.default_rng(seed)
    draws = [rng.choice(bertopic, bertopic.size).mean() - rng.choice(baseline, baseline.size).mean()
             for _ in range(n_boot)]
    difference = float(bertopic.mean() - baseline.mean())
    low, high = (float(q) for q in np.quantile(draws, [0.025, 0.975]))
    verdict, rule = direction_verdict(1, difference, low, high)
    return Claim(
        study=STUDY, claim_id="coherence_vs_nmf", source="topic quality (NPMI coherence)",
        claim="BERTopic (embeddings, UMAP, HDBSCAN) finds more coherent topics than a TF-IDF + NMF baseline",
        published="", reproduced=difference, ci_low=low, ci_high=high, level="proxy", verdict=verdict, rule=rule,
        models="all-MiniLM-L6-v2 (embeddings)",
        note=f"{bertopic.size} vs {baseline.size} topics on CounselChat; the paper reports its topics qualitatively, "
             "so the check is against the baseline; bootstrap 95% interval over topics",
    )


def stability_claim(stability: pl.DataFrame, *, seed: int) -> Claim:
    """Topics matched across seeds: mean word overlap against a chance level of 0."""
    mean, low, high = bootstrap_mean_ci(stability["mean_overlap"].to_numpy(), seed=seed)
    verdict, rule = beats_baseline_verdict(0.5, mean, low)
    return Claim(
        study=STUDY, claim_id="stability_over_seeds", source="topic stability",
        claim="The topics are stable across random seeds (matched topics share most top words)",
        published="", reproduced=mean, ci_low=low, ci_high=high, level="proxy", verdict=verdict, rule=rule,
        models="all-MiniLM-L6-v2 (embeddings)",
        note=f"mean top-word overlap of matched topics over {stability.height} seed pairs; baseline 0.5 (half the "
             "words shared)",
    )


def topics_claims(*, coherence: pl.DataFrame, stability: pl.DataFrame, seed: int, n_boot: int = 2000) -> list[Claim]:
    return [coherence_claim(coherence, seed=seed, n_boot=n_boot), stability_claim(stability, seed=seed)]


def claims_from_files(paths: dict[str, str], *, seed: int) -> list[Claim]:
    return topics_claims(coherence=pl.read_csv(paths["coherence"]), stability=pl.read_csv(paths["stability"]), seed=seed)
