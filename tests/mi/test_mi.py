import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from sklearn.metrics import cohen_kappa_score, f1_score

from replisuite.mi.analysis import annotator_agreement, logit_odds_ratio, quality_association, session_rates
from replisuite.mi.classify import cross_validate, f1_scores
from replisuite.mi.data import AnnoMIError, majority, read_annomi, task_frame, utterances

COLUMNS = ["mi_quality", "transcript_id", "topic", "utterance_id", "interlocutor", "utterance_text", "annotator_id",
           "main_therapist_behaviour", "client_talk_type", "reflection_subtype", "question_subtype", "therapist_input_subtype"]


def row(t, u, speaker, text, behaviour="n/a", talk="n/a", annotator=1, quality="high", reflection="n/a"):
    return [quality, t, "x", u, speaker, text, annotator, behaviour, talk, reflection, "n/a", "n/a"]


def test_majority_and_ties():
    assert majority(["a", "b", "a"]) == "a"
    assert majority(["a", "b"]) is None


def test_utterances_context_and_majority_labels():
    rows = [
        row(0, 0, "therapist", "How are you?", "question"),
        row(0, 1, "client", "Fine.", talk="neutral"),
        *[row(0, 2, "therapist", "You feel fine.", b, annotator=a, reflection=r)
          for a, (b, r) in enumerate([("reflection", "simple"), ("reflection", "simple"), ("question", "n/a")])],
        row(1, 0, "client", "I want to quit.", talk="change"),
    ]
    frame = utterances(pl.DataFrame(rows, schema=COLUMNS, orient="row"))
    assert frame.height == 4
    assert frame["previous_text"].to_list() == ["", "How are you?", "Fine.", ""]
    third = frame.row(2, named=True)
    assert third["therapist_behaviour"] == "reflection" and third["reflection_subtype"] == "simple" and third["annotators"] == 3
    assert frame.row(1, named=True)["therapist_behaviour"] is None and frame.row(1, named=True)["client_talk_type"] == "neutral"
    assert task_frame(frame, "client_talk_type")["utterance_text"].to_list() == ["Fine.", "I want to quit."]
    with pytest.raises(AnnoMIError, match="unknown task"):
        task_frame(frame, "empathy")


def test_read_annomi_names_what_is_wrong(tmp_path):
    path = tmp_path / "a.csv"
    pl.DataFrame([row(0, 0, "client", "x")], schema=COLUMNS, orient="row").drop("annotator_id").write_csv(path)
    with pytest.raises(AnnoMIError, match=r"a.csv: missing column\(s\) \['annotator_id'\]"):
        read_annomi(path)
    pl.DataFrame([row(0, 0, "client", "x", quality="medium")], schema=COLUMNS, orient="row").write_csv(path)
    with pytest.raises(AnnoMIError, match="medium"):
        read_annomi(path)


def synthetic(n_transcripts=20, per=30, seed=0):
    rng = np.random.default_rng(seed)
    words = {"question": "what how why do you", "reflection": "you feel it sounds like", "other": "okay yes right mm hmm"}
    rows = []
    for t in range(n_transcripts):
        for u in range(per):
            label = rng.choice(list(words))
            text = " ".join(rng.choice(words[label].split(), 4))
            rows.append({"transcript_id": t, "utterance_id": u, "mi_quality": "high" if t % 3 else "low",
                         "utterance_text": text, "previous_text": "", "therapist_behaviour": label})
    return pl.DataFrame(rows)


def test_cross_validation_holds_out_whole_transcripts_and_learns():
    frame = synthetic()
    predictions = cross_validate(frame, "therapist_behaviour", classifier="tfidf+context", n_splits=5, seed=3,
                                 tfidf={"ngram_max": 1, "min_df": 1}, C=1.0)
    assert predictions.group_by("transcript_id").agg(pl.col("fold").n_unique())["fold"].max() == 1
    assert predictions["fold"].n_unique() == 5
    scores = f1_scores(predictions, n_boot=200, seed=0)
    macro = scores.filter(pl.col("class") == "macro").row(0, named=True)
    assert macro["f1"] > 0.9 and macro["ci_low"] <= macro["f1"] <= macro["ci_high"]
    expected = f1_score(predictions["label"], predictions["predicted"], average=None, labels=sorted(set(predictions["label"])))
    assert scores.filter(pl.col("class") != "macro")["f1"].to_list() == pytest.approx(expected.tolist())
    with pytest.raises(ValueError, match="need the text embeddings"):
        cross_validate(frame, "therapist_behaviour", classifier="embedding", n_splits=5, seed=3, tfidf={}, C=1.0)


def test_embedding_classifier_uses_the_vectors():
    frame = synthetic(seed=1)
    rng = np.random.default_rng(0)
    centres = {label: rng.normal(size=8) for label in frame["therapist_behaviour"].unique()}
    vectors = {text: centres[label] + rng.normal(scale=0.1, size=8)
               for text, label in zip(frame["utterance_text"], frame["therapist_behaviour"])}
    vectors[""] = np.zeros(8)
    predictions = cross_validate(frame, "therapist_behaviour", classifier="embedding+context", n_splits=4, seed=0,
                                 tfidf={}, C=1.0, vectors=vectors)
    assert (predictions["label"] == predictions["predicted"]).mean() > 0.9


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
    assert row["converged"] is False and row["odds_ratio_per_sd"] is None or np.isnan(row["odds_ratio_per_sd"])
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
