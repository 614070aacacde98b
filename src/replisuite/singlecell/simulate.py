"""A seeded single-cell cohort with a known answer for the CEP-IP framework.

Patients x conditions (e.g. tumour and benign, each with its clusters) of cells with negative-binomial UMI counts, library-size
variation, a realistic mean-expression spectrum over ~20k real gene symbols (the genes of GO
Biological Process 2023 as shipped in blitzgsea, plus ``SIM*`` fillers when more are asked for),
ribosomal and mitochondrial genes, and:

* the anchor gene (TRPM4) expressed at a per-cell level;
* a focus gene set (Ribo) whose score ``log2(mean log-normalised + 1)`` follows a smooth planted
  curve of ``log2(anchor + 1)``: a per-patient ``m(a)`` for every cell, plus, for a planted set
  of "well-explained" cells only, a small offset ``delta * tanh((a - ip) / width)`` that is
  negative before the planted inflection point ``ip`` and positive after it, with little noise;
  the other cells scatter widely around ``m(a)``;
* comparison gene sets with a shared per-cell factor (internal consistency) and a weak or no
  anchor dependence;
* gene programmes (genes of real GO terms) up-regulated in planted cells before the IP
  (immune) and after it (adhesion, translational initiation);
* genes co-expressed with the anchor at the dual filter's tier-1 and tier-2 strength
  (``coexpressed``: how many per tier; listed in ``uns["simulation"]["coexpressed"]``).

Counts are drawn gene-chunk by gene-chunk (gamma-Poisson) so the dense matrix never exists.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import polars as pl
from scipy import sparse

from replisuite.singlecell.genesets import go_biological_process
from replisuite.stats import name_seed

RIBOSOMAL_PROTEIN = re.compile(r"(RP[SL]\d+[A-Z]?\d*|RPLP[0-2]|RPSA|MRP[SL]\d+[A-Z]?)")
TRUTH_SCHEMA = {"cell": pl.String, "patient": pl.String, "condition": pl.String, "cluster": pl.String,
                "anchor_planted": pl.Float64, "planted_cell": pl.Boolean, "planted_ip": pl.Float64,
                "post_ip": pl.Boolean}


@dataclass(frozen=True, kw_only=True)
class CohortSpec:
    """What to simulate (every field is a key of ``trpm4.simulation`` in the config)."""

    patients: Sequence[str] = ("P1", "P2", "P3", "P4", "P5", "P6", "P7")
    cells_per_group: int = 1500
    genes: int = 20000
    anchor: str = "TRPM4"
    focus_genes: Sequence[str] = ()
    other_sets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    conditions: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {"tumour": ("6", "9", "11", "14", "19"), "benign": ("3",)})
    # median anchor expression per 10k UMIs in each condition (lognormal across cells, sd 1 on the log scale)
    anchor_per_10k: Mapping[str, float] = field(default_factory=lambda: {"tumour": 12.0, "benign": 5.0})
    other_cluster_fraction: float = 0.1
    planted_fraction: float = 0.45
    planted_delta: float = 0.1
    planted_noise: float = 0.015
    background_noise: float = 0.12
    ip_quantiles: tuple[float, float] = (0.35, 0.65)
    programmes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    programme_genes: int = 40
    programme_fold: float = 3.0
    # genes planted co-expressed with the anchor, per dual-filter tier: expression ~ the cell's anchor
    # rate x lognormal noise of this sd (measured: Spearman ~0.75/0.68 and Kendall ~0.55/0.50 with the anchor in
    # tumour/benign for tier 1; ~0.64/0.59 and ~0.46/0.43 for tier 2), at this many UMIs per 10k
    coexpressed: Mapping[str, int] = field(default_factory=dict)
    coexpressed_noise: Mapping[str, float] = field(default_factory=lambda: {"tier1": 0.1, "tier2": 0.7})
    coexpressed_per_10k: float = 40.0
    library_log_mean: float = 8.6
    library_log_sd: float = 0.35
    dispersion: float = 8.0
    seed: int = 0


def _gene_universe(spec: CohortSpec, go: Mapping[str, list[str]], rng) -> tuple[list[str], dict[str, list[str]]]:
    named = [spec.anchor, *spec.focus_genes, *(g for genes in spec.other_sets.values() for g in genes)]
    programme_genes = {}
    reserved = set(named)
    for phase, terms in spec.programmes.items():
        chosen = []
        for term in terms:
            if term not in go:
                raise ValueError(f"simulation programme {phase!r}: GO term {term!r} is not in GO_Biological_Process_2023")
            pool = [g for g in go[term] if g not in reserved and not _is_ribosomal(g) and not g.startswith("MT-")]
            picked = list(rng.choice(pool, size=min(spec.programme_genes, len(pool)), replace=False))
            chosen += picked
            reserved.update(picked)
        programme_genes[phase] = chosen
    all_go = sorted({g for genes in go.values() for g in genes})
    ribosomal = [g for g in all_go if _is_ribosomal(g)]
    mito = [f"MT-{g}" for g in ("ND1", "ND2", "CO1", "CO2", "ATP8", "ATP6", "CO3", "ND3", "ND4L", "ND4", "ND5", "ND6", "CYB")]
    fixed = list(dict.fromkeys([*named, *ribosomal, *mito, *(g for genes in programme_genes.values() for g in genes)]))
    if len(fixed) > spec.genes:
        raise ValueError(f"simulation.genes = {spec.genes} is fewer than the {len(fixed)} genes the cohort needs")
    rest = [g for g in all_go if g not in set(fixed)]
    take = min(len(rest), spec.genes - len(fixed))
    fillers = [f"SIM{i:05d}" for i in range(spec.genes - len(fixed) - take)]
    genes = fixed + sorted(rng.choice(rest, size=take, replace=False).tolist()) + fillers
    return genes, programme_genes


def _is_ribosomal(gene: str) -> bool:
    """Ribosomal protein genes proper (the QC pattern ``^RP[SL]`` also catches e.g. RPS6KA1)."""
    return RIBOSOMAL_PROTEIN.fullmatch(gene) is not None


def _nb(rng, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """Negative binomial counts with the given means (gamma-Poisson, shape = dispersion)."""
    return rng.poisson(rng.gamma(dispersion, mean / dispersion)).astype(np.float32)


def _curve(a: np.ndarray, *, base: float, amplitude: float, scale: float) -> np.ndarray:
    return base + amplitude * (1 - np.exp(-a / scale))


def simulate_cohort(spec: CohortSpec) -> tuple[ad.AnnData, pl.DataFrame]:
    """Simulate the cohort.

    The genes, their expression spectrum and the planted gene lists are drawn once for the cohort
    (seed ``(seed, "genes")``); everything about a patient's cells from the patient's own seed
    ``(seed, patient)``, so adding, removing or reordering patients leaves every other patient's
    cells unchanged.

    Returns
    -------
    adata
        Raw counts (float32 CSR) with obs ``patient``, ``condition``, ``cluster``;
        ``uns["simulation"]`` holds the planted programme genes and per-patient curves.
    truth
        One row per cell: the planted anchor value, whether the cell is planted (well-explained),
        the planted inflection point of its patient and group, and whether the cell is past it.
    """
    unlevelled = sorted(set(spec.conditions) - set(spec.anchor_per_10k))
    if unlevelled:
        raise ValueError(f"simulation: no anchor level (anchor_per_10k) for condition(s) {unlevelled}")
    genome = _Genome.draw(spec)
    parts = [_simulate_patient(spec, genome, patient) for patient in spec.patients]
    counts = sparse.vstack([part[0] for part in parts], format="csr")
    counts.sort_indices()
    obs = pl.concat([part[1] for part in parts])
    curves: dict[str, dict[str, Any]] = {}
    for part in parts:
        for condition, by_patient in part[2].items():
            curves.setdefault(condition, {}).update(by_patient)
    adata = ad.AnnData(X=counts,
                       obs=pd.DataFrame(obs.select("patient", "condition", "cluster").to_dict(as_series=False),
                                        index=pd.Index(obs["cell"].to_list(), name="cell")),
                       var=pd.DataFrame(index=pd.Index(genome.genes, name="gene")))
    adata.uns["simulation"] = {"programme_genes": genome.programme_genes, "curves": curves,
                               "coexpressed": genome.coexpressed}
    return adata, obs.select(list(TRUTH_SCHEMA)).cast(TRUTH_SCHEMA)


@dataclass(frozen=True)
class _Genome:
    """What every patient shares: genes, expression proportions and the planted gene lists."""

    genes: list[str]
    index: dict[str, int]
    proportion: np.ndarray  # of the library outside the focus genes, anchor and mito (sums to 1)
    programme_genes: dict[str, list[str]]
    coexpressed: dict[str, list[str]]
    focus: np.ndarray
    focus_offsets: np.ndarray
    ribosomal: np.ndarray
    mito: np.ndarray

    @classmethod
    def draw(cls, spec: CohortSpec) -> _Genome:
        rng = np.random.default_rng(name_seed(spec.seed, "genes"))
        genes, programme_genes = _gene_universe(spec, go_biological_process(), rng)
        index = {g: i for i, g in enumerate(genes)}
        proportion = np.exp(rng.normal(0, 1.6, len(genes)))
        ribosomal = np.array([_is_ribosomal(g) for g in genes])
        mito = np.array([g.startswith("MT-") for g in genes])
        proportion[ribosomal] = np.exp(rng.normal(2.5, 0.5, ribosomal.sum())) * proportion[~ribosomal].mean()
        focus = np.array([index[g] for g in spec.focus_genes], dtype=int)
        coexpressed = _choose_coexpressed(spec, rng, genes, programme_genes)
        proportion[focus] = 0.0
        proportion[index[spec.anchor]] = 0.0
        proportion[mito] = 0.0
        proportion /= proportion.sum()
        for gene in (g for members in coexpressed.values() for g in members):
            proportion[index[gene]] = spec.coexpressed_per_10k / 1e4
        offsets = rng.normal(0, 0.15, len(focus))
        return cls(genes, index, proportion, programme_genes, coexpressed, focus, offsets - offsets.mean(), ribosomal, mito)


def _simulate_patient(spec: CohortSpec, genome: _Genome, patient: str):
    """One patient's counts (CSR), truth rows (with the cell names) and planted curves, from the patient's own seed."""
    rng = np.random.default_rng(name_seed(spec.seed, patient))
    obs = _cells(spec, rng, patient)
    n = obs.height
    library = np.exp(rng.normal(spec.library_log_mean, spec.library_log_sd, n))
    # the rest of the cell's library is shared out by proportion; mito takes a per-cell fraction
    mito_fraction = rng.beta(2, 40, n)
    multiplier = _set_multipliers(spec, rng, genome.index, n)
    median = obs["condition"].replace_strict(dict(spec.anchor_per_10k), return_dtype=pl.Float64).to_numpy()
    anchor_per_10k = np.exp(rng.normal(np.log(median), 1.0))
    _coexpression_multipliers(spec, rng, genome, anchor_per_10k / median, multiplier)
    counts_anchor = _nb(rng, anchor_per_10k * library / 1e4, spec.dispersion)
    library_no_focus = library * 0.9  # about a tenth of each library is left for the focus genes, drawn last
    a = np.log2(np.log1p(1e4 * counts_anchor / library) + 1)
    planted, ip, post, y, curves = _plant(spec, obs, a, rng)
    for phase, chosen in genome.programme_genes.items():
        in_phase = planted & (post if phase == "post_ip" else ~post)
        for gene in chosen:
            multiplier[genome.index[gene]] = multiplier.get(genome.index[gene], np.ones(n)) * np.where(
                in_phase, spec.programme_fold, 1.0)
    anchor_index, mito = genome.index[spec.anchor], genome.mito
    blocks, starts = [], list(range(0, len(genome.genes), 512)) + [len(genome.genes)]
    realised = np.zeros(n)
    for start, stop in itertools.pairwise(starts):
        mean = np.outer(library_no_focus * (1 - mito_fraction), genome.proportion[start:stop])
        for g in range(start, stop):
            if g in multiplier:
                mean[:, g - start] *= multiplier[g]
            if mito[g]:
                mean[:, g - start] = library_no_focus * mito_fraction / mito.sum()
        block = _nb(rng, mean, spec.dispersion)
        if start <= anchor_index < stop:
            block[:, anchor_index - start] = counts_anchor
        realised += block.sum(axis=1)
        blocks.append(sparse.csr_matrix(block))
    counts = sparse.hstack(blocks, format="csr")
    blocks.clear()
    counts = counts + _focus_counts(spec, rng, genome, y, realised)
    truth = obs.with_columns(pl.Series("anchor_planted", a), pl.Series("planted_cell", planted),
                             pl.Series("planted_ip", ip), pl.Series("post_ip", post))
    return counts.tocsr(), truth, curves


def _focus_counts(spec: CohortSpec, rng, genome: _Genome, y: np.ndarray, realised: np.ndarray) -> sparse.csr_matrix:
    """The focus genes' counts: log-normalised targets whose mean is ``2**y - 1``, drawn against the realised library."""
    target = 2.0**y - 1
    share = np.expm1(np.outer(target, 1 + genome.focus_offsets)) / 1e4
    share *= np.minimum(1.0, 0.5 / share.sum(axis=1))[:, None]  # never more than half the library
    total = realised / (1 - share.sum(axis=1))
    placed = sparse.coo_matrix(_nb(rng, share * total[:, None], 10 * spec.dispersion))
    return sparse.csr_matrix((placed.data, (placed.row, genome.focus[placed.col])), shape=(y.size, len(genome.genes)))


