# Study care: a model coder per configured model codes the interview excerpts; the summary gives
# inter-coder agreement, model-vs-human agreement, code frequencies, co-occurrence and journeys.
# The shipped excerpts and codings are illustrative, written by the project (config/care/).

CARE = config["care"]
CARE_INPUTS = {"excerpts": CARE["excerpts"], "codings": CARE["codings"], "codebook": codebook_file(CARE["codebook"])}
CARE_TABLES = ["agreement", "model_agreement", "model_spans", "frequencies", "cooccurrence", "journeys"]
CARE_FIGURES = ["cooccurrence", "timelines"]


rule code_care_excerpts:
    input:
        **CARE_INPUTS,
    output:
        codings="results/care/codings/{care_model}.parquet",
        provenance="results/care/llm/{care_model}.json",
    params:
        study=config_keys("care", "seed", "codebook", "reference_coder", "shots", "coder_params"),
        llm=config_keys("llm", "store_dir", "models/{care_model}"),
    wildcard_constraints:
        care_model="|".join(map(re.escape, CARE["coders"])) or "no-model",
    threads: 1
    log:
        "logs/care/code_care_excerpts/{care_model}.log",
    benchmark:
        "logs/care/code_care_excerpts/{care_model}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/care/code_excerpts.py"


rule summarise_care:
    input:
        **CARE_INPUTS,
        model_codings=expand(rules.code_care_excerpts.output.codings, care_model=CARE["coders"]),
    output:
        **{name: report(f"results/care/tables/{name}.csv", caption=f"../report/care/{name}.rst", category="care")
           for name in CARE_TABLES},
        **{f"figure_{name}": report(f"results/care/figures/{name}.png", caption=f"../report/care/figure_{name}.rst",
                                    category="care") for name in CARE_FIGURES},
        **{f"pdf_{name}": f"results/care/figures/{name}.pdf" for name in CARE_FIGURES},
    params:
        study=config_keys("care", "seed", "n_boot", "codebook", "reference_coder", "match", "timeline_codes"),
        tables=CARE_TABLES,
        figures=CARE_FIGURES,
    log:
        "logs/care/summarise_care.log",
    benchmark:
        "logs/care/summarise_care.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/care/summarise.py"


STUDY_OUTPUTS["care"] = rules.summarise_care.output
STUDY_INPUTS["care"] = list(CARE_INPUTS.values())
STUDY_LLM["care"] = expand(rules.code_care_excerpts.output.provenance, care_model=CARE["coders"])
STUDY_CLAIMS["care"] = {
    "inputs": {"agreement": rules.summarise_care.output.agreement,
               "model_agreement": rules.summarise_care.output.model_agreement},
    "options": {"embedded": embedded_models(CARE["coders"]), "min_usable": config["claims"]["floor_min_usable"]},
}
