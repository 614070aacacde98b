"""Rubrics as data: the shipped rubrics, scoring at boundaries, and malformed files refused by name."""

from pathlib import Path

import pytest
import yaml

from replisuite.judge.rubrics import RubricError, load_rubric, resolve, shipped


def test_shipped_rubrics_have_the_published_shapes():
    rubrics = shipped()
    assert {"ctrs", "sqpsych", "psyllm", "psychocounsel", "miti_globals", "wai_sf", "srs", "ctrs6"} <= set(rubrics)
    assert len(rubrics["ctrs"].items) == 11 and rubrics["ctrs"].total_range() == (0.0, 66.0)
    sq = rubrics["sqpsych"]
    assert len(sq.items) == 18 and sq.total_range() == (0.0, 36.0)
    assert {k: len(v) for k, v in sq.subscales.items()} == {"therapist": 9, "client": 4, "overall": 5}
    assert [(i.scale.min, i.scale.max) for i in rubrics["psyllm"].items] == [(0, 2), (0, 3), (0, 3), (0, 1)]
    assert len(rubrics["psychocounsel"].items) == 7
    for name in ("miti_globals", "wai_sf", "ctrs6"):  # PsychEval's subset, on 0-10
        assert rubrics[name].total_range() == pytest.approx((0.0, 10.0)), name


def test_ctrs_cut_off_at_40_of_66():
    ctrs = shipped()["ctrs"]
    ids = [item.id for item in ctrs.items]
    below = dict(zip(ids, [4] * 9 + [1, 2], strict=True))  # 36 + 3 = 39
    at = {**below, "homework": 3}  # 40
    assert ctrs.total(below) == 39 and ctrs.band(39) == "below competence"
    assert ctrs.total(at) == 40 and ctrs.band(ctrs.total(at)) == "competent"
    assert ctrs.total({**at, "agenda": None}) is None  # nothing is imputed


def test_psycheval_rescalings_and_sqpsych_total():
    rubrics = shipped()
    miti = rubrics["miti_globals"]
    assert miti.rescaled("empathy", 1) == 0 and miti.rescaled("empathy", 5) == 10 and miti.rescaled("empathy", 3) == 5
    assert miti.total({i.id: 4 for i in miti.items}) == pytest.approx(7.5)
    ctrs6 = rubrics["ctrs6"]
    assert ctrs6.rescaled("focus", 6) == pytest.approx(10) and ctrs6.rescaled("focus", 3) == pytest.approx(5)
    sq = rubrics["sqpsych"]
    assert sq.total({i.id: 2 for i in sq.items}) == 36 and sq.total({i.id: 0 for i in sq.items}) == 0
    assert sq.total({i.id: 1 for i in sq.items}, tuple(sq.subscales["client"])) == 4
    with pytest.raises(RubricError, match="item empathy: score 6 is not an integer from 1 to 5"):
        miti.rescaled("empathy", 6)


def write(tmp_path, **changes):
    values = {"id": "toy", "name": "Toy", "citation": "c", "licence": "ours", "instructions": "Rate.",
              "scale": {"min": 1, "max": 5, "anchors": [{"value": 1, "text": "low"}, {"value": 5, "text": "high"}]},
              "items": [{"id": "a", "text": "A"}, {"id": "b", "text": "B", "reverse": True}], "scoring": "sum"}
    values.update(changes)
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_reverse_keying_and_local_rubric_files(tmp_path):
    toy = load_rubric(write(tmp_path))
    assert toy.total({"a": 5, "b": 5}) == 6  # b reversed: 1
    assert set(resolve(["toy", "ctrs"], [str(write(tmp_path))])) == {"toy", "ctrs"}
    with pytest.raises(RubricError, match=r"unknown rubric\(s\) \['nope'\]"):
        resolve(["nope"])


@pytest.mark.parametrize(("changes", "message"), [
    ({"scale": None}, "item a: has no scale"),
    ({"scale": {"min": 1, "max": 5, "anchors": [{"value": 2, "text": "x"}, {"value": 2, "text": "y"}]}},
     "anchors overlap: two anchors for the value 2"),
    ({"scale": {"min": 1, "max": 5, "anchors": [{"value": 7, "text": "x"}]}}, "anchor 7 lies outside the scale 1-5"),
    ({"items": [{"id": "a", "text": "A"}, {"id": "a", "text": "B"}]}, r"duplicate item id\(s\) \['a'\]"),
    ({"subscales": {"s": ["a", "zz"]}}, r"subscales.s: item\(s\) \['zz'\] do not exist"),
    ({"bands": {"ranges": [{"min": 2, "max": 6, "label": "lo"}, {"min": 6, "max": 10, "label": "hi"}]}}, "overlaps"),
    ({"bands": {"ranges": [{"min": 2, "max": 5, "label": "lo"}, {"min": 7, "max": 10, "label": "hi"}]}}, "gap between"),
    ({"scoring": "median"}, "scoring must be one of"),
])
def test_malformed_rubrics_are_refused_by_name(tmp_path, changes, message):
    with pytest.raises(RubricError, match=message):
        load_rubric(write(tmp_path, **changes))


def test_psycheval_published_prompts_load_with_their_conversions(published):
    """PsychEval's own judge prompts (declared sources, CC BY-NC 4.0) as rubrics beside our paraphrases."""
    from replisuite.judge.rubrics import PSYCHEVAL, published_prompts

    paths = {group: sorted(Path(published).glob(f"raw.githubusercontent.com/ECNU-ICALK/PsychEval/*/eval/prompts_cn/{group}/*.txt"))
             for group in ("miti", "ctrs")}
    miti = published_prompts("psycheval_miti_cn", paths["miti"], **PSYCHEVAL)
    ctrs = published_prompts("psycheval_ctrs_cn", paths["ctrs"], **PSYCHEVAL)
    # the JSON keys as published (two with spaces)
    assert {i.id for i in miti.items} == {"cultivating change talk", "softening sustain talk", "partnership", "empathy"}
    assert {i.id for i in ctrs.items} == {"understanding", "interpersonal_effectiveness", "collaboration",
                                          "guided_discovery", "focus", "strategy"}
    assert (miti.items[0].scale.min, miti.items[0].scale.max) == (1, 5) and [a for a, _ in ctrs.items[0].scale.anchors] == [0, 2, 4, 6]
    assert miti.rescaled("empathy", 1) == 0 and miti.rescaled("empathy", 4) == pytest.approx(7.5)  # (s-1) x 2.5
    assert ctrs.rescaled("focus", 3) == pytest.approx(5) and ctrs.total_range() == pytest.approx((0, 10))  # s/6 x 10
    assert all("{{diag}}" in item.prompt and item.prompt.startswith("你是") for item in miti.items)
    with pytest.raises(RubricError, match="different scales"):
        published_prompts("mixed", [paths["miti"][0], paths["ctrs"][0]], **PSYCHEVAL)
