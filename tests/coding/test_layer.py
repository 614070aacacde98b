"""The coding layer: codebooks, codings, agreement against reference implementations, span matching,
theme stability, networks, and the model coder (repair, examples, resume after a kill)."""

import json

import numpy as np
import polars as pl
import pytest
import yaml
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from replisuite.coding import networks, themes
from replisuite.coding.agreement import agreement, fleiss_kappa, span_scores, spans_match
from replisuite.coding.codebook import CodebookError, load_codebook, shipped
from replisuite.coding.coders import code_units, example_order, parse_codes
from replisuite.coding.codings import CodingsError, read_codings, read_excerpts
from replisuite.llm import LLM, LLMError, ModelEntry, ResponseStore, RunFailedError, ScriptedBackend

BOOK = {
    "id": "tiny", "name": "Tiny", "citation": "us", "licence": "MIT", "instructions": "Code it.",
    "dimensions": ["feel", "act"],
    "codes": [{"id": "sad", "name": "Sad", "definition": "Sadness.", "dimension": "feel", "valence": "maladaptive"},
              {"id": "help", "name": "Help", "definition": "Asks for help.", "dimension": "act", "valence": "adaptive"}],
}


def write_book(tmp_path, **changes):
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump({**BOOK, **changes}))
    return path


def test_shipped_codebooks_load_and_eemm_has_six_dimensions_two_ways():
    eemm = shipped("eemm")
    assert len(eemm.dimensions) == 6 and len(eemm.codes) == 12
    assert {c.valence for c in eemm.codes} == {"adaptive", "maladaptive"}
    assert shipped("care").illustrative


@pytest.mark.parametrize("changes, message", [
    ({"codes": []}, "codes: expected a non-empty list"),
    ({"codes": [BOOK["codes"][0], BOOK["codes"][0]]}, r"duplicate code id\(s\) \['sad'\]"),
    ({"codes": [{**BOOK["codes"][0], "dimension": "think"}, BOOK["codes"][1]]}, "dimension 'think' is not one of"),
    ({"codes": [{**BOOK["codes"][0], "valence": "good"}, BOOK["codes"][1]]}, "valence must be one of"),
    ({"codes": [{"id": "x", "name": "X", "dimension": "feel"}, BOOK["codes"][1]]}, r"codes\[0\] \(x\): missing field\(s\) \['definition'\]"),
    ({"dimensions": ["feel", "act", "think"]}, r"dimensions: \['think'\] have no code"),
])
def test_bad_codebooks_are_refused_by_file_and_field(tmp_path, changes, message):
    with pytest.raises(CodebookError, match=message):
        load_codebook(write_book(tmp_path, **changes))


def excerpts_file(tmp_path):
    path = tmp_path / "excerpts.yaml"
    path.write_text(yaml.safe_dump({"illustrative": True, "excerpts": [
        {"id": "a1", "participant": "a", "order": 1, "text": "I felt so sad and alone."},
        {"id": "a2", "participant": "a", "order": 2, "text": "Then I asked my brother for help."},
        {"id": "b1", "participant": "b", "order": 1, "text": "Nobody helped me at all."},
    ]}))
    return path


def test_codings_are_checked_against_codebook_and_texts(tmp_path):
    book = load_codebook(write_book(tmp_path))
    excerpts, provenance = read_excerpts(excerpts_file(tmp_path))
    assert provenance["illustrative"] is True
    good = tmp_path / "codings.csv"
    good.write_text("# a comment\nexcerpt_id,coder,code,span\na1,x,sad,so sad\na2,x,help,\n")
    codings = read_codings(good, codebook=book, excerpts=excerpts)
    assert codings.select("start", "end").rows() == [(7, 13), (0, 33)]  # an empty span is the whole excerpt
    for body, message in (("a1,x,angry,sad", "code 'angry' is not in codebook tiny"),
                          ("zz,x,sad,sad", "unknown excerpt 'zz'"),
                          ("a1,x,sad,happy", "span 'happy' is not in the excerpt's text")):
        bad = tmp_path / "bad.csv"
        bad.write_text(f"excerpt_id,coder,code,span\n{body}\n")
        with pytest.raises(CodingsError, match=rf"{bad}: row 1 .*{message}"):
            read_codings(bad, codebook=book, excerpts=excerpts)