def _cells(spec: CohortSpec, rng, patient: str) -> pl.DataFrame:
    rows = []
    for condition, clusters in spec.conditions.items():
        extra = int(round(spec.cells_per_group * spec.other_cluster_fraction))
        chosen = rng.choice(list(clusters), spec.cells_per_group).tolist() + ["0"] * extra
        rows += [(patient, condition, c) for c in chosen]
    obs = pl.DataFrame(rows, schema={"patient": pl.String, "condition": pl.String, "cluster": pl.String}, orient="row")
    return obs.with_columns(pl.format("{}_cell{}", pl.col("patient"), pl.int_range(pl.len()).cast(pl.String).str.zfill(5))
                            .alias("cell"))


def _set_multipliers(spec: CohortSpec, rng, index: Mapping[str, int], n: int) -> dict[int, np.ndarray]:
    """Per-cell expression multipliers of the comparison sets' genes: one shared factor per set."""
    multiplier = {}
    for set_genes in spec.other_sets.values():
        shared = rng.normal(0, 0.5, n)
        for gene in set_genes:
            if gene in spec.focus_genes or gene == spec.anchor:
                continue
            multiplier[index[gene]] = multiplier.get(index[gene], np.ones(n)) * np.exp(shared + rng.normal(0, 0.3, n))
    return multiplier


