import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from sklearn.metrics import cohen_kappa_score

from replisuite.coding.annomi import read_annomi, utterances
from replisuite.coding.rates import session_rates
from replisuite.mi.analysis import annotator_agreement, logit_odds_ratio, quality_association

COLUMNS = ["mi_quality", "transcript_id", "topic", "utterance_id", "interlocutor", "utterance_text", "annotator_id",
           "main_therapist_behaviour", "client_talk_type", "reflection_subtype", "question_subtype", "therapist_input_subtype"]


def row(t, u, speaker, text, behaviour="n/a", talk="n/a", annotator=1, quality="high", reflection="n/a"):
    return [quality, t, "x", u, speaker, text, annotator, behaviour, talk, reflection, "n/a", "n/a"]


def test_session_rates_and_quality_association_against_statsmodels():
    labels = pl.DataFrame({
        "transcript_id": [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 4],
        "mi_quality": ["high"] * 3 + ["low"] * 2 + ["high"] * 4 + ["low"] * 2 + ["high"],
        "label": ["r", "q", "r", "q", "q", "r", "r", "r", "q", "q", "r", "q"],
    })
    rates = session_rates(labels, task="t", source="annotated")
    assert rates.group_by("transcript_id").agg(pl.col("rate").sum())["rate"].to_list() == pytest.approx([1.0] * 5)
    reflection = rates.filter(pl.col("code") == "r").sort("transcript_id")
    assert reflection["rate"].to_list() == pytest.approx([2 / 3, 0.0, 0.75, 0.5, 0.0])
    result = quality_association(rates, n_boot=300, seed=0).filter(pl.col("code") == "r").row(0, named=True)
    high, low = np.array([2 / 3, 0.75, 0.0]), np.array([0.0, 0.5])
    assert result["difference"] == pytest.approx(high.mean() - low.mean())
    x = reflection["rate"].to_numpy()
    y = (reflection["mi_quality"] == "high").to_numpy().astype(float)
    fit = sm.Logit(y, sm.add_constant((x - x.mean()) / x.std())).fit(disp=0)
    assert result["odds_ratio_per_sd"] == pytest.approx(np.exp(fit.params[1]))
    assert result["converged"] and result["fit_note"] == ""


def test_logistic_fit_matches_sklearn_and_reports_separation_instead_of_an_odds_ratio(caplog):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    rate = rng.uniform(0, 1, 120)
    high = (rate + rng.normal(0, 0.3, 120) > 0.5).astype(float)
    odds, p, converged, note = logit_odds_ratio(rate, high)
    z = (rate - rate.mean()) / rate.std()
    reference = LogisticRegression(C=np.inf).fit(z[:, None], high)
    assert converged and note == "" and 0 < p < 0.05
    assert odds == pytest.approx(np.exp(reference.coef_[0, 0]), rel=1e-4)

    separated = (rate > 0.5).astype(float)
    odds, p, converged, note = logit_odds_ratio(rate, separated)
    assert not converged and np.isnan(odds) and np.isnan(p) and note
    assert logit_odds_ratio(np.full(6, 0.2), np.array([0, 1, 0, 1, 0, 1.0]))[2:] == (False, "constant rate")

    rates = pl.DataFrame({"task": "t", "source": "annotated", "transcript_id": range(120), "code": "r",
                          "mi_quality": np.where(separated == 1, "high", "low"), "rate": rate})
    with caplog.at_level("WARNING", logger="replisuite.mi"):
        row = quality_association(rates, n_boot=50, seed=0).row(0, named=True)
    assert row["converged"] is False
    assert row["odds_ratio_per_sd"] is None or np.isnan(row["odds_ratio_per_sd"])
    assert "did not converge" in caplog.text and row["difference"] > 0.4


def test_annotator_agreement_pairwise_kappa_matches_sklearn():
    rng = np.random.default_rng(5)
    truth = rng.choice(["question", "reflection", "other"], 60)
    rows = []
    for u, label in enumerate(truth):
        for annotator in range(3):
            noisy = label if rng.random() < 0.8 else rng.choice(["question", "reflection", "other"])
            rows.append(row(0, u, "therapist", "t", noisy, annotator=annotator))
    frame = pl.DataFrame(rows, schema=COLUMNS, orient="row")
    result = annotator_agreement(frame, tasks=["therapist_behaviour"]).row(0, named=True)
    labels = {a: frame.filter(pl.col("annotator_id") == a).sort("utterance_id")["main_therapist_behaviour"].to_list() for a in range(3)}
    expected = np.mean([cohen_kappa_score(labels[a], labels[b]) for a, b in ((0, 1), (0, 2), (1, 2))])
    assert result["mean_pairwise_cohen_kappa"] == pytest.approx(expected)
    assert result["utterances"] == 60 and result["annotators_per_utterance"] == 3 and 0.4 < result["fleiss_kappa"] < 0.9


def test_real_annomi_majority_labels_match_annomi_simple(tmp_path, published):
    from replisuite.data import fetch_all, load_sources

    sources = load_sources("config/sources.yaml")
    full, simple = fetch_all([sources["annomi_full"], sources["annomi_simple"]], tmp_path, mirror=published)
    ours = utterances(read_annomi(full))
    published = pl.read_csv(simple, infer_schema_length=None)
    assert ours.height == published.height == 9699
    joined = ours.join(published, on=["transcript_id", "utterance_id"])
    behaviour = joined.filter(pl.col("interlocutor") == "therapist")
    agree = (behaviour["therapist_behaviour"].fill_null("n/a") == behaviour["main_therapist_behaviour"]).mean()
    assert agree > 0.99