def test_fleiss_kappa_equals_statsmodels():
    rng = np.random.default_rng(0)
    ratings = (rng.random((4, 60)) < 0.3).astype(int)
    ratings[1] = ratings[0]  # some agreement
    counts, _ = aggregate_raters(ratings.T)
    assert fleiss_kappa(ratings) == pytest.approx(statsmodels_fleiss(counts), abs=1e-12)


def nominal_alpha_two_coders(a, b):
    """Krippendorff's alpha, nominal, two coders, no missing values: from the coincidence matrix."""
    values = np.concatenate([a, b])
    n = values.size
    disagreements = 2 * np.sum(a != b)  # each disagreeing unit adds o_01 and o_10
    totals = np.bincount(values.astype(int), minlength=2)
    expected = (n * n - (totals**2).sum()) / (n - 1)
    return 1 - (n - 1) * disagreements / (expected * (n - 1)) if expected else float("nan")


def test_agreement_against_sklearn_and_a_hand_computed_alpha():
    rng = np.random.default_rng(1)
    units = [f"u{i}" for i in range(40)]
    rows = []
    truth = {u: rng.random(2) < 0.4 for u in units}
    for coder, flip in (("a", 0.0), ("b", 0.15)):
        for u in units:
            for k, code in enumerate(("sad", "help")):
                present = truth[u][k] != (rng.random() < flip)
                if present:
                    rows.append({"unit": u, "coder": coder, "code": code})
    codings = pl.DataFrame(rows)
    table = agreement(codings, units=units, coders=["a", "b"], codes=["sad", "help"], n_boot=200, seed=0)
    for code in ("sad", "help"):
        a = np.array([any(r["unit"] == u and r["coder"] == "a" and r["code"] == code for r in rows) for u in units], int)
        b = np.array([any(r["unit"] == u and r["coder"] == "b" and r["code"] == code for r in rows) for u in units], int)
        kappa = table.filter((pl.col("code") == code) & (pl.col("statistic") == "cohen_kappa"))["value"][0]
        alpha = table.filter((pl.col("code") == code) & (pl.col("statistic") == "krippendorff_alpha"))["value"][0]
        assert kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
        assert alpha == pytest.approx(nominal_alpha_two_coders(a, b), abs=1e-12)
    overall = table.filter((pl.col("code") == "overall") & (pl.col("statistic") == "cohen_kappa")).row(0, named=True)
    assert overall["units"] == 80 and overall["ci_low"] < overall["value"] < overall["ci_high"]


def spans(rows):
    return pl.DataFrame(rows, schema={"unit": pl.String, "code": pl.String, "start": pl.Int64, "end": pl.Int64}, orient="row")


def test_span_rules_and_scores_on_planted_spans():
    assert spans_match((0, 10), (0, 10), rule="exact") and not spans_match((0, 10), (0, 9), rule="exact")
    assert spans_match((0, 10), (9, 20), rule="overlap") and not spans_match((0, 10), (10, 20), rule="overlap")
    assert spans_match((0, 10), (2, 10), rule="iou", threshold=0.8) and not spans_match((0, 10), (5, 10), rule="iou", threshold=0.8)
    gold = spans([("u1", "sad", 0, 10), ("u1", "help", 20, 30), ("u2", "sad", 0, 5)])
    predicted = spans([("u1", "sad", 2, 8), ("u1", "sad", 3, 9), ("u1", "help", 0, 5), ("u2", "sad", 1, 4)])
    table = span_scores(gold, predicted, units=["u1", "u2"], codes=["sad", "help"], rule="overlap", n_boot=0, seed=0)
    micro = table.filter(pl.col("code") == "micro").row(0, named=True)
    # one-to-one: u1's two sad predictions share one gold span; help is on the wrong stretch
    assert (micro["matched"], micro["predicted"], micro["gold"]) == (2, 4, 3)
    assert micro["precision"] == 0.5 and micro["recall"] == pytest.approx(2 / 3) and micro["f1"] == pytest.approx(4 / 7)


