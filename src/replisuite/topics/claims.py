"""What the topic-modelling paper reports (coherent topics), checked against a baseline model."""

from __future__ import annotations

import numpy as np
import polars as pl

from replisuite.claims import Claim, direction_verdict

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
        models="all-MiniLM-L6-v2 (embeddings)", measure="mean NPMI, BERTopic minus TF-IDF + NMF",
        note=f"{bertopic.size} vs {baseline.size} topics on CounselChat; the paper reports its topics qualitatively, "
             "so the check is against the baseline; bootstrap 95% interval over topics",
    )


def topics_claims(*, coherence: pl.DataFrame, seed: int, n_boot: int = 2000) -> list[Claim]:
    # Stability over seeds is reported in tables/stability.csv but not claimed: the table holds no
    # null (overlap of unmatched topics) that a stability claim would have to beat.
    """The topics study's claims (BERTopic's coherence against the NMF baseline)."""
    return [coherence_claim(coherence, seed=seed, n_boot=n_boot)]


def claims_from_files(paths: dict[str, str], *, seed: int) -> list[Claim]:
    """:func:`topics_claims` from the tables the workflow wrote."""
    return topics_claims(coherence=pl.read_csv(paths["coherence"]), seed=seed)
