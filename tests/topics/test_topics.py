import numpy as np
import polars as pl
import pytest

from replisuite.topics.data import CounselChatError, credential_group, read_answers
from replisuite.topics.evaluate import jaccard, match_topics, npmi_coherence
from replisuite.topics.model import TopicModel, fit_bertopic, fit_nmf

GROUPS = {"counseling": r"\bLPC\b|[Cc]ounselor", "social work": r"\bLCSW\b"}


def test_credential_groups():
    assert credential_group("Jane Doe, LPC Anxiety", GROUPS) == "counseling"
    assert credential_group("Sherry Katz, LCSWCouples", GROUPS) == "unstated"  # no word boundary after LCSW
    assert credential_group("Sherry Katz, LCSW Couples", GROUPS) == "social work"
    assert credential_group("LPC and LCSW", GROUPS) == "multiple"
    assert credential_group(None, GROUPS) == "unstated"


def test_read_answers_dedupes_and_filters(tmp_path):
    path = tmp_path / "cc.csv"
    pl.DataFrame({
        "questionID": [1, 1, 2, 3], "topic": ["a", "a", "b", "c"],
        "therapistInfo": ["X, LPC", "Y, LCSW here", "Z", "W, LPC"],
        "answerText": ["Same   answer text here.", "Same answer text here.", "short", "Another answer."],
    }).write_csv(path)
    frame = read_answers(path, groups=GROUPS, min_chars=10)
    assert frame["text"].to_list() == ["Same answer text here.", "Another answer."]
    assert frame["group"].to_list() == ["counseling", "counseling"]
    assert frame["doc"].to_list() == list(range(frame.height))
    pl.DataFrame({"questionID": [1]}).write_csv(path)
    with pytest.raises(CounselChatError, match="missing column"):
        read_answers(path, groups=GROUPS, min_chars=0)


def test_npmi_by_hand():
    documents = ["cat dog", "cat dog", "fish bird", "fish bird"]
    assert npmi_coherence([["cat", "dog"]], documents) == pytest.approx([1.0])
    assert npmi_coherence([["cat", "fish"]], documents) == pytest.approx([-1.0])
    documents = ["cat dog", "cat", "dog", "cat dog fish", "fish"]
    p_c, p_d, p_cd = 3 / 5, 3 / 5, 2 / 5
    expected = np.log(p_cd / (p_c * p_d)) / -np.log(p_cd)
    assert npmi_coherence([["cat", "dog"]], documents) == pytest.approx([expected])


def test_matching_recovers_a_permutation():
    topics = [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]]
    shuffled = [topics[2], topics[0], ["d", "e", "x"]]
    pairs = sorted(match_topics(topics, shuffled))
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (1, 2), (2, 0)]
    assert pairs[1][2] == pytest.approx(jaccard(["d", "e", "f"], ["d", "e", "x"])) == pytest.approx(0.5)


THEMES = {"sleep": "sleep insomnia night tired bed rest", "anger": "anger rage yelling temper calm breathe",
          "grief": "grief loss mourning death memory sadness"}


def themed_corpus(n=60, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        theme = list(THEMES)[i % 3]
        texts.append(" ".join(rng.choice(THEMES[theme].split(), 8)) + " therapy")
        labels.append(theme)
    return texts, labels


def test_nmf_baseline_finds_the_themes():
    texts, labels = themed_corpus()
    model = fit_nmf(texts, n_topics=3, seed=0, vectorizer={"ngram_max": 1, "min_df": 1}, top_n=5)
    assignments = np.array(model.assignments)
    for theme in set(labels):
        members = assignments[np.array(labels) == theme]
        assert (members == members[0]).all()
    assert TopicModel.from_json(model.to_json()) == model


@pytest.mark.slow
def test_bertopic_is_seeded_and_recovers_planted_clusters():
    texts, labels = themed_corpus(n=90)
    rng = np.random.default_rng(1)
    centres = {label: rng.normal(size=16) * 5 for label in set(labels)}
    embeddings = np.stack([centres[label] + rng.normal(size=16) for label in labels]).astype(np.float32)
    options = dict(seed=3, umap={"n_neighbors": 10, "n_components": 3}, hdbscan={"min_cluster_size": 10, "min_samples": 3},
                   vectorizer={"ngram_max": 1, "min_df": 1}, top_n=5)
    first = fit_bertopic(texts, embeddings, **options)
    again = fit_bertopic(texts, embeddings, **options)
    assert first.assignments == again.assignments and first.words == again.words
    topics = [t for t in first.words if t != -1]
    assert len(topics) == 3
    for topic in topics:
        [theme] = {label for label, t in zip(labels, first.assignments, strict=True) if t == topic}
        assert set(first.words[topic][:3]) <= set(THEMES[theme].split())


def test_npmi_counts_words_the_way_the_topic_models_tokenised_them():
    """The models' analyzer turns "don't" into "don" (and drops the "t"): coherence must find "don"
    in those documents, or the models' top words look rarer than they are."""
    from sklearn.feature_extraction.text import CountVectorizer

    from replisuite.topics.model import TEXT_ANALYSIS

    documents = ["I don't sleep", "I don't eat", "sleep well", "eat well"]
    assert "don" in CountVectorizer(**TEXT_ANALYSIS).fit(documents).vocabulary_
    # "don" and "sleep" share one of four documents; "don" is in two, "sleep" in two
    expected = np.log(0.25 / (0.5 * 0.5)) / -np.log(0.25)
    assert npmi_coherence([["don", "sleep"]], documents) == pytest.approx([expected])