def test_theme_clusters_are_stable_on_planted_clusters_and_not_on_noise():
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((4, 16)) * 5
    planted = np.concatenate([c + rng.standard_normal((15, 16)) * 0.3 for c in centres])
    stable = themes.stability(planted, n_clusters=4, seeds=[1, 2, 3])
    # the structureless null is far from 0 here (k-means restarts agree on any input): it can look stable
    assert stable["ari"].min() > 0.95 > stable["null_ari"].max() > 0.3
    noise = themes.stability(rng.standard_normal((60, 16)), n_clusters=4, seeds=[1, 2, 3])
    assert noise["ari"].min() < noise["null_ari"].max()   # noise does not beat its null


def test_structureless_embeddings_keep_marginals_and_norms_but_not_structure():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((30, 8))
    null = themes.structureless(vectors, seed=1)
    assert np.allclose(np.linalg.norm(null, axis=1), np.linalg.norm(vectors, axis=1))
    assert not np.allclose(null, vectors)


def test_network_edges_follow_the_planted_cooccurrence():
    processes = pl.DataFrame({"unit": [f"s-{i}" for i in range(6)], "case": "s", "order": [1, 2, 3, 10, 11, 30],
                              "theme": ["worry", "avoid", "worry", "hope", "worry", "avoid"]})
    edges = networks.cooccurrence_edges(processes, window=2)
    assert edges.select("source", "target", "weight").rows() == [("avoid", "worry", 2.0), ("hope", "worry", 1.0)]
    g = networks.graph(networks.nodes_from_processes(processes), edges.with_columns(pl.lit("").alias("explanation")))
    stats = networks.graph_statistics(g)
    assert (stats["nodes"], stats["edges"], stats["most_central"]) == (3, 2, "worry")


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")


def coder_llm(store, responder, name="coder"):
    return LLM(ModelEntry(name=name, backend="scripted", model=name), store, backend=ScriptedBackend(responder))


def test_parse_codes_records_what_is_wrong():
    book = shipped("care")
    rows, problem = parse_codes('```json\n{"codes": [{"code": "crisis", "span": "A&E"}]}\n```', "I was in A&E.", book)
    assert rows[0]["status"] == "ok" and (rows[0]["start"], rows[0]["end"]) == (9, 12) and not problem
    rows, problem = parse_codes('{"codes": [{"code": "panic", "span": "x"}, {"code": "crisis", "span": "ward"}]}', "A&E", book)
    assert [r["status"] for r in rows] == ["unknown_code", "span_not_found"] and "'panic' is not a code" in problem
    assert parse_codes("no json", "text", book)[0][0]["status"] == "unparseable"
    assert parse_codes('{"codes": []}', "text", book)[0][0]["status"] == "no_codes"


def units_frame():
    return pl.DataFrame({"unit": ["a1", "a2", "b1", "b2"], "case": ["a", "a", "b", "b"], "order": [1, 2, 1, 2],
                         "text": ["I felt so sad.", "I asked for help.", "So sad today.", "Help came."]})


def test_examples_come_from_other_cases_and_smaller_k_is_a_prefix():
    case_of = {"a1": "a", "a2": "a", "b1": "b", "b2": "b", "c1": "c"}
    order = example_order("a1", pool=list(case_of), case_of=case_of, seed=3)
    assert set(order) == {"b1", "b2", "c1"}
    assert order == example_order("a1", pool=list(reversed(case_of)), case_of=case_of, seed=3)  # by name, not position


def test_the_model_coder_repairs_once_and_keeps_the_better_reply(store, scripted):
    book = load_codebook(write_book_in(store))
    seen = []

    def responder(request):
        seen.append(request)
        last = request.messages[-1].content
        if "could not be used" in last:
            return '{"codes": [{"code": "sad", "span": "sad"}]}'
        return '{"codes": [{"code": "grief", "span": "sad"}]}'

    llm = coder_llm(store, responder)
    units = units_frame().head(1)
    rows = code_units(llm, book, units, pool_units=units_frame(), pool_codings=pl.DataFrame(
        {"unit": ["b1"], "code": ["sad"], "span": ["sad"]}), k=1, seed=0)
    assert rows["status"].to_list() == ["ok"] and rows["repaired"].to_list() == [True]
    first = seen[0].messages
    assert any("So sad today." in m.content for m in first) or any("Help came." in m.content for m in first)
    assert not any("I asked for help." in m.content for m in first[1:-1])  # no example from the unit's own case


