"""Personalised process networks: themes of one client as nodes, edges from co-occurrence in the
session (within a window of the client's utterances) with a model's explanation of each relation,
and, for comparison, a network a model writes directly from the transcript.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import networkx as nx
import polars as pl

from replisuite.judge.judging import extract_json
from replisuite.llm import LLM, Message

EDGE_SCHEMA = {"case": pl.String, "method": pl.String, "source": pl.String, "target": pl.String, "weight": pl.Float64,
               "explanation": pl.String, "request_key": pl.String}
NODE_SCHEMA = {"case": pl.String, "method": pl.String, "theme": pl.String, "processes": pl.Int64}


def cooccurrence_edges(processes: pl.DataFrame, *, window: int) -> pl.DataFrame:
    """Per case, every two distinct themes whose processes lie within ``window`` utterances of each
    other (by ``order``); the weight counts such pairs of processes.
    """
    rows = []
    for (case,), frame in processes.sort("order").group_by("case", maintain_order=True):
        items = list(zip(frame["order"], frame["theme"], strict=True))
        counts: dict[tuple[str, str], int] = {}
        for (o1, t1), (o2, t2) in itertools.combinations(items, 2):
            if t1 != t2 and abs(o1 - o2) <= window:
                key = tuple(sorted((t1, t2)))
                counts[key] = counts.get(key, 0) + 1
        rows += [{"case": case, "source": a, "target": b, "weight": float(w)} for (a, b), w in sorted(counts.items())]
    return pl.DataFrame(rows, schema={"case": pl.String, "source": pl.String, "target": pl.String, "weight": pl.Float64})


def explanation_messages(transcript: str, source: str, target: str) -> list[Message]:
    """The messages asking a model to explain, in one sentence, how theme ``source`` relates to ``target`` for a client."""
    return [Message("system", "You are a clinical psychologist building a client's process network."),
            Message("user", f"Client's words in the session:\n{transcript}\n\nIn one sentence, how does '{source}' relate "
                            f"to '{target}' for this client?")]


def explain_edges(llm: LLM, edges: pl.DataFrame, transcripts: Mapping[str, str], *, max_edges: int,
                  params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """The ``max_edges`` heaviest edges of each case with a model's explanation (stored requests)."""
    kept = edges.sort(["case", "weight", "source", "target"], descending=[False, True, False, False]).group_by(
        "case", maintain_order=True).head(max_edges)
    requests = [llm.request(explanation_messages(transcripts[c], s, t), **dict(params or {}))
                for c, s, t in kept.select("case", "source", "target").iter_rows()]
    responses = llm.run(requests).responses if requests else []
    return kept.with_columns(
        pl.lit("multi-step").alias("method"),
        pl.Series("explanation", [" ".join(r.text.split()) for r in responses], dtype=pl.String),
        pl.Series("request_key", [r.key for r in requests], dtype=pl.String),
    ).select(list(EDGE_SCHEMA))


def direct_messages(transcript: str) -> list[Message]:
    """The messages asking a model to draw a client's theme network in one step (the direct baseline)."""
    return [Message("system", "You are a clinical psychologist. Reply with JSON only."),
            Message("user", f"Client's words in a therapy session:\n{transcript}\n\nDraw this client's network of "
                            'psychological themes as {"nodes": ["theme", ...], "edges": [{"source": "theme", "target": '
                            '"theme", "explanation": "one sentence"}]}.')]


def direct_networks(llm: LLM, transcripts: Mapping[str, str], *, params: Mapping[str, Any] | None = None
                    ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """Direct prompting: one request per case for the whole network; nodes, edges (edges to nodes
    not listed add them) and each case's status (``ok`` or ``unparseable``).
    """
    cases = sorted(transcripts)
    requests = [llm.request(direct_messages(transcripts[c]), **dict(params or {})) for c in cases]
    responses = llm.run(requests).responses if requests else []
    nodes, edges, status = [], [], {}
    for case, request, response in zip(cases, requests, responses, strict=True):
        try:
            value = extract_json(response.text)
        except ValueError:
            status[case] = "unparseable"
            continue
        names = [str(n) for n in value.get("nodes") or [] if isinstance(n, (str, int))]
        for edge in value.get("edges") or []:
            if isinstance(edge, dict) and edge.get("source") and edge.get("target"):
                s, t = str(edge["source"]), str(edge["target"])
                names += [n for n in (s, t) if n not in names]
                edges.append({"case": case, "method": "direct", "source": s, "target": t, "weight": 1.0,
                              "explanation": " ".join(str(edge.get("explanation") or "").split()), "request_key": request.key})
        nodes += [{"case": case, "method": "direct", "theme": n, "processes": 0} for n in dict.fromkeys(names)]
        status[case] = "ok"
    return pl.DataFrame(nodes, schema=NODE_SCHEMA), pl.DataFrame(edges, schema=EDGE_SCHEMA), status


def graph(nodes: pl.DataFrame, edges: pl.DataFrame) -> nx.Graph:
    """One case's network as a networkx graph (node attribute ``processes``, edge ``weight``)."""
    g = nx.Graph()
    for theme, processes in nodes.select("theme", "processes").iter_rows():
        g.add_node(theme, processes=processes)
    for source, target, weight, explanation in edges.select("source", "target", "weight", "explanation").iter_rows():
        g.add_edge(source, target, weight=weight, explanation=explanation)
    return g


def graph_statistics(g: nx.Graph) -> dict[str, Any]:
    """Size, density, components and the most central node of a network."""
    degree = nx.degree_centrality(g) if g.number_of_nodes() > 1 else {n: 0.0 for n in g}
    central = max(degree, key=lambda n: (degree[n], n)) if degree else None
    return {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
            "density": float(nx.density(g)) if g.number_of_nodes() > 1 else 0.0,
            "components": nx.number_connected_components(g) if g.number_of_nodes() else 0,
            "most_central": central, "max_degree_centrality": float(degree[central]) if central else 0.0}


def render(g: nx.Graph) -> str:
    """A network as text, for a judge to read."""
    lines = ["Themes: " + ", ".join(sorted(g.nodes)) if g.number_of_nodes() else "Themes: (none)"]
    for s, t, data in sorted(g.edges(data=True)):
        lines.append(f"- {s} -- {t}: {data.get('explanation') or 'related'}")
    return "\n".join(lines)


def nodes_from_processes(processes: pl.DataFrame) -> pl.DataFrame:
    """One node per case and theme (with its number of processes) from the multi-step method's processes."""
    return processes.group_by("case", "theme").agg(pl.len().cast(pl.Int64).alias("processes")).with_columns(
        pl.lit("multi-step").alias("method")).select(list(NODE_SCHEMA)).sort("case", "theme")


def pair_messages_for_networks(context: str, first: str, second: str) -> list[Message]:
    """The messages asking a judge which of two networks better captures a client's processes (A or B)."""
    return [Message("system", "You are an experienced clinical psychologist reviewing case formulations."),
            Message("user", f"The client's words in a session:\n\n{context}\n\nNetwork A:\n{first}\n\nNetwork B:\n{second}"
                            "\n\nWhich network better captures this client's psychological processes and how they relate? "
                            "Answer A or B, and nothing else.")]


def transcripts_by_case(units: pl.DataFrame, *, max_chars: int) -> dict[str, str]:
    """Each case's client utterances in order, cut at ``max_chars``."""
    out = {}
    for (case,), frame in units.sort("order").group_by("case", maintain_order=True):
        out[case] = "\n".join(f"- {t}" for t in frame["text"])[:max_chars]
    return out


