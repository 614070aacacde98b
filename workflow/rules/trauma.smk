# Study trauma: Thousand Voices of Trauma. Cases sampled to the published marginals; one PE phase
# per conversation run by the dialogue engine with a planted SUDS arc (or the released files when
# trauma.published_dir is set); SUDS trajectories extracted and checked against the plan; the
# trajectory-prediction benchmark; phase adherence, habituation and diversity; figures.

TRAUMA = config["trauma"]
TRAUMA_PUBLISHED = TRAUMA["published_dir"]
# the released layout (dataset card): conversations/ and metadata/, one file per subject and phase
TRAUMA_PUBLISHED_FILES = sorted(str(p) for part in ("conversations", "metadata")
                                for p in Path(TRAUMA_PUBLISHED, part).glob("*.json")) if TRAUMA_PUBLISHED else []
TRAUMA_TRANSCRIPTS = "results/trauma/transcripts/" + ("published.jsonl" if TRAUMA_PUBLISHED else "generated.jsonl")
TRAUMA_RATERS = TRAUMA["benchmark"]["raters"]
TRAUMA_GENERATORS = list(dict.fromkeys([TRAUMA["generate"]["counsellor"], TRAUMA["generate"]["client"]]))
TRAUMA_FIGURES = ["marginals", "trajectories", "benchmark"]


rule sample_trauma_cases:
    output:
        cases="results/trauma/cases.parquet",
        marginals=report("results/trauma/tables/marginals.csv", caption="../report/trauma/marginals.rst",
                         category="trauma"),
        profiles="results/trauma/profiles.jsonl",
    params:
        study=config_keys("trauma", "seed", "phases", "marginals", "suds", "generate/cases", "generate/flat_cases",
                          "generate/max_exchanges"),
    log:
        "logs/trauma/sample_trauma_cases.log",
    benchmark:
        "logs/trauma/sample_trauma_cases.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(5),
    script:
        "../scripts/trauma/sample.py"


rule generate_trauma_conversations:
    input:
        profiles=rules.sample_trauma_cases.output.profiles,
        protocol="src/replisuite/dialogue/data/prolonged_exposure.yaml",
        phases="src/replisuite/trauma/data/phases.yaml",
    output:
        transcripts="results/trauma/transcripts/generated.jsonl",
        provenance="results/trauma/llm/generate.json",
    params:
        study=config_keys("trauma", "seed", "generate/max_exchanges", "generate/max_tokens", "generate/counsellor",
                          "generate/client"),
        llm=config_keys("llm", "store_dir", *(f"models/{m}" for m in TRAUMA_GENERATORS)),
    threads: 1
    priority: 10
    log:
        "logs/trauma/generate_trauma_conversations.log",
    benchmark:
        "logs/trauma/generate_trauma_conversations.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/trauma/generate.py"


rule load_trauma_published:
    input:
        files=TRAUMA_PUBLISHED_FILES,
    output:
        cases="results/trauma/published_cases.parquet",
        transcripts="results/trauma/transcripts/published.jsonl",
        marginals=report("results/trauma/tables/published_marginals.csv",
                         caption="../report/trauma/published_marginals.rst", category="trauma"),
    params:
        study=config_keys("trauma", "phases", "marginals"),
        folder=TRAUMA_PUBLISHED,
    log:
        "logs/trauma/load_trauma_published.log",
    benchmark:
        "logs/trauma/load_trauma_published.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(10),
    script:
        "../scripts/trauma/load_published.py"


rule extract_trauma_trajectories:
    input:
        transcripts=TRAUMA_TRANSCRIPTS,
        profiles=[] if TRAUMA_PUBLISHED else [rules.sample_trauma_cases.output.profiles],
    output:
        trajectories="results/trauma/trajectories.parquet",
        extraction=report("results/trauma/tables/extraction.csv", caption="../report/trauma/extraction.rst",
                          category="trauma"),
        provenance="results/trauma/llm/extract.json",
    params:
        study=config_keys("trauma", "seed", "n_boot", "extraction"),
        llm=config_keys("llm", "store_dir", *([f"models/{TRAUMA['extraction']['rater']}"]
                                              if TRAUMA["extraction"]["rater"] else [])),
    threads: 1
    priority: 10
    log:
        "logs/trauma/extract_trauma_trajectories.log",
    benchmark:
        "logs/trauma/extract_trauma_trajectories.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/trauma/extract.py"


