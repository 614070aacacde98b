import pytest
import yaml

from replisuite.instruments import InstrumentError, load_instrument, score, shipped


@pytest.fixture(scope="module")
def library():
    return shipped()


def answers_summing_to(instrument, total):
    """Answers (by value) whose sum is ``total``: as many maximal answers as fit, then the rest."""
    top = max(instrument.values)
    answers, left = {}, total
    for item in instrument.items:
        value = min(top, left)
        answers[item.id] = value
        left -= value
    assert left == 0
    return answers


@pytest.mark.parametrize(
    "instrument, boundaries",
    [
        ("phq9", [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
                  (15, "moderately severe"), (19, "moderately severe"), (20, "severe"), (27, "severe")]),
        ("gad7", [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
                  (15, "severe"), (21, "severe")]),
    ],
)
def test_bands_at_every_published_cut_off(library, instrument, boundaries):
    questionnaire = library[instrument]
    for total, band in boundaries:
        result = score(questionnaire, answers_summing_to(questionnaire, total))
        assert (result.total, result.band) == (total, band)


def test_phq9_worked_example_by_labels(library):
    # Kroenke et al.: "Several days" = 1, "More than half the days" = 2, "Nearly every day" = 3
    labels = ["Several days", "More than half the days", "Nearly every day", "Not at all", "Several days",
              "Not at all", "More than half the days", "Not at all", "Not at all"]
    result = score(library["phq9"], dict(zip([str(i) for i in range(1, 10)], labels, strict=True)))
    assert result.total == 9 and result.band == "mild" and result.answered == 9


def test_mini_ipip_reverse_keying(library):
    questionnaire = library["mini_ipip"]
    all_very_accurate = score(questionnaire, {item.id: "Very accurate" for item in questionnaire.items})
    # Extraversion: 1 and 11 keyed +, 6 and 16 reversed: 5 + 5 + 1 + 1
    assert all_very_accurate.subscales["extraversion"] == 12
    # Intellect/imagination: 5 keyed +, 10, 15 and 20 reversed
    assert all_very_accurate.subscales["intellect_imagination"] == 8
    assert all_very_accurate.band is None  # no published cut-offs
    neutral = score(questionnaire, {item.id: 3 for item in questionnaire.items})
    assert set(neutral.subscales.values()) == {12.0}


def test_nothing_is_imputed(library):
    result = score(library["gad7"], {"1": 3, "2": None})
    assert result.total is None and result.band is None and result.answered == 1
    with pytest.raises(InstrumentError, match="gad7: item 1: answer 'Sometimes'"):
        score(library["gad7"], {"1": "Sometimes"})
    with pytest.raises(InstrumentError, match=r"item\(s\) \['99'\]"):
        score(library["gad7"], {"99": 1})


def write(tmp_path, **changes):
    values = yaml.safe_load(open("src/replisuite/instruments/data/gad7.yaml").read())
    values.update(changes)
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_bad_instrument_files_are_refused_naming_what_is_wrong(tmp_path):
    options = [{"label": "Never", "value": 0}, {"label": "Always"}]
    with pytest.raises(InstrumentError, match=r"gad7: options\[1\] \('Always'\): missing or non-integer field 'value'"):
        load_instrument(write(tmp_path, options=options))
    with pytest.raises(InstrumentError, match=r"gad7: reverse_keyed: item\(s\) \['12'\] do not exist"):
        load_instrument(write(tmp_path, reverse_keyed=["12"]))
    with pytest.raises(InstrumentError, match=r"gad7: subscales.worry: item\(s\) \['8'\] do not exist"):
        load_instrument(write(tmp_path, subscales={"worry": ["1", "8"]}))
    overlapping = {"citation": "x", "ranges": [{"min": 0, "max": 10, "label": "low"}, {"min": 10, "max": 21, "label": "high"}]}
    with pytest.raises(InstrumentError, match="gad7: bands: 'low' .* overlaps 'high'"):
        load_instrument(write(tmp_path, bands=overlapping))
    gapped = {"citation": "x", "ranges": [{"min": 0, "max": 9, "label": "low"}, {"min": 11, "max": 21, "label": "high"}]}
    with pytest.raises(InstrumentError, match="gad7: bands: gap between 'low' .* and 'high'"):
        load_instrument(write(tmp_path, bands=gapped))
    short = {"citation": "x", "ranges": [{"min": 0, "max": 20, "label": "all"}]}
    with pytest.raises(InstrumentError, match="must cover 0-21"):
        load_instrument(write(tmp_path, bands=short))


def test_shipped_instruments_record_their_source_and_licence(library):
    assert set(library) == {"phq9", "gad7", "mini_ipip", "bdi2_topics", "hama"}
    for instrument in library.values():
        assert instrument.citation and instrument.licence and instrument.source.startswith("https://")
