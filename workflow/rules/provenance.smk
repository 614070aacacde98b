# Provenance: one manifest per study, and the configuration the run used.


rule write_manifest:
    input:
        outputs=lambda wildcards: [
            *STUDY_OUTPUTS[wildcards.study],
            *(["results/{study}/claims.csv"] if wildcards.study in STUDY_CLAIMS else []),
        ],
        inputs=lambda wildcards: STUDY_INPUTS[wildcards.study],
        llm=lambda wildcards: STUDY_LLM.get(wildcards.study, []),
    output:
        report(
            "results/{study}/manifest.json",
            caption="../report/manifest.rst",
            category="Provenance",
            labels={"study": "{study}"},
        ),
    params:
        config=lambda wildcards: study_config(wildcards.study),
        seed=config["seed"],
    log:
        "logs/{study}/write_manifest.log",
    benchmark:
        "logs/{study}/write_manifest.benchmark.tsv"
    wildcard_constraints:
        study="|".join(map(re.escape, STUDY_OUTPUTS)),
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(10),
    script:
        "../scripts/write_manifest.py"


rule dump_config:
    output:
        report(
            "results/config_used.yaml",
            caption="../report/config.rst",
            category="Configuration",
        ),
    params:
        config=config,
    log:
        "logs/dump_config.log",
    benchmark:
        "logs/dump_config.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(200),
        runtime=by_attempt(5),
    script:
        "../scripts/dump_config.py"
