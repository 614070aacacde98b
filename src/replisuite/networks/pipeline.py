"""The networks study's steps as the workflow runs them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.atomic import atomic_open
from replisuite.coding import networks, themes
from replisuite.coding.agreement import match_units, span_scores
from replisuite.coding.codebook import Codebook, resolve
from replisuite.coding.coders import CODER_SCHEMA, code_units
from replisuite.judge.pairwise import PAIR_SCHEMA, judge_pairs
from replisuite.llm import embed, open_study_models
from replisuite.networks.data import gold_codings, sample_units
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.tables import read_table, write_table

STUDY = "networks"
PROCESS_SCHEMA = {"unit": pl.String, "case": pl.String, "order": pl.Int64, "code": pl.String, "span": pl.String,
                  "cluster": pl.Int64, "theme": pl.String}
COMPARISON_SCHEMA = {"coder": pl.String, "judge": pl.String, **PAIR_SCHEMA}


def code_sessions(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, coder: str, shots: int, annomi: str,
                  gold: str, out: str, provenance_out: str, threads: int | None = None) -> None:
    """The ``coder`` model's EEMM codes of every gold unit with ``shots`` examples from the other sessions."""
    codebook = resolve(study["codebook"])
    units, codings = gold_codings(gold, codebook=codebook, annomi_path=annomi)
    store, models = open_study_models(llm_section, STUDY, [coder], threads=threads)
    llm = models[coder]
    coded = sample_units(units, per_session=study["units_per_session"], seed=study["seed"])
    with store:
        rows = code_units(llm, codebook, coded, pool_units=units, pool_codings=codings, k=shots, seed=study["seed"],
                          what="client's words", params=study["coder_params"])
        write_llm_provenance(provenance_out, [llm])
    write_table(rows, out, schema=CODER_SCHEMA)


def processes_of(detections: pl.DataFrame, units: pl.DataFrame) -> pl.DataFrame:
    """The detected processes (code and span, the whole unit when no span) with their case and order."""
    found = detections.filter(pl.col("status") == "ok")
    return found.join(units.select("unit", "case", "order", "text"), on="unit").with_columns(
        pl.when(pl.col("span").str.strip_chars() == "").then(pl.col("text")).otherwise(pl.col("span")).alias("span")
    ).select("unit", "case", "order", "code", "span").sort("case", "order", "code")


def build(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, coder: str, annomi: str, gold: str,
          detections: str, tables: Mapping[str, str], naming_out: str, provenance_out: str,
          threads: int | None = None) -> None:
    """Themes in two steps from the ``coder`` model's processes (it also names them and explains the
    edges), their stability across seeds, and each client's multi-step and direct networks.
    """
    codebook = resolve(study["codebook"])
    units, _ = gold_codings(gold, codebook=codebook, annomi_path=annomi)
    processes = processes_of(pl.read_parquet(detections), units)
    settings = study["themes"]
    store, models = open_study_models(llm_section, STUDY, [coder], threads=threads)
    llm = models[coder]
    transcripts = networks.transcripts_by_case(units, max_chars=study["max_chars"])
    with store:
        vectors = embed(processes["span"].to_list(), store=store) if processes.height else np.zeros((0, 384))
        stability = (themes.stability(vectors, n_clusters=settings["clusters"], seeds=settings["seeds"])
                     if processes.height >= 2 else pl.DataFrame(schema=themes.STABILITY_SCHEMA))
        labels = (themes.cluster(vectors, n_clusters=settings["clusters"], seed=settings["seeds"][0])
                  if processes.height else np.zeros(0, dtype=int))
        members = {int(c): processes["span"].filter(pl.Series(labels == c)).to_list() for c in np.unique(labels)}
        names, naming = themes.name_and_merge(llm, members, what="things clients said", max_members=settings["max_members"],
                                              params=study["reply_params"]) if members else ({}, {})
        processes = processes.with_columns(pl.Series("cluster", labels, dtype=pl.Int64),
                                           pl.Series("theme", [names[int(c)] for c in labels], dtype=pl.String))
        edges = networks.explain_edges(llm, networks.cooccurrence_edges(processes, window=study["window"]), transcripts,
                                       max_edges=study["max_edges"], params=study["reply_params"])
        direct_nodes, direct_edges, direct_status = networks.direct_networks(llm, transcripts, params=study["direct_params"])
        write_llm_provenance(provenance_out, [llm])
    nodes = pl.concat([networks.nodes_from_processes(processes), direct_nodes])
    all_edges = pl.concat([edges, direct_edges])
    statistics = network_statistics(nodes, all_edges, cases=sorted(transcripts), direct_status=direct_status)
    write_table(processes.select(list(PROCESS_SCHEMA)), tables["processes"], schema=PROCESS_SCHEMA)
    write_table(stability, tables["stability"], schema=themes.STABILITY_SCHEMA)
    write_table(nodes, tables["nodes"], schema=networks.NODE_SCHEMA)
    write_table(all_edges, tables["edges"], schema=networks.EDGE_SCHEMA)
    write_table(statistics, tables["network_statistics"], schema=statistics.schema)
    frequencies = themes.frequencies(processes)
    write_table(frequencies, tables["theme_frequencies"], schema=frequencies.schema)
    co = themes.cooccurrence(processes.select("unit", "case", "theme"), column="theme")
    write_table(co, tables["theme_cooccurrence"], schema=co.schema)
    with atomic_open(naming_out) as handle:
        json.dump(naming, handle, indent=2, sort_keys=True)


