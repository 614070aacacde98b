"""Against the authors' published records: our code reproduces their prompts, codes and rates."""

import polars as pl
import pytest

from replisuite.llm import LLM, ModelEntry, ResponseStore
from replisuite.stigma import analysis
from replisuite.stigma.ask import ask_stigma, judge_published
from replisuite.stigma.coding import agreement, parse_option
from replisuite.stigma.interjections import judge_messages, turns
from replisuite.stigma.records import import_judge_records, import_stigma_records
from replisuite.stigma.stimuli import check_against_published, load_protocol, read_jsonl, stigma_stimuli
from replisuite.stigma.study import stigma_directions


@pytest.fixture(scope="module")
def study(project_config):
    return project_config["stigma"]


@pytest.fixture(scope="module")
def protocol(study):
    return load_protocol(study["protocol"])


@pytest.fixture(scope="module")
def stimuli(raw, study):
    return stigma_stimuli(raw[study["sources"]["vignettes"]], raw[study["sources"]["questions"]])


def entry(project_config, name):
    values = project_config["llm"]["models"][name]
    return ModelEntry(name=name, backend=values["backend"], model=values["model"])


def test_generated_prompts_are_exactly_the_published_ones(raw, study, stimuli):
    assert stimuli.height == 72 * 14
    published = read_jsonl(raw[study["sources"]["prompts"]])
    assert [r["prompt"] for r in published] == stimuli["prompt"].to_list()
    check_against_published(stimuli, {r["prompt"] for r in published}, source="prompts")
    for files in study["published"].values():
        for source in files["stigma"].values():
            assert {r["prompt"] for r in read_jsonl(raw[source])} == set(stimuli["prompt"]), source


def test_answer_parsing_and_agreement_reproduce_every_published_record(raw, study):
    checked = 0
    for files in study["published"].values():
        for source in files["stigma"].values():
            for record in read_jsonl(raw[source]):
                answer = parse_option(record["output"], record["options"])
                assert answer == record["answer"], (source, record["output"])
                code = agreement(answer, record["options"])
                assert (code != code and record["code"] is None) or code == record["code"]
                checked += 1
    assert checked == 12 * 1008


def test_replayed_stigma_codes_equal_the_published_table_row_for_row(raw, study, stimuli, protocol, tmp_path, project_config):
    frames = []
    with ResponseStore(tmp_path / "stigma") as store:
        for name, files in study["published"].items():
            llm = LLM(entry(project_config, name), store)
            for condition, source in files["stigma"].items():
                steel = condition == "steel_man"
                import_stigma_records(raw[source], llm, steel_man=steel, protocol=protocol,
                                      prompts=set(stimuli["prompt"]), params=study["stigma_params"])
                frames.append(ask_stigma(llm, stimuli, steel_man=steel, protocol=protocol, method="generate",
                                         params=study["stigma_params"], directions=stigma_directions(study)))
            assert llm.provenance()["new_calls"] == 0 and llm.provenance()["cache_hits"] == 2016
    answers = pl.concat(frames)
    check = analysis.compare_stigma_with_published(answers, stimuli, raw[study["sources"]["combined_stigma"]],
                                                   {m: m for m in study["published"]})
    assert check.height == 5  # llama2-7b is not in the published table
    assert (check["published_rows"] == check["matched_rows"]).all()
    assert (check["equal_codes"] == check["published_rows"]).all()
    assert (check["our_coded_rows"] == check["published_rows"]).all()
    assert check["published_rows"].sum() == 1614


def test_rebuilt_judge_prompts_equal_the_published_ones(raw, study, protocol):
    compared = 0
    for files in study["published"].values():
        for source in files["interjections"].values():
            for record in read_jsonl(raw[source]):
                response = record["model_response"]
                # the published response is cut at 1,024 characters; the judge saw it whole
                if not record["classification_prompt"] or not response or len(response) >= 1024:
                    continue
                messages = judge_messages(question=record["verification_prompt"], options=record["verification_options"],
                                          query=turns(record["interjection"])[-1], response=response, protocol=protocol)
                assert [{"role": m.role, "content": m.content} for m in messages] == record["classification_prompt"]
                compared += 1
    assert compared > 4000


def test_appropriateness_from_raw_records_equals_the_published_table(raw, study, tmp_path, project_config):
    frames = []
    with ResponseStore(tmp_path / "judge") as store:
        judge = LLM(entry(project_config, study["published_judge"]), store)
        for name, files in study["published"].items():
            for condition, source in files["interjections"].items():
                import_judge_records(raw[source], judge, source=source, verdict_field=study["published_verdict_field"],
                                     params=study["judge_params"])
                frames.append(judge_published(raw[source], judge, source=source, model=name, steel_man=condition == "steel_man",
                                              contextualize=condition == "contextualized",
                                              verdict_field=study["published_verdict_field"], judge_params=study["judge_params"]))
    verdicts = pl.concat(frames)
    check = analysis.compare_interjections_with_published(verdicts, raw[study["sources"]["combined_interjections"]],
                                                          {m: m for m in study["published"]})
    assert check.height == 25 and check["equal"].all()
    assert (check["published_n"] == check["our_n"]).all()


def test_judge_agreement_and_human_baselines(raw, study):
    kappa = analysis.judge_agreement(raw[study["sources"]["judge_validation"]], judge_field=study["published_verdict_field"],
                                     annotators=["annotator_1_classification", "annotator_2_classification"])
    assert kappa.height == 3 and (kappa["cohen_kappa"] > 0.9).all() and (kappa["n"] >= 98).all()
    humans = analysis.human_verdicts({label: raw[s] for label, s in study["human_graded"].items()})
    therapists = humans.filter(pl.col("model") == "human therapists")
    assert therapists.height == 80 and therapists["appropriate"].mean() == pytest.approx(0.9375)
    gss = analysis.gss_baseline(raw[study["sources"]["gss_2018"]], stigma_directions(study))
    assert gss.height == 6 * 4 and gss["rate"].is_between(0, 1).all()
