# Study psaich: each model is one job (stage 1 then stage 2); its seeds' conversations advance
# together, so every turn is one batch of requests.

PSAICH = config["psaich"]


rule administer_psaich:
    input:
        protocol=PSAICH["protocol"],
        instruments=PSAICH["instrument_files"],
    output:
        transcript="results/psaich/transcripts/{model}.jsonl",
        answers="results/psaich/answers/{model}.parquet",
        provenance="results/psaich/llm/{model}.json",
    params:
        study=config_keys("psaich", "protocol", "instrument_files", "instruments", "sessions", "stage1_params", "seeds",
                          "modes", "answer_method/{model}?", "answer_params", "whole_tokens_per_item"),
        llm=config_keys("llm", "store_dir", "models/{model}"),
    wildcard_constraints:
        model="|".join(map(re.escape, PSAICH["models"])),
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/psaich/administer_psaich/{model}.log",
    benchmark:
        "logs/psaich/administer_psaich/{model}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/psaich/administer.py"


rule summarise_psaich:
    input:
        answers=expand(rules.administer_psaich.output.answers, model=PSAICH["models"]),
        transcripts=expand(rules.administer_psaich.output.transcript, model=PSAICH["models"]),
    output:
        scores=report("results/psaich/tables/scores.csv", caption="../report/psaich/scores.rst", category="psaich"),
        subscales=report("results/psaich/tables/subscales.csv", caption="../report/psaich/subscales.rst", category="psaich"),
        differences=report("results/psaich/tables/item_minus_whole.csv", caption="../report/psaich/differences.rst", category="psaich"),
        floor=report("results/psaich/tables/task_floor.csv", caption="../report/psaich/task_floor.rst", category="psaich"),
        transcripts=report("results/psaich/tables/transcript_stats.csv", caption="../report/psaich/transcripts.rst", category="psaich"),
        profile_png=report("results/psaich/figures/profile.png", caption="../report/psaich/figure_profile.rst", category="psaich"),
        profile_pdf="results/psaich/figures/profile.pdf",
        differences_png=report("results/psaich/figures/item_minus_whole.png", caption="../report/psaich/figure_differences.rst", category="psaich"),
        differences_pdf="results/psaich/figures/item_minus_whole.pdf",
    params:
        study=config_keys("psaich", "instrument_files", "instruments", "n_boot", "bootstrap_seed"),
        llm=model_labels_of(PSAICH["models"]),
    log:
        "logs/psaich/summarise_psaich.log",
    benchmark:
        "logs/psaich/summarise_psaich.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(10),
    script:
        "../scripts/psaich/summarise.py"


STUDY_OUTPUTS["psaich"] = rules.summarise_psaich.output
STUDY_INPUTS["psaich"] = [PSAICH["protocol"], *PSAICH["instrument_files"]]
STUDY_LLM["psaich"] = expand(rules.administer_psaich.output.provenance, model=PSAICH["models"])
STUDY_CLAIMS["psaich"] = {
    "inputs": {"differences": rules.summarise_psaich.output.differences, "floor": rules.summarise_psaich.output.floor},
    "options": {"embedded": embedded_models(PSAICH["models"]), "min_seeds": config["claims"]["min_units"],
                "min_usable": config["claims"]["floor_min_usable"]},
}
