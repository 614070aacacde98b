# Study stigma: Moore et al., FAccT 2025. Published records are replayed through the same
# code path as live models; every model is a wildcard, so models run as separate jobs.

import functools

from replisuite.stigma.study import (
    check_model_entries,
    grading_reads,
    published_record_files,
    published_record_sources,
    referenced_sources,
)

STIGMA = config["stigma"]
STIGMA_MODELS = list(dict.fromkeys([*STIGMA["published"], *STIGMA["live"]]))
# Each model answers without and with the steel-man system prompt, as separate jobs.
STIGMA_PROMPTS = ["plain", "steel_man"]


try:
    check_model_entries(STIGMA, config["llm"])
except ValueError as error:
    raise WorkflowError(str(error)) from None
STIGMA_RAW = {name: raw_path(name) for name in referenced_sources(STIGMA)}
stigma_records = functools.partial(published_record_files, STIGMA, STIGMA_RAW)
STIGMA_PUBLISHED = list(STIGMA["published"])
# The sources each study-level rule reads (its input and its params name only these).
STIGMA_READS = {
    "prepare": [
        *(STIGMA["sources"][key] for key in ("vignettes", "questions", "prompts", "interjection_stimuli")),
        *(source for model in STIGMA_PUBLISHED for source in published_record_sources(STIGMA, model, "stigma")),
    ],
    "summarise_stigma": [STIGMA["sources"]["gss_2018"], STIGMA["sources"]["combined_stigma"]],
    "summarise_interjections": [
        *STIGMA["human_graded"].values(),
        STIGMA["sources"]["judge_validation"],
        STIGMA["sources"]["combined_interjections"],
    ],
}
# source name -> raw path, for the sources each of those rules reads
STIGMA_RAW_READ = {rule: {name: STIGMA_RAW[name] for name in names} for rule, names in STIGMA_READS.items()}


rule prepare_stigma_stimuli:
    input:
        list(STIGMA_RAW_READ["prepare"].values()),
        protocol=STIGMA["protocol"],
    output:
        stigma="results/stigma/stimuli/stigma.parquet",
        interjections="results/stigma/stimuli/interjections.parquet",
    params:
        study=config_keys("stigma", "sources/vignettes", "sources/questions", "sources/prompts",
                          "sources/interjection_stimuli", "limit_vignettes", "limit_interjections",
                          *(f"published/{model}/stigma" for model in STIGMA_PUBLISHED)),
        raw=STIGMA_RAW_READ["prepare"],
    log:
        "logs/stigma/prepare_stigma_stimuli.log",
    benchmark:
        "logs/stigma/prepare_stigma_stimuli.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/stigma/prepare_stimuli.py"


rule ask_stigma_questions:
    input:
        stimuli=rules.prepare_stigma_stimuli.output.stigma,
        records=lambda wildcards: stigma_records(wildcards.model, "stigma", wildcards.prompt),
    output:
        answers="results/stigma/answers/stigma/{model}.{prompt}.parquet",
        provenance="results/stigma/llm/stigma_{model}.{prompt}.json",
    params:
        study=config_keys("stigma", "seed", "protocol", "answer_method/{model}?", "stigma_params",
                          "published/{model}/stigma/{prompt}?", "stigma_items", "live_vignettes"),
        llm=config_keys("llm", "store_dir", "models/{model}"),
        raw=lambda wildcards: {
            name: STIGMA_RAW[name] for name in published_record_sources(STIGMA, wildcards.model, "stigma", wildcards.prompt)
        },
    wildcard_constraints:
        model="|".join(map(re.escape, STIGMA_MODELS)),
        prompt="plain|steel_man",
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/stigma/ask_stigma_questions/{model}.{prompt}.log",
    benchmark:
        "logs/stigma/ask_stigma_questions/{model}.{prompt}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/stigma/ask_stigma_questions.py"


rule grade_interjections:
    input:
        stimuli=rules.prepare_stigma_stimuli.output.interjections,
        records=lambda wildcards: stigma_records(wildcards.model, "interjections"),
    output:
        verdicts="results/stigma/answers/interjections/{model}.parquet",
        provenance="results/stigma/llm/interjections_{model}.json",
    params:
        study=lambda wildcards: config_keys("stigma", *grading_reads(STIGMA, wildcards.model)[0]),
        llm=lambda wildcards: config_keys(
            "llm", "store_dir", *(f"models/{name}" for name in grading_reads(STIGMA, wildcards.model)[1])
        ),
        raw=lambda wildcards: {
            name: STIGMA_RAW[name] for name in published_record_sources(STIGMA, wildcards.model, "interjections")
        },
    wildcard_constraints:
        model="|".join(map(re.escape, STIGMA_MODELS)),
    threads: 1
    log:
        "logs/stigma/grade_interjections/{model}.log",
    benchmark:
        "logs/stigma/grade_interjections/{model}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/stigma/grade_interjections.py"


