"""Preference pairs, question-grouped splits, the published-format loader, Bradley-Terry against an
independent logistic fit, planted features that reward models must learn (and a null they must not),
calibration, and agreement of principle scores with upvotes."""

import json

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from replisuite.judge.judging import JUDGEMENT_SCHEMA
from replisuite.preference.pairs import (PreferenceDataError, check_splits, counselchat_pairs, pair_statistics,
                                         read_published_pairs, split_by_question)
from replisuite.preference.pipeline import principle_agreement
from replisuite.preference.reward import (accuracy_table, calibration_table, fit_bradley_terry, predictions,
                                          select_l2, tfidf_differences, trained_rewards)

FILLER = "we can talk about what happened this week and how the days have felt so far".split()


def write_counselchat(path, rows):
    frame = pl.DataFrame(rows, schema=["questionID", "questionTitle", "questionText", "answerText", "upvotes"], orient="row")
    frame.with_columns(pl.lit("x").alias("topic")).write_csv(path)
    return path


def test_pairs_within_a_question_prefer_the_upvoted_answer_and_count_what_is_dropped(tmp_path):
    path = write_counselchat(tmp_path / "cc.csv", [
        (1, "Sad", "I feel low.", "Answer A", 3), (1, "Sad", "I feel low.", "Answer B", 1),
        (1, "Sad", "I feel low.", "Answer C", 1), (1, "Sad", "I feel low.", "Answer  A", 0),
        (2, "Lonely", "No friends.", "Answer D", 2), (2, "Lonely", "No friends.", "", 5),
        (3, "Alone", "Only one answer.", "Answer E", 4)])
    pairs, dropped = counselchat_pairs(path, min_margin=1)
    assert set(zip(pairs["chosen"], pairs["rejected"], strict=True)) == {("Answer A", "Answer B"), ("Answer A", "Answer C")}
    assert pairs["margin"].to_list() == [2.0, 2.0] and (pairs["question_id"] == "1").all()
    assert dropped["tie"] == 1 and dropped["duplicate_reply"] == 1 and dropped["empty_reply"] == 1
    strict, dropped = counselchat_pairs(path, min_margin=3)
    assert strict.height == 0 and dropped["below_margin"] == 2
    with pytest.raises(ValueError, match="ties are never pairs"):
        counselchat_pairs(path, min_margin=0)


def test_the_per_question_cap_keeps_the_same_pairs_whatever_the_row_order(tmp_path):
    rows = [(7, "t", "q", f"Answer {i}", i) for i in range(6)]
    forward = counselchat_pairs(write_counselchat(tmp_path / "a.csv", rows), min_margin=1, max_pairs_per_question=4)
    backward = counselchat_pairs(write_counselchat(tmp_path / "b.csv", rows[::-1]), min_margin=1, max_pairs_per_question=4)
    assert forward[1]["over_question_cap"] == 15 - 4
    assert set(zip(forward[0]["chosen"], forward[0]["rejected"], strict=True)) == set(zip(backward[0]["chosen"], backward[0]["rejected"], strict=True))


def test_splits_are_by_question_and_a_leak_is_named(tmp_path):
    rows = [(q, "t", f"question {q}", f"Answer {q}-{i}", i) for q in range(40) for i in range(3)]
    pairs, dropped = counselchat_pairs(write_counselchat(tmp_path / "cc.csv", rows), min_margin=1)
    split = split_by_question(pairs, test_share=0.3, seed=1)
    per_question = split.group_by("question_id").agg(pl.col("split").n_unique())
    assert (per_question["split"] == 1).all()
    assert 0.1 < split.filter(pl.col("split") == "test")["question_id"].n_unique() / 40 < 0.5
    leaked = split.with_columns(pl.when(pl.col("pair_id") == split["pair_id"][0]).then(pl.lit("test"))
                                .otherwise(pl.lit("train")).alias("split"))
    with pytest.raises(PreferenceDataError, match=f"question {split['question_id'][0]} is in splits"):
        check_splits(leaked)
    stats = dict(pair_statistics(split, dropped).iter_rows())
    assert stats["pairs"] == 120 and stats["questions"] == 40 and stats["pairs_train"] + stats["pairs_test"] == 120


def chat_pair(question, chosen, rejected):
    return {"chosen": [{"role": "user", "content": question}, {"role": "assistant", "content": chosen}],
            "rejected": [{"role": "user", "content": question}, {"role": "assistant", "content": rejected}]}