rule predict_trauma_trajectories:
    input:
        trajectories=rules.extract_trauma_trajectories.output.trajectories,
    output:
        predictions="results/trauma/predictions.parquet",
        provenance="results/trauma/llm/predict.json",
    params:
        study=config_keys("trauma", "benchmark"),
        llm=config_keys("llm", "store_dir", *(f"models/{m}" for m in TRAUMA_RATERS)),
    threads: 1
    priority: 10
    log:
        "logs/trauma/predict_trauma_trajectories.log",
    benchmark:
        "logs/trauma/predict_trauma_trajectories.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/trauma/predict.py"


rule check_trauma_fidelity:
    input:
        transcripts=TRAUMA_TRANSCRIPTS,
        trajectories=rules.extract_trauma_trajectories.output.trajectories,
        phases="src/replisuite/trauma/data/phases.yaml",
    output:
        **{name: report(f"results/trauma/tables/{name}.csv", caption=f"../report/trauma/{name}.rst", category="trauma")
           for name in ("adherence", "habituation", "arc_recovery", "diversity")},
    params:
        study=config_keys("trauma", "seed", "n_boot", "phases"),
        llm=config_keys("llm", "store_dir"),
    threads: 1
    log:
        "logs/trauma/check_trauma_fidelity.log",
    benchmark:
        "logs/trauma/check_trauma_fidelity.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/trauma/fidelity.py"


rule summarise_trauma:
    input:
        marginals=rules.sample_trauma_cases.output.marginals,
        trajectories=rules.extract_trauma_trajectories.output.trajectories,
        predictions=rules.predict_trauma_trajectories.output.predictions,
    output:
        benchmark=report("results/trauma/tables/benchmark.csv", caption="../report/trauma/benchmark.rst",
                         category="trauma"),
        **{f"figure_{name}": report(f"results/trauma/figures/{name}.png", caption=f"../report/trauma/figure_{name}.rst",
                                    category="trauma") for name in TRAUMA_FIGURES},
        **{f"pdf_{name}": f"results/trauma/figures/{name}.pdf" for name in TRAUMA_FIGURES},
    params:
        study=config_keys("trauma", "seed", "n_boot", "figures"),
    priority: 10
    log:
        "logs/trauma/summarise_trauma.log",
    benchmark:
        "logs/trauma/summarise_trauma.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/trauma/summarise.py"


STUDY_OUTPUTS["trauma"] = [*rules.summarise_trauma.output, rules.sample_trauma_cases.output.marginals,
                           rules.extract_trauma_trajectories.output.extraction, *rules.check_trauma_fidelity.output,
                           TRAUMA_TRANSCRIPTS, rules.extract_trauma_trajectories.output.trajectories]
STUDY_INPUTS["trauma"] = ["src/replisuite/trauma/data/phases.yaml", "src/replisuite/dialogue/data/prolonged_exposure.yaml",
                          *TRAUMA_PUBLISHED_FILES]
STUDY_LLM["trauma"] = [
    *([] if TRAUMA_PUBLISHED else [rules.generate_trauma_conversations.output.provenance]),
    rules.extract_trauma_trajectories.output.provenance, rules.predict_trauma_trajectories.output.provenance,
]
STUDY_CLAIMS["trauma"] = {
    # the sampler's match to its own input shares is a unit test (tests/trauma), not a claim; with
    # released data, their metadata are tested against the published shares instead
    "inputs": {**({"published_marginals": rules.load_trauma_published.output.marginals} if TRAUMA_PUBLISHED else {}),
               "extraction": rules.extract_trauma_trajectories.output.extraction,
               "benchmark": rules.summarise_trauma.output.benchmark,
               "arc": rules.check_trauma_fidelity.output.arc_recovery},
    "options": {"embedded": embedded_models(list(dict.fromkeys(TRAUMA_GENERATORS + TRAUMA_RATERS))),
                "generator": ["published"] if TRAUMA_PUBLISHED else TRAUMA_GENERATORS, "raters": TRAUMA_RATERS,
                "alpha": TRAUMA["marginal_alpha"], "min_cases": config["claims"]["min_units"],
                "min_usable": config["claims"]["floor_min_usable"]},
}