def network_statistics(nodes: pl.DataFrame, edges: pl.DataFrame, *, cases: Sequence[str],
                       direct_status: Mapping[str, str]) -> pl.DataFrame:
    """Graph statistics of the multi-step and direct networks of each case."""
    rows = []
    for case in cases:
        for method in ("multi-step", "direct"):
            g = networks.graph(nodes.filter((pl.col("case") == case) & (pl.col("method") == method)),
                               edges.filter((pl.col("case") == case) & (pl.col("method") == method)))
            status = direct_status.get(case, "ok") if method == "direct" else "ok"
            rows.append({"case": case, "method": method, "status": status, **networks.graph_statistics(g)})
    return pl.DataFrame(rows, schema={"case": pl.String, "method": pl.String, "status": pl.String, "nodes": pl.Int64,
                                      "edges": pl.Int64, "density": pl.Float64, "components": pl.Int64,
                                      "most_central": pl.String, "max_degree_centrality": pl.Float64})


def failed_direct(statistics: str) -> list[str]:
    """Cases whose directly prompted network could not be parsed (from the network statistics
    table): there is nothing to compare. Case ids are read as text, as the other tables hold them.
    """
    table = pl.read_csv(statistics, schema_overrides={"case": pl.String})
    return sorted(table.filter((pl.col("method") == "direct") & (pl.col("status") != "ok"))["case"].to_list())


def rendered_networks(nodes: pl.DataFrame, edges: pl.DataFrame, *, skip: Sequence[str] = ()) -> pl.DataFrame:
    """Each case's two networks as text (the replies the judge compares), except the ``skip`` cases:
    an unparseable direct network rendered as "Themes: (none)" would hand the multi-step method a win.
    """
    rows = []
    for case in sorted((set(nodes["case"]) | set(edges["case"])) - set(skip)):
        for method in ("multi-step", "direct"):
            g = networks.graph(nodes.filter((pl.col("case") == case) & (pl.col("method") == method)),
                               edges.filter((pl.col("case") == case) & (pl.col("method") == method)))
            rows.append({"context": case, "reply": method, "text": networks.render(g)})
    return pl.DataFrame(rows, schema={"context": pl.String, "reply": pl.String, "text": pl.String})


def compare(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, coder: str, annomi: str, gold: str, nodes: str,
            edges: str, statistics: str, out: str, provenance_out: str, threads: int | None = None) -> None:
    """The judge's pairwise preference between each client's multi-step and direct network, both
    built by ``coder`` (cases whose direct network could not be parsed are left out, and counted
    in the summary).
    """
    codebook = resolve(study["codebook"])
    units, _ = gold_codings(gold, codebook=codebook, annomi_path=annomi)
    transcripts = networks.transcripts_by_case(units, max_chars=study["max_chars"])
    skip = failed_direct(statistics)
    if skip:
        print(f"{len(skip)} case(s) without a parseable direct network, not compared: {skip}")
    replies = rendered_networks(read_table(nodes, schema=networks.NODE_SCHEMA), read_table(edges, schema=networks.EDGE_SCHEMA),
                                skip=skip)
    store, models = open_study_models(llm_section, STUDY, [study["judge"]], threads=threads)
    llm = models[study["judge"]]
    with store:
        pairs = judge_pairs(llm, transcripts, replies, seed=study["seed"], messages=networks.pair_messages_for_networks)
        write_llm_provenance(provenance_out, [llm])
    write_table(pairs.with_columns(pl.lit(coder).alias("coder"), pl.lit(study["judge"]).alias("judge"))
                .select(list(COMPARISON_SCHEMA)), out, schema=COMPARISON_SCHEMA)


