"""The shared coding layer: AnnoMI utterances and codes, transcript-held-out classifiers."""

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import f1_score

from replisuite.coding.annomi import (
    THERAPIST_CODE,
    AnnoMIError,
    majority,
    read_annomi,
    task_frame,
    therapist_codes,
    utterances,
)
from replisuite.coding.classifier import cross_validate, f1_scores
from tests.mi.test_mi import COLUMNS, row


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
               for text, label in zip(frame["utterance_text"], frame["therapist_behaviour"], strict=True)}
    vectors[""] = np.zeros(8)
    predictions = cross_validate(frame, "therapist_behaviour", classifier="embedding+context", n_splits=4, seed=0,
                                 tfidf={}, C=1.0, vectors=vectors)
    assert (predictions["label"] == predictions["predicted"]).mean() > 0.9



def test_therapist_codes_refine_the_main_behaviour_by_its_subtype():
    rows = [
        row(1, 0, "therapist", "That sounds hard.", behaviour="reflection", reflection="complex"),
        row(1, 1, "client", "It is.", talk="neutral"),
        row(1, 2, "therapist", "How often?", behaviour="question"),
        row(1, 3, "therapist", "Hello.", behaviour="other"),
        row(1, 4, "therapist", "You feel stuck.", behaviour="reflection", reflection="simple"),
    ]
    frame = utterances(pl.DataFrame(rows, schema=COLUMNS, orient="row"))
    codes = therapist_codes(frame)
    assert codes[THERAPIST_CODE].to_list() == ["reflection:complex", "question", "other", "reflection:simple"]
    assert codes["utterance_id"].to_list() == [0, 2, 3, 4]  # client turns carry no therapist code
