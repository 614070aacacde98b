"""GO over-representation: replisuite's vectorised `enrich` against gseapy's offline `enrich`.

Both on GO Biological Process 2023 (5,407 terms, the library the trpm4 study uses), a background
of the library's genes and query lists of several sizes, as a trpm4 marker job asks (3 DEG lists
x 2 directions x several patients). Prints the time of each, the ratio, and the largest relative
difference of p-values, BH p-values, odds ratios and combined scores (the terms must be the same).
`indexed s` is one query against the library indexed once for the background (`index_gene_sets`,
as a marker job does for its 24 queries; the indexing's own time is printed once).

Run: python benchmarks/enrichment.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from replisuite.singlecell.genesets import go_biological_process
from replisuite.singlecell.markers import enrich, enrich_indexed, index_gene_sets


def gseapy_enrich(query, background, library):
    import gseapy

    universe = set(background)
    return gseapy.enrich(gene_list=[g for g in query if g in universe],
                         gene_sets={t: [g for g in m if g in universe] for t, m in library.items()},
                         background=background, outdir=None, cutoff=1.0, no_plot=True, verbose=False).results


def best_of(repeats, function, *args):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    args = parser.parse_args()
    library = go_biological_process()
    background = sorted({gene for members in library.values() for gene in members})
    rng = np.random.default_rng(0)
    print(f"library: {len(library)} terms, background {len(background)} genes")
    index_s, index = best_of(args.repeats, index_gene_sets, library, background)
    print(f"indexing the library for the background once: {index_s:.3f} s")
    print(f"{'query':>6} {'gseapy s':>9} {'ours s':>8} {'ratio':>6} {'indexed s':>9} {'ratio':>6} {'terms':>6} {'max rel diff':>12}")
    for size in (50, 300, 1500):
        query = list(rng.choice(background, size=size, replace=False))
        theirs_s, theirs = best_of(args.repeats, gseapy_enrich, query, background, library)
        ours_s, ours = best_of(args.repeats, enrich, query, background, library)
        indexed_s, indexed = best_of(args.repeats, enrich_indexed, query, index)
        assert indexed.equals(ours), "the indexed query differs"
        theirs = theirs.sort_values(["P-value", "Term"]).reset_index(drop=True)
        assert ours["term"].to_list() == theirs["Term"].tolist(), "different terms"
        worst = max(float(np.max(np.abs(ours[a].to_numpy() - theirs[b].to_numpy()) / np.maximum(np.abs(theirs[b].to_numpy()), 1e-300)))
                    for a, b in [("p_value", "P-value"), ("p_adj", "Adjusted P-value"), ("odds_ratio", "Odds Ratio"),
                                 ("combined_score", "Combined Score")])
        print(f"{size:>6} {theirs_s:>9.3f} {ours_s:>8.3f} {theirs_s / ours_s:>6.1f} {indexed_s:>9.4f} "
              f"{theirs_s / indexed_s:>6.1f} {ours.height:>6} {worst:>12.2e}")


if __name__ == "__main__":
    main()
