# Study roleplay: generated client profiles run through each protocol with each model pair (one job
# per protocol x pair, every turn a stored request); a rater recovers the questionnaires from the
# transcripts; PsychEval's Table 1 from its case files; the summary tables and figures.

ROLEPLAY = config["roleplay"]
ROLEPLAY_PAIRS = [f"{p['counsellor']}__{p['client']}" for p in ROLEPLAY["pairs"]]
ROLEPLAY_PROTOCOLS = list(ROLEPLAY["protocols"])
ROLEPLAY_PROMPTS = {key: raw_path(name) for key, name in ROLEPLAY["prompt_sources"].items()}
ROLEPLAY_CASES = {
    therapy: [raw_path(name) for name in sorted(SOURCES) if name.startswith(f"psycheval_data_{therapy}_")]
    for therapy in ROLEPLAY["psycheval"]["therapies"]
}
ROLEPLAY_TABLES = ["conversations", "dialogue", "stop_reasons", "identifiability", "recovery"]
ROLEPLAY_FIGURES = ["dialogue", "identifiability", "recovery"]
ROLEPLAY_TRANSCRIPTS = expand("results/roleplay/transcripts/{protocol}/{pair}.jsonl", protocol=ROLEPLAY_PROTOCOLS,
                              pair=ROLEPLAY_PAIRS)


ROLEPLAY_PUBLISHED_PROFILES = {
    "interactive_agents_test": [raw_path("ia_profiles_test")],
    "interactive_agents_train": [raw_path("ia_profiles_train")],
    "psycheval_cases": [p for paths in ROLEPLAY_CASES.values() for p in paths],
}


rule prepare_roleplay_profiles:
    input:
        file=[ROLEPLAY["profiles"]["file"]] if ROLEPLAY["profiles"]["file"] else [],
        published=ROLEPLAY_PUBLISHED_PROFILES.get(ROLEPLAY["profiles"]["published"] or "", []),
    output:
        "results/roleplay/profiles.jsonl",
    params:
        study=config_keys("roleplay", "seed", "profiles"),
    log:
        "logs/roleplay/prepare_roleplay_profiles.log",
    benchmark:
        "logs/roleplay/prepare_roleplay_profiles.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(5),
    script:
        "../scripts/roleplay/prepare_profiles.py"


rule simulate_roleplay:
    input:
        profiles=rules.prepare_roleplay_profiles.output[0],
        protocol=lambda wildcards: dialogue_protocol_file(ROLEPLAY["protocols"][wildcards.protocol]["file"]),
        prompts=lambda wildcards: list(published_prompt_files(
            dialogue_protocol_file(ROLEPLAY["protocols"][wildcards.protocol]["file"]), ROLEPLAY_PROMPTS).values()),
    output:
        transcripts="results/roleplay/transcripts/{protocol}/{pair}.jsonl",
        provenance="results/roleplay/llm/simulate_{protocol}_{pair}.json",
    params:
        study=config_keys("roleplay", "seed", "protocols/{protocol}", "plan"),
        llm=lambda wildcards: pair_model_keys(wildcards.pair),
        prompts=lambda wildcards: published_prompt_files(
            dialogue_protocol_file(ROLEPLAY["protocols"][wildcards.protocol]["file"]), ROLEPLAY_PROMPTS),
    wildcard_constraints:
        protocol="|".join(map(re.escape, ROLEPLAY_PROTOCOLS)),
        pair="|".join(map(re.escape, ROLEPLAY_PAIRS)),
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/roleplay/simulate_roleplay/{protocol}.{pair}.log",
    benchmark:
        "logs/roleplay/simulate_roleplay/{protocol}.{pair}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/roleplay/simulate.py"


rule recover_roleplay_questionnaires:
    input:
        profiles=rules.prepare_roleplay_profiles.output[0],
        transcripts=expand("results/roleplay/transcripts/{protocol}/{pair}.jsonl", pair=ROLEPLAY_PAIRS,
                           protocol=[p for p in ROLEPLAY_PROTOCOLS if p in ROLEPLAY["recovery"]["protocols"]]),
    output:
        totals="results/roleplay/recovery/{rater}.parquet",
        item_answers="results/roleplay/recovery/{rater}.items.parquet",
        provenance="results/roleplay/llm/recovery_{rater}.json",
    params:
        study=config_keys("roleplay", "recovery/method/{rater}?", "recovery/max_chars", "recovery/params"),
        llm=config_keys("llm", "store_dir", "models/{rater}"),
    wildcard_constraints:
        rater="|".join(map(re.escape, ROLEPLAY["recovery"]["raters"])) or "no-rater",
    threads: 1
    priority: 10
    log:
        "logs/roleplay/recover_roleplay_questionnaires/{rater}.log",
    benchmark:
        "logs/roleplay/recover_roleplay_questionnaires/{rater}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/roleplay/recover.py"


