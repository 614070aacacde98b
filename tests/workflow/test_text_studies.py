"""The mi and topics studies end to end on the real inputs, with small configurations."""

import json

import polars as pl
import pytest

from tests.conftest import real_data_copy, rerun_plan, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    def small(config):
        config["mi"].update(tasks=["therapist_behaviour", "question_subtype"], classifiers=["tfidf", "tfidf+context"],
                            n_splits=3, n_boot=200)
        config["topics"].update(seeds=[1, 2], max_documents=400, hdbscan={"min_cluster_size": 10, "min_samples": 3})

    work, env = real_data_copy(tmp_path_factory, "text", small)
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default",
              "results/mi/manifest.json", "results/topics/manifest.json")
    return work, env


def test_mi_outputs(text_run):
    work, _ = text_run
    f1 = pl.read_csv(work / "results/mi/tables/f1.csv")
    assert set(f1["task"]) == {"therapist_behaviour", "question_subtype"} and set(f1["classifier"]) == {"tfidf", "tfidf+context"}
    macro = f1.filter((pl.col("class") == "macro") & (pl.col("task") == "therapist_behaviour"))
    assert (macro["f1"] > 0.6).all()  # four classes: chance is about 0.25
    quality = pl.read_csv(work / "results/mi/tables/codes_vs_quality.csv")
    reflection = quality.filter((pl.col("source") == "annotated") & (pl.col("code") == "reflection")).row(0, named=True)
    assert reflection["difference"] > 0 and reflection["p_bh"] < 0.05  # reflections go with high-quality MI
    agreement = pl.read_csv(work / "results/mi/tables/annotator_agreement.csv")
    assert agreement.height == 2 and agreement["fleiss_kappa"].is_between(0.3, 0.9).all()
    manifest = json.loads((work / "results/mi/manifest.json").read_text())
    assert manifest["config"]["mi"]["n_splits"] == 3 and manifest["inputs"][0]["path"].endswith("AnnoMI-full.csv")


def test_topics_outputs(text_run):
    work, _ = text_run
    topics = pl.read_csv(work / "results/topics/tables/topics.csv")
    assert topics.filter(pl.col("topic") != -1).height >= 3
    stability = pl.read_csv(work / "results/topics/tables/stability.csv")
    assert stability["seed"].to_list() == [2] and stability["mean_overlap"][0] > 0.2
    coherence = pl.read_csv(work / "results/topics/tables/coherence.csv")
    assert set(coherence["model"]) == {"bertopic", "tfidf+nmf"} and coherence["npmi"].is_between(-1, 1).all()
    by_group = pl.read_csv(work / "results/topics/tables/topic_sizes_by_group.csv")
    assert {"counseling", "social work"} <= set(by_group["group"])
    for figure in ("topic_sizes_by_group", "topic_words", "document_map"):
        assert (work / f"results/topics/figures/{figure}.png").stat().st_size > 1000


def test_rerun_is_a_noop_and_embeddings_are_cached(text_run):
    work, env = text_run
    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default",
                      "results/mi/manifest.json", "results/topics/manifest.json")
    assert "Nothing to be done" in again.stdout + again.stderr
    assert sum(f.stat().st_size for f in (work / "data/llm/topics").glob("*.shard")) > 400 * 384 * 4



def test_one_config_key_reruns_only_the_jobs_that_read_it(text_run):
    work, env = text_run
    targets = ["results/mi/manifest.json", "results/topics/manifest.json"]
    by_params, scheduled = rerun_plan(work, env, targets, {"mi/n_boot": 300})
    assert by_params == {"summarise_mi": 1}
    assert "classify_utterances" not in scheduled
    by_params, scheduled = rerun_plan(work, env, targets, {"topics/top_n_words": 8})
    assert by_params == {"fit_topics": 1}  # one job fits 2 seeds + 2 groups; summarise_topics follows its inputs
    assert "embed_answers" not in scheduled