def _choose_coexpressed(spec: CohortSpec, rng, genes: Sequence[str],
                       programme_genes: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Pick ``spec.coexpressed[tier]`` unused genes per tier (tier -> genes)."""
    if not spec.coexpressed:
        return {}
    taken = {spec.anchor, *spec.focus_genes, *(g for members in spec.other_sets.values() for g in members),
             *(g for members in programme_genes.values() for g in members)}
    pool = [g for g in genes if g not in taken and not _is_ribosomal(g) and not g.startswith("MT-")]
    chosen = iter(rng.choice(pool, size=sum(spec.coexpressed.values()), replace=False).tolist())
    return {tier: [next(chosen) for _ in range(count)] for tier, count in spec.coexpressed.items()}


def _coexpression_multipliers(spec: CohortSpec, rng, genome: _Genome, relative_anchor: np.ndarray,
                              multiplier: dict[int, np.ndarray]) -> None:
    """Make each co-expressed gene follow the cell's anchor rate (relative to its condition's median) times lognormal noise."""
    for tier, members in genome.coexpressed.items():
        for gene in members:
            noise = rng.normal(0, spec.coexpressed_noise[tier], relative_anchor.size)
            multiplier[genome.index[gene]] = relative_anchor * np.exp(noise)


def _plant(spec: CohortSpec, obs: pl.DataFrame, a: np.ndarray, rng):
    """The focus score per cell, the planted cells and each patient's planted inflection point."""
    n = len(a)
    planted = np.zeros(n, dtype=bool)
    ip = np.full(n, np.nan)
    y = np.zeros(n)
    curves = {}
    keys = obs.select("patient", "condition").with_row_index("row").group_by("patient", "condition", maintain_order=True)
    for (patient, condition), rows in keys:
        rows = rows["row"].to_numpy()
        x = a[rows]
        low, high = np.quantile(x, spec.ip_quantiles)
        point = float(rng.uniform(low, high))
        base, amplitude = rng.uniform(2.2, 2.3), rng.uniform(0.35, 0.45)
        scale = rng.uniform(0.8, 1.2) * float(np.quantile(x, 0.9))
        width = max(float(np.std(x)) / 2, 1e-3)
        chosen = rng.random(len(rows)) < spec.planted_fraction
        curve = _curve(x, base=base, amplitude=amplitude, scale=scale)
        offset = spec.planted_delta * np.tanh((x - point) / width)
        noise = np.where(chosen, rng.normal(0, spec.planted_noise, len(rows)), rng.normal(0, spec.background_noise, len(rows)))
        y[rows] = curve + np.where(chosen, offset, 0.0) + noise
        planted[rows] = chosen
        ip[rows] = point
        curves.setdefault(condition, {})[patient] = {"ip": point, "base": base, "amplitude": amplitude, "scale": scale, "width": width}
    post = a > ip
    return planted, ip, post, y, curves