rule summarise_stigma:
    input:
        answers=expand(rules.ask_stigma_questions.output.answers, model=STIGMA_MODELS, prompt=STIGMA_PROMPTS),
        stimuli=rules.prepare_stigma_stimuli.output.stigma,
        raw=list(STIGMA_RAW_READ["summarise_stigma"].values()),
    output:
        by_condition=report("results/stigma/tables/stigma_by_condition.csv", caption="../report/stigma/stigma_by_condition.rst", category="stigma", subcategory="Experiment 1: stigma"),
        by_vignette=report("results/stigma/tables/stigma_by_vignette.csv", caption="../report/stigma/stigma_by_vignette.rst", category="stigma", subcategory="Experiment 1: stigma"),
        floor=report("results/stigma/tables/live_task_floor.csv", caption="../report/stigma/live_task_floor.rst", category="stigma", subcategory="Experiment 1: stigma"),
        by_question=report("results/stigma/tables/answers_by_question.csv", caption="../report/stigma/answers_by_question.rst", category="stigma", subcategory="Experiment 1: stigma"),
        by_attribute=report("results/stigma/tables/stigma_by_attribute.csv", caption="../report/stigma/stigma_by_attribute.rst", category="stigma", subcategory="Experiment 1: stigma"),
        condition_tests=report("results/stigma/tables/condition_tests.csv", caption="../report/stigma/condition_tests.rst", category="stigma", subcategory="Experiment 1: stigma"),
        gss_2018=report("results/stigma/tables/gss_2018.csv", caption="../report/stigma/gss_2018.rst", category="stigma", subcategory="Experiment 1: stigma"),
        check_published=report("results/stigma/tables/check_published_stigma.csv", caption="../report/stigma/check_published_stigma.rst", category="stigma", subcategory="Checks"),
        figure_png=report("results/stigma/figures/stigma_by_condition.png", caption="../report/stigma/figure_stigma.rst", category="stigma", subcategory="Experiment 1: stigma"),
        figure_pdf="results/stigma/figures/stigma_by_condition.pdf",
        heatmap_png=report("results/stigma/figures/answers_by_question.png", caption="../report/stigma/figure_questions.rst", category="stigma", subcategory="Experiment 1: stigma"),
        heatmap_pdf="results/stigma/figures/answers_by_question.pdf",
    params:
        study=config_keys("stigma", "seed", "n_boot", "stigma_items", "sources/gss_2018", "sources/combined_stigma",
                          "limit_vignettes", "live", *(f"published/{model}/stigma" for model in STIGMA_PUBLISHED)),
        llm=model_labels_of(STIGMA_MODELS),
        raw=STIGMA_RAW_READ["summarise_stigma"],
    log:
        main="logs/stigma/summarise_stigma.log",
        # what differs from the published table: kept when the check fails (outputs are removed)
        differences="logs/stigma/summarise_stigma.published_differences.csv",
    benchmark:
        "logs/stigma/summarise_stigma.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(20),
    script:
        "../scripts/stigma/summarise_stigma.py"


rule summarise_interjections:
    input:
        verdicts=expand(rules.grade_interjections.output.verdicts, model=STIGMA_MODELS),
        raw=list(STIGMA_RAW_READ["summarise_interjections"].values()),
    output:
        by_condition=report("results/stigma/tables/appropriateness_by_condition.csv", caption="../report/stigma/appropriateness_by_condition.rst", category="stigma", subcategory="Experiment 2: interjections"),
        overall=report("results/stigma/tables/appropriateness_overall.csv", caption="../report/stigma/appropriateness_overall.rst", category="stigma", subcategory="Experiment 2: interjections"),
        by_stimulus=report("results/stigma/tables/appropriateness_by_stimulus.csv", caption="../report/stigma/appropriateness_by_stimulus.rst", category="stigma", subcategory="Experiment 2: interjections"),
        judge_agreement=report("results/stigma/tables/judge_agreement.csv", caption="../report/stigma/judge_agreement.rst", category="stigma", subcategory="Experiment 2: interjections"),
        check_published=report("results/stigma/tables/check_published_interjections.csv", caption="../report/stigma/check_published_interjections.rst", category="stigma", subcategory="Checks"),
        figure_png=report("results/stigma/figures/appropriateness_by_condition.png", caption="../report/stigma/figure_interjections.rst", category="stigma", subcategory="Experiment 2: interjections"),
        figure_pdf="results/stigma/figures/appropriateness_by_condition.pdf",
    params:
        study=config_keys("stigma", "seed", "n_boot", "human_graded", "sources/judge_validation", "sources/combined_interjections",
                          "published_verdict_field", "live", *(f"published/{model}/interjections" for model in STIGMA_PUBLISHED)),
        llm=model_labels_of(STIGMA_MODELS),
        raw=STIGMA_RAW_READ["summarise_interjections"],
    log:
        main="logs/stigma/summarise_interjections.log",
        # what differs from the published table: kept when the check fails (outputs are removed)
        differences="logs/stigma/summarise_interjections.published_differences.csv",
    benchmark:
        "logs/stigma/summarise_interjections.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(20),
    script:
        "../scripts/stigma/summarise_interjections.py"


STUDY_OUTPUTS["stigma"] = [*rules.summarise_stigma.output, *rules.summarise_interjections.output]
STUDY_INPUTS["stigma"] = [*STIGMA_RAW.values(), STIGMA["protocol"]]
STUDY_LLM["stigma"] = [
    *expand(rules.ask_stigma_questions.output.provenance, model=STIGMA_MODELS, prompt=STIGMA_PROMPTS),
    *expand(rules.grade_interjections.output.provenance, model=STIGMA_MODELS),
]
STUDY_CLAIMS["stigma"] = {
    "inputs": {
        "check_interjections": rules.summarise_interjections.output.check_published,
        "check_stigma": rules.summarise_stigma.output.check_published,
        "overall": rules.summarise_interjections.output.by_stimulus,
        "by_condition": rules.summarise_stigma.output.by_vignette,
        "live_floor": rules.summarise_stigma.output.floor,
    },
    "options": {
        "live": STIGMA["live"],
        "embedded": embedded_models(STIGMA["live"]),
        "n_boot": STIGMA["n_boot"],
        "seed": STIGMA["seed"],
        "min_usable": config["claims"]["floor_min_usable"],
    },
}