def test_the_published_chosen_rejected_format_loads_and_drops_with_counts(tmp_path):
    path = tmp_path / "pairs.jsonl"
    lines = [chat_pair("I can't sleep.", "That sounds exhausting.", "Sleep more."),
             chat_pair("I can't sleep.", "Same reply.", "Same reply."),
             chat_pair("I'm anxious.", "", "Calm down."),
             {"prompt": [{"role": "user", "content": "Work stresses me."}],
              "chosen": [{"role": "assistant", "content": "What part weighs most?"}],
              "rejected": [{"role": "assistant", "content": "Quit."}]}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    pairs, dropped = read_published_pairs(path)
    assert pairs["chosen"].to_list() == ["That sounds exhausting.", "What part weighs most?"]
    assert pairs["question"].to_list() == ["I can't sleep.", "Work stresses me."]
    assert dropped == {"empty_reply": 1, "identical_replies": 1}
    assert pairs["question_id"][0] == read_published_pairs(path)[0]["question_id"][0]   # stable across processes


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", r"pairs.jsonl:2: not JSON"),
    (json.dumps({"chosen": []}), r"pairs.jsonl:2: missing field\(s\) \['rejected'\]"),
    (json.dumps({"chosen": [{"role": "user", "content": "q"}], "rejected": [{"role": "user", "content": "q"}]}),
     r"pairs.jsonl:2 chosen: the last message must be the assistant's reply"),
    (json.dumps({"chosen": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "x"}],
                 "rejected": [{"role": "user", "content": "b"}, {"role": "assistant", "content": "y"}]}),
     r"pairs.jsonl:2: chosen and rejected must share the conversation"),
])
def test_a_malformed_published_line_is_an_error_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(chat_pair("q", "a", "b")) + "\n" + line + "\n")
    with pytest.raises(PreferenceDataError, match=message):
        read_published_pairs(path)


def test_bradley_terry_equals_an_independent_logistic_fit():
    rng = np.random.default_rng(3)
    d = rng.normal(size=(400, 3))
    truth = np.array([1.5, -1.0, 0.5])
    prefer_first = rng.random(400) < 1 / (1 + np.exp(-d @ truth))
    # each comparison oriented at random: statsmodels sees (sign * d, sign > 0), a plain logit without intercept
    sign = np.where(rng.random(400) < 0.5, 1.0, -1.0)
    differences = np.where(prefer_first[:, None], d, -d)          # winner minus loser
    reference = sm.Logit((sign > 0).astype(float), sign[:, None] * differences).fit(disp=0).params
    ours = fit_bradley_terry(differences, l2=0.0)
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-5)
    assert np.sign(ours).tolist() == np.sign(truth).tolist()


