# Data sources: every declared input is fetched (or read from the mirror) with its hash verified.


# Fetch logs live under logs/sources/, not logs/data/: a job withdraws the manifest of the study
# its log is filed under (replisuite.runlog), and an on-demand source fetched for another study
# (e.g. a PsychEval case file for roleplay) after the data study finished must not withdraw data's.
# A source the data study lists withdraws data's manifest itself (data_input).
rule fetch_source:
    output:
        f"{RAW_DIR}/{{source}}/{{filename}}",
    params:
        source=lambda wildcards: vars(SOURCES[wildcards.source]),
        data_input=lambda wildcards: wildcards.source in selected_sources(),
    log:
        "logs/sources/fetch_source/{source}/{filename}.log",
    benchmark:
        "logs/sources/fetch_source/{source}/{filename}.benchmark.tsv"
    wildcard_constraints:
        source="|".join(map(re.escape, SOURCES)),
        filename="[^/]+",
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(30),
    script:
        "../scripts/data/fetch_source.py"


rule summarise_sources:
    input:
        [raw_path(name) for name in selected_sources()],
    output:
        report(
            "results/data/tables/sources.csv",
            caption="../report/data/sources.rst",
            category="Data",
        ),
    params:
        sources=lambda wildcards: [vars(SOURCES[name]) for name in selected_sources()],
    log:
        "logs/data/summarise_sources.log",
    benchmark:
        "logs/data/summarise_sources.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(10),
    script:
        "../scripts/data/summarise_sources.py"


STUDY_OUTPUTS["data"] = rules.summarise_sources.output
STUDY_INPUTS["data"] = rules.summarise_sources.input