def write_book_in(store):
    path = store.path.parent / "book.yaml"
    path.write_text(yaml.safe_dump(BOOK))
    return path


def test_a_killed_coding_job_resumes_without_resending_stored_requests(tmp_path, scripted):
    book = shipped("care")
    units = pl.DataFrame({"unit": [f"u{i}" for i in range(6)], "case": [f"c{i}" for i in range(6)],
                          "order": 1, "text": [f"I rang the helpline, day {i}." for i in range(6)]})
    calls = []

    def dies_after_three(request):
        if len(calls) >= 3:
            raise LLMError("killed")
        calls.append(request.key)
        return json.dumps({"codes": [{"code": "seeking_formal", "span": "I rang the helpline"}]})

    path = tmp_path / "care"
    with ResponseStore(path) as store, pytest.raises((RunFailedError, LLMError)):
        code_units(LLM(ModelEntry(name="m", backend="scripted", model="m"), store,
                       backend=ScriptedBackend(dies_after_three, max_concurrency=1)), book, units,
                   pool_units=units, pool_codings=units.head(0).select("unit").with_columns(
                       pl.lit("").alias("code"), pl.lit("").alias("span")), k=0, seed=0)
    answered = list(calls)
    resent = []

    def counts(request):
        resent.append(request.key)
        return json.dumps({"codes": [{"code": "seeking_formal", "span": "I rang the helpline"}]})

    with ResponseStore(path) as store:
        rows = code_units(LLM(ModelEntry(name="m", backend="scripted", model="m"), store, backend=ScriptedBackend(counts)),
                          book, units, pool_units=units, pool_codings=pl.DataFrame(schema={"unit": pl.String, "code": pl.String,
                                                                                          "span": pl.String}), k=0, seed=0)
    assert len(answered) == 3 and len(resent) == 3 and not set(resent) & set(answered)
    assert rows["status"].to_list() == ["ok"] * 6


def test_a_list_cut_by_the_token_limit_keeps_its_complete_entries():
    book = shipped("care")
    reply = '{"codes": [\n {"code": "crisis", "span": "A&E"},\n {"code": "crisis", "span": "A&E"},\n {"code": "barr'
    rows, problem = parse_codes(reply, "I was in A&E.", book)
    assert [(r["code"], r["status"]) for r in rows] == [("crisis", "ok")] and not problem


def test_theme_names_lose_the_models_preamble():
    assert themes.clean_name('The clinical theme is "Fear of relapse".', "t") == "Fear of relapse"
    assert themes.clean_name("Ambivalence about change\nand more", "t") == "Ambivalence about change"
    assert themes.clean_name("The clinical theme they share in", "theme 3") == "theme 3"
    assert themes.clean_name('The clinical theme they share in two to five words is "Family conflict', "t") == "Family conflict"


def test_the_timeline_figure_is_byte_stable_whatever_the_row_order(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import polars as pl

    from replisuite.coding.figures import timeline_figure
    from replisuite.plotting import save_figure

    excerpts = pl.DataFrame({"unit": [f"u{i}" for i in range(12)], "case": [f"c{i % 3}" for i in range(12)],
                             "order": [i // 3 for i in range(12)]})
    codings = pl.DataFrame({"unit": [f"u{i}" for i in range(12) for _ in range(2)],
                            "code": ["barrier", "crisis"] * 12})
    pdfs = []
    for seed in (1, 2):
        shuffled = codings.sample(fraction=1.0, shuffle=True, seed=seed)
        figure = timeline_figure(shuffled, excerpts.sample(fraction=1.0, shuffle=True, seed=seed),
                                 codes=["barrier", "crisis"], title="t")
        save_figure(figure, tmp_path / f"{seed}.png", tmp_path / f"{seed}.pdf")
        pdfs.append((tmp_path / f"{seed}.pdf").read_bytes())
    assert pdfs[0] == pdfs[1]