rule psycheval_table1:
    input:
        unpack(lambda wildcards: {therapy: paths for therapy, paths in ROLEPLAY_CASES.items()}),
    output:
        report("results/roleplay/tables/psycheval_table1.csv", caption="../report/roleplay/psycheval_table1.rst",
               category="roleplay"),
    params:
        study=config_keys("roleplay", "psycheval"),
    log:
        "logs/roleplay/psycheval_table1.log",
    benchmark:
        "logs/roleplay/psycheval_table1.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/roleplay/psycheval_table1.py"


rule summarise_roleplay:
    input:
        profiles=rules.prepare_roleplay_profiles.output[0],
        transcripts=ROLEPLAY_TRANSCRIPTS,
        recovered=expand(rules.recover_roleplay_questionnaires.output.totals, rater=ROLEPLAY["recovery"]["raters"]),
    output:
        **{name: report(f"results/roleplay/tables/{name}.csv", caption=f"../report/roleplay/{name}.rst",
                        category="roleplay") for name in ROLEPLAY_TABLES},
        **{f"figure_{name}": report(f"results/roleplay/figures/{name}.png",
                                    caption=f"../report/roleplay/figure_{name}.rst", category="roleplay")
           for name in ROLEPLAY_FIGURES},
        **{f"pdf_{name}": f"results/roleplay/figures/{name}.pdf" for name in ROLEPLAY_FIGURES},
    params:
        study=config_keys("roleplay", "seed", "n_boot"),
        store_dir=config["llm"]["store_dir"],
        tables=ROLEPLAY_TABLES,
        figures=ROLEPLAY_FIGURES,
    threads: 1
    log:
        "logs/roleplay/summarise_roleplay.log",
    benchmark:
        "logs/roleplay/summarise_roleplay.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/roleplay/summarise.py"


ROLEPLAY_REFERENCE = ROLEPLAY["reference"]["sqpsychconv"]


rule compare_roleplay_reference:
    input:
        corpus=ROLEPLAY_REFERENCE or [],
        ours=rules.summarise_roleplay.output.dialogue,
    output:
        report("results/roleplay/tables/reference_dialogue.csv", caption="../report/roleplay/reference_dialogue.rst",
               category="roleplay"),
    params:
        study=config_keys("roleplay", "seed", "n_boot", "reference/limit"),
    log:
        "logs/roleplay/compare_roleplay_reference.log",
    benchmark:
        "logs/roleplay/compare_roleplay_reference.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/roleplay/reference.py"


STUDY_OUTPUTS["roleplay"] = [*rules.summarise_roleplay.output, rules.psycheval_table1.output[0], *ROLEPLAY_TRANSCRIPTS,
                             *([rules.compare_roleplay_reference.output[0]] if ROLEPLAY_REFERENCE else [])]
STUDY_INPUTS["roleplay"] = [*ROLEPLAY_PROMPTS.values(), *(p for paths in ROLEPLAY_CASES.values() for p in paths),
                             raw_path("ia_automatic_evaluation"), raw_path("ia_human_evaluation"),
                             raw_path("psycheval_table1_figure"), *([ROLEPLAY_REFERENCE] if ROLEPLAY_REFERENCE else [])]
STUDY_LLM["roleplay"] = [
    *expand(rules.simulate_roleplay.output.provenance, protocol=ROLEPLAY_PROTOCOLS, pair=ROLEPLAY_PAIRS),
    *expand(rules.recover_roleplay_questionnaires.output.provenance, rater=ROLEPLAY["recovery"]["raters"]),
]
STUDY_CLAIMS["roleplay"] = {
    "inputs": {"table1": rules.psycheval_table1.output[0],
               "identifiability": rules.summarise_roleplay.output.identifiability,
               "recovery": rules.summarise_roleplay.output.recovery,
               "conversations": rules.summarise_roleplay.output.conversations},
    "options": {"embedded": embedded_models(list(dict.fromkeys(
        [m for p in ROLEPLAY["pairs"] for m in p.values()] + ROLEPLAY["recovery"]["raters"]))),
                "min_profiles": config["claims"]["min_units"], "min_usable": config["claims"]["floor_min_usable"]},
}