def planted_pairs(n_questions, *, planted=True, seed=0):
    """Pairs whose chosen reply carries the word 'understandable' (planted) or whose labels are coin flips
    (null); both replies have the same length, so length cannot explain a preference."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_questions):
        for k in range(3):
            words = list(rng.choice(FILLER, size=12))
            good = " ".join(words[:6] + ["understandable"] + words[6:])
            bad = " ".join(words[:6] + ["whatever"] + words[6:])
            if not planted and rng.random() < 0.5:
                good, bad = bad, good
            rows.append((f"p{q}-{k}", f"q{q}", f"question {q}", good, bad, np.nan, np.nan, np.nan,
                         "test" if q % 3 == 0 else "train"))
    return pl.DataFrame(rows, schema=["pair_id", "question_id", "question", "chosen", "rejected", "chosen_score",
                                      "rejected_score", "margin", "split"], orient="row")


@pytest.mark.parametrize("planted", [True, False])
def test_a_planted_word_is_learnt_by_the_lexical_reward_model_and_noise_is_not(planted):
    pairs = planted_pairs(60, planted=planted, seed=1)
    train, test = pairs.filter(pl.col("split") == "train"), pairs.filter(pl.col("split") == "test")
    features = {"tfidf": tfidf_differences(train, test, min_df=1, max_features=500)}
    predicted, _, _ = trained_rewards(train, test, features=features, l2_grid={"tfidf": [0.1, 1.0]})
    row = accuracy_table(predicted, n_boot=500, seed=0).row(0, named=True)
    if planted:
        assert row["accuracy"] > 0.95 and row["ci_low"] > 0.5
    else:
        assert row["ci_low"] < 0.5 < row["ci_high"]


def test_cross_validation_prefers_a_strong_penalty_on_noise():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(200, 30))
    groups = np.repeat(np.arange(40), 5)
    signal = noise.copy()
    signal[:, 0] += 3.0                                            # the winner always has more of feature 0
    assert select_l2(noise, groups, [0.01, 100.0]) == 100.0
    assert select_l2(signal, groups, [0.01, 100.0]) == 0.01


def test_a_calibrated_predictor_lies_on_the_diagonal_and_the_coin_flip_row_is_shown():
    rng = np.random.default_rng(0)
    n = 4000
    p = rng.uniform(0.05, 0.95, size=n)
    chosen_first = rng.random(n) < p        # the pair is oriented so that P(chosen) == p really holds
    margin = np.log(p / (1 - p))
    frame = pl.DataFrame({"pair_id": [f"p{i}" for i in range(n)], "question_id": [f"q{i // 4}" for i in range(n)]})
    predicted = predictions(frame, "calibrated", np.where(chosen_first, margin, -margin))
    table = calibration_table(predicted, bins=5, seed=0)
    assert np.abs(table["mean_predicted"] - table["observed"]).max() < 0.05
    accuracy = accuracy_table(predicted, n_boot=200, seed=0)
    assert accuracy["model"].to_list() == ["calibrated", "coin flip"]


def test_principle_agreement_counts_ties_and_reports_the_length_baseline():
    sample = pl.DataFrame({"pair_id": ["a", "b", "c"], "question_id": ["q1", "q1", "q2"], "chosen": ["one two three", "one", "one two"],
                           "rejected": ["one", "one two", "one two"]})
    rows = []
    for pair, chosen, rejected in (("a", 4, 2), ("b", 3, 3), ("c", 5, 1)):
        for side, score in (("chosen", chosen), ("rejected", rejected)):
            rows.append({"unit": f"{pair}/{side}", "rubric": "psychocounsel", "item": "empathy", "repeat": 0,
                         "score": score, "rationale": "", "status": "ok", "method": "loglik", "repaired": False,
                         "request_key": "k"})
    table = principle_agreement(sample, pl.DataFrame(rows, schema=JUDGEMENT_SCHEMA), judge="j", n_boot=200, seed=0)
    by = {r["principle"]: r for r in table.iter_rows(named=True)}
    assert (by["empathy"]["agree"], by["empathy"]["ties"], by["empathy"]["agreement"]) == (2, 1, 1.0)
    assert by["total"]["agree"] == 2
    length = by["longer reply (baseline)"]
    assert (length["agree"], length["disagree"], length["ties"]) == (1, 1, 1)


def test_reward_claim_must_beat_the_better_of_length_and_the_coin():
    from replisuite.preference.claims import reward_claim

    def accuracy(model, low, length):
        return pl.DataFrame({"model": ["embedding+length", "length", "embedding", "tfidf"],
                             "accuracy": [model, length, 0.55, 0.5], "ci_low": [low, None, None, None],
                             "ci_high": [model + 0.1, None, None, None], "pairs": [100] * 4, "questions": [30] * 4})
    assert reward_claim(accuracy(0.75, 0.66, 0.6)).verdict == "reproduced"
    # above the coin but its interval reaches what length alone gets
    assert reward_claim(accuracy(0.75, 0.62, 0.64)).verdict == "not reproduced"
    assert reward_claim(accuracy(0.55, 0.51, 0.4)).verdict == "reproduced"
    assert reward_claim(accuracy(0.55, 0.49, 0.4)).verdict == "not reproduced"


def test_policy_claim_says_self_judged_and_a_position_following_judge_is_below_its_floor():
    from replisuite.preference.claims import policy_claims, principle_claims

    def policy(judge, consistent):
        return pl.DataFrame({"measure": ["judge win rate of dpo over base"], "judge": [judge], "estimate": [0.8],
                             "ci_low": [0.6], "ci_high": [0.95], "questions": [10], "judged": [10],
                             "consistent": [consistent], "note": ["n"]})
    own = policy_claims(policy("base-model", 9), base="base-model", embedded=[])[0]
    assert own.verdict == "reproduced" and "self-judged" in own.note and own.task_floor == "passed"
    other = policy_claims(policy("other", 9), base="base-model", embedded=[])[0]
    assert "self-judged" not in other.note
    follows = policy_claims(policy("other", 0), base="base-model", embedded=[])[0]
    assert follows.verdict == "not comparable" and "0 of 10 questions order-consistent" in follows.note
    tied = pl.DataFrame({"judge": ["j", "j"], "principle": ["total", "longer reply (baseline)"], "agreement": [0.9, 0.5],
                         "ci_low": [0.7, None], "ci_high": [1.0, None], "pairs": [20, 20], "agree": [2, 10],
                         "disagree": [0, 10], "ties": [18, 0]})
    claim = principle_claims(tied, embedded=[])[0]
    assert claim.verdict == "not comparable" and "2 of 20 pairs not tied" in claim.note


def test_principle_agreement_resamples_questions():
    from replisuite.preference.pipeline import principle_agreement

    # 4 questions x 10 pairs: within a question the judge agrees with every pair or none
    sample = pl.DataFrame({"pair_id": [f"p{i}" for i in range(40)], "question_id": [f"q{i // 10}" for i in range(40)],
                           "chosen": ["a b c"] * 40, "rejected": ["a b"] * 40})
    rows = []
    for i in range(40):
        agree = i // 10 in (0, 1)
        for side, score in (("chosen", 3 if agree else 1), ("rejected", 1 if agree else 3)):
            rows.append({"unit": f"p{i}/{side}", "item": "empathy", "score": score, "status": "ok"})
    table = principle_agreement(sample, pl.DataFrame(rows), judge="j", n_boot=1000, seed=1)
    total = table.filter(pl.col("principle") == "total").row(0, named=True)
    # over 4 questions the interval is wide; over 40 pairs treated as independent it would be about 0.35-0.65
    assert total["agreement"] == 0.5 and total["ci_high"] - total["ci_low"] > 0.6