def detection_table(study: Mapping[str, Any], codebook: Codebook, units: pl.DataFrame, gold: pl.DataFrame,
                    detections: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """Span F1 by number of examples, with dimension and valence accuracy, beside the trivial guess,
    on the units every coder coded.
    """
    match, codes, n_boot = study["match"], list(codebook.code_ids), study["n_boot"]
    coded = set.intersection(*(set(d["unit"]) for d in detections)) if detections else set()
    guess = majority_guess(units, gold).filter(pl.col("unit").is_in(sorted(coded)))
    units, gold = units.filter(pl.col("unit").is_in(sorted(coded))), gold.filter(pl.col("unit").is_in(sorted(coded)))
    rows = []
    candidates = [(f"{int(d['k'][0])} examples", int(d["k"][0]), d.filter(pl.col("status") == "ok")) for d in detections]
    candidates.append(("baseline: most frequent code, whole utterance", None, guess))
    # the coder's format compliance (its task floor): units whose reply parsed, of the units coded
    parsed = {int(d["k"][0]): (d.filter(pl.col("status") != "unparseable")["unit"].n_unique(), d["unit"].n_unique())
              for d in detections}
    unit_ids = units["unit"].to_list()
    for label, shots, predicted in candidates:
        scores = span_scores(gold, predicted, units=unit_ids, codes=codes, rule=match["rule"], threshold=match["threshold"],
                             n_boot=n_boot, seed=study["seed"]).filter(pl.col("code") == "micro").row(0, named=True)
        located = match_units(gold, predicted, rule=match["rule"], threshold=match["threshold"], same_code=False)
        dimension = [codebook.code(g["code"]).dimension == codebook.code(p["code"]).dimension for g, p in located]
        valence = [codebook.code(g["code"]).valence == codebook.code(p["code"]).valence for g, p in located]
        statuses = predicted.height
        rows.append({"coder": label, "shots": shots, "precision": scores["precision"], "recall": scores["recall"],
                     "f1": scores["f1"], "f1_ci_low": scores["f1_ci_low"], "f1_ci_high": scores["f1_ci_high"],
                     "gold_spans": scores["gold"], "predicted_spans": statuses, "located_spans": len(located),
                     "dimension_accuracy": float(np.mean(dimension)) if dimension else float("nan"),
                     "valence_accuracy": float(np.mean(valence)) if valence else float("nan"),
                     "parsed_units": parsed.get(shots, (len(unit_ids),))[0],
                     "units": parsed.get(shots, (0, len(unit_ids)))[1]})
    return pl.DataFrame(rows, schema={"coder": pl.String, "shots": pl.Int64, "precision": pl.Float64, "recall": pl.Float64,
                                      "f1": pl.Float64, "f1_ci_low": pl.Float64, "f1_ci_high": pl.Float64,
                                      "gold_spans": pl.Int64, "predicted_spans": pl.Int64, "located_spans": pl.Int64,
                                      "dimension_accuracy": pl.Float64, "valence_accuracy": pl.Float64,
                                      "parsed_units": pl.Int64, "units": pl.Int64})


def majority_guess(units: pl.DataFrame, gold: pl.DataFrame) -> pl.DataFrame:
    """The trivial coder: every unit gets the most frequent gold code of the *other* sessions, spanning
    the whole utterance.
    """
    case_of = dict(zip(units["unit"], units["case"], strict=True))
    gold = gold.with_columns(pl.col("unit").replace_strict(case_of).alias("case"))
    rows = []
    for unit, case, text in units.select("unit", "case", "text").iter_rows():
        counts = gold.filter(pl.col("case") != case)["code"].value_counts(sort=True)
        top = counts.sort(["count", "code"], descending=[True, False])["code"][0]
        rows.append({"unit": unit, "code": top, "span": "", "start": 0, "end": len(text)})
    return pl.DataFrame(rows, schema={"unit": pl.String, "code": pl.String, "span": pl.String, "start": pl.Int64,
                                      "end": pl.Int64})


def summarise(study: Mapping[str, Any], *, coders: Sequence[str], annomi: str, gold: str, detections: Sequence[str],
              stability: Sequence[str], statistics: Sequence[str], comparison: Sequence[str], processes: str, nodes: str,
              edges: str, tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """Detection, comparison and stability tables per model coder, and figures (the networks and
    themes of the first coder, whose ``processes``, ``nodes`` and ``edges`` are given).

    ``stability``, ``statistics`` and ``comparison`` hold one file per coder, in the order of
    ``coders``; ``detections`` every coder's files (their ``coder`` column says whose).
    """
    from replisuite.coding.figures import networks_figure

    from replisuite.networks import figures

    codebook = resolve(study["codebook"])
    units, gold_frame = gold_codings(gold, codebook=codebook, annomi_path=annomi)
    coded = pl.concat([pl.read_parquet(p) for p in detections])
    detection = pl.concat([
        detection_table(study, codebook, units, gold_frame,
                        [coded.filter((pl.col("coder") == coder) & (pl.col("k") == k))
                         for k in sorted(coded.filter(pl.col("coder") == coder)["k"].unique())])
        .select(pl.lit(coder).alias("model"), pl.all())
        for coder in coders])
    write_table(detection, tables["detection"], schema=detection.schema)
    preference = pl.concat([
        comparison_table(pl.read_parquet(pairs), without_direct=len(failed_direct(stats_path)))
        .select(pl.lit(coder).alias("model"), pl.all())
        for coder, pairs, stats_path in zip(coders, comparison, statistics, strict=True)])
    write_table(preference, tables["comparison"], schema=preference.schema)
    stability_summary = pl.concat([stability_row(coder, read_table(path, schema=themes.STABILITY_SCHEMA))
                                   for coder, path in zip(coders, stability, strict=True)])
    write_table(stability_summary, tables["stability_summary"], schema=stability_summary.schema)
    processes_frame = read_table(processes, schema=PROCESS_SCHEMA)
    apply_style()
    save_figure(figures.detection_figure(detection), *figure_paths(figure_stems["detection"]))
    shown = study["figure_clients"]
    node_frame, edge_frame = read_table(nodes, schema=networks.NODE_SCHEMA), read_table(edges, schema=networks.EDGE_SCHEMA)
    if shown is not None:
        node_frame = node_frame.filter(pl.col("case").is_in([str(c) for c in shown]))
        edge_frame = edge_frame.filter(pl.col("case").is_in([str(c) for c in shown]))
    save_figure(networks_figure(node_frame, edge_frame),
                *figure_paths(figure_stems["networks"]))
    save_figure(figures.theme_figure(processes_frame), *figure_paths(figure_stems["themes"]))


def stability_row(coder: str, stability: pl.DataFrame) -> pl.DataFrame:
    """One coder's theme stability over seed pairs beside the null's (a row)."""
    return pl.DataFrame({
        "model": [coder], "pairs": [stability.height], "mean_ari": [stability["ari"].mean()],
        "min_ari": [stability["ari"].min()], "mean_null_ari": [stability["null_ari"].mean()],
        "max_null_ari": [stability["null_ari"].max()], "null": [themes.NULL],
    }, schema={"model": pl.String, "pairs": pl.Int64, "mean_ari": pl.Float64, "min_ari": pl.Float64,
               "mean_null_ari": pl.Float64, "max_null_ari": pl.Float64, "null": pl.String})


def comparison_table(pairs: pl.DataFrame, *, without_direct: int = 0) -> pl.DataFrame:
    """How often the judge preferred the multi-step network, how often it picked the first shown, and
    the pairs left out: unparseable verdicts, and cases without a parseable direct network.
    """
    from scipy import stats

    ok = pairs.filter(pl.col("status") == "ok")
    wins = int((ok["winner"] == "multi-step").sum())
    first = int(ok["picked_first"].sum())
    n = ok.height

    def interval(k):
        if not n:
            return float("nan"), float("nan")
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        return float(ci.low), float(ci.high)

    rows = [{"measure": "multi-step preferred", "count": wins, "n": n, "rate": wins / n if n else float("nan"),
             **dict(zip(("ci_low", "ci_high"), interval(wins), strict=True)),
             "p_value": float(stats.binomtest(wins, n).pvalue) if n else float("nan")},
            {"measure": "first shown picked", "count": first, "n": n, "rate": first / n if n else float("nan"),
             **dict(zip(("ci_low", "ci_high"), interval(first), strict=True)),
             "p_value": float(stats.binomtest(first, n).pvalue) if n else float("nan")},
            {"measure": "unparseable", "count": pairs.height - n, "n": pairs.height,
             "rate": (pairs.height - n) / pairs.height if pairs.height else float("nan"), "ci_low": float("nan"),
             "ci_high": float("nan"), "p_value": float("nan")},
            {"measure": "pairs without a direct network", "count": without_direct, "n": pairs.height + without_direct,
             "rate": without_direct / (pairs.height + without_direct) if pairs.height + without_direct else float("nan"),
             "ci_low": float("nan"), "ci_high": float("nan"), "p_value": float("nan")}]
    return pl.DataFrame(rows, schema={"measure": pl.String, "count": pl.Int64, "n": pl.Int64, "rate": pl.Float64,
                                      "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64})


