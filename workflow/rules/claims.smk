# The scorecard: each study states the paper's claims with our verdicts (results/<study>/claims.csv),
# and one rule collects them into results/scorecard.csv and a figure, first in the report.
#
# A study registers STUDY_CLAIMS[study] = {"inputs": {name: table}, "options": {...}}: the tables
# its replisuite.<study>.claims.claims_from_files reads, and the options it takes (only those, so
# editing any other config key leaves its claims alone).

SCORECARD_CATEGORY = "1. Scorecard"


rule state_claims:
    input:
        unpack(lambda wildcards: STUDY_CLAIMS[wildcards.study]["inputs"]),
    output:
        report(
            "results/{study}/claims.csv",
            caption="../report/claims.rst",
            category=SCORECARD_CATEGORY,
            labels={"study": "{study}"},
        ),
    params:
        options=lambda wildcards: STUDY_CLAIMS[wildcards.study]["options"],
    wildcard_constraints:
        study="|".join(map(re.escape, STUDY_CLAIMS)) or "no-study",
    log:
        "logs/{study}/state_claims.log",
    benchmark:
        "logs/{study}/state_claims.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(5),
    script:
        "../scripts/state_claims.py"


rule write_scorecard:
    input:
        expand("results/{study}/claims.csv", study=sorted(STUDY_CLAIMS)),
    output:
        table=report("results/scorecard.csv", caption="../report/scorecard.rst", category=SCORECARD_CATEGORY),
        png=report("results/scorecard.png", caption="../report/scorecard_figure.rst", category=SCORECARD_CATEGORY),
        pdf="results/scorecard.pdf",
        models=report("results/scorecard_models.csv", caption="../report/scorecard_models.rst", category=SCORECARD_CATEGORY),
        models_png=report("results/scorecard_models.png", caption="../report/scorecard_models_figure.rst",
                          category=SCORECARD_CATEGORY),
        models_pdf="results/scorecard_models.pdf",
    log:
        "logs/write_scorecard.log",
    benchmark:
        "logs/write_scorecard.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(5),
    script:
        "../scripts/write_scorecard.py"
