# Study synthesis: PsyLLM's data pipeline (Beyond Empathy). Posts (CounselChat questions, or a JSONL
# file of your own) become dialogues whose counsellor turns carry <think> reasoning before the reply
# (one job per generator); the filter (rule checks and a judge's four issues) runs on them and on
# planted defective copies; the psyllm rubric scores them, with planted degraded replies as the
# judge's floor; the summary writes the tables, figures and the inputs of the claims.

SYNTHESIS = config["synthesis"]
SYNTHESIS_POSTS = (
    {"posts": SYNTHESIS["posts"]["file"]}
    if SYNTHESIS["posts"]["file"]
    else {"counselchat": raw_path(SYNTHESIS["sources"]["counselchat"])}
)
SYNTHESIS_KNOWLEDGE = (
    SYNTHESIS["knowledge"]
    if SYNTHESIS["knowledge"].endswith((".yaml", ".yml"))
    else f"src/replisuite/dialogue/data/knowledge/{SYNTHESIS['knowledge']}.yaml"
)
# the posts' top-voted therapist answers, scored beside the models (CounselChat posts only)
SYNTHESIS_REFERENCE = (
    {"counselchat": raw_path(SYNTHESIS["sources"]["counselchat"])}
    if SYNTHESIS["human_reference"] and not SYNTHESIS["posts"]["file"]
    else {}
)
SYNTHESIS_TABLES = ["generation", "filter_outcomes", "filter_decisions", "defect_detection", "filter_validation", "benchmark",
                    "benchmark_floor", "diagnosis"]
SYNTHESIS_FIGURES = ["defects", "benchmark"]
SYNTHESIS_TRANSCRIPTS = "results/synthesis/transcripts/{generator}.jsonl"


rule synthesise_dialogues:
    input:
        **SYNTHESIS_POSTS,
        protocol=dialogue_protocol_file(SYNTHESIS["protocol"]),
        knowledge=SYNTHESIS_KNOWLEDGE,
    output:
        transcripts=SYNTHESIS_TRANSCRIPTS,
        provenance="results/synthesis/llm/synthesise_{generator}.json",
    params:
        study=config_keys("synthesis", "seed", "posts", "knowledge", "protocol", "overrides", "client"),
        llm=config_keys("llm", "store_dir", *dict.fromkeys(["models/{generator}", f"models/{SYNTHESIS['client']}"])),
    wildcard_constraints:
        generator=wildcard_choices(SYNTHESIS["generators"]),
    threads: 1
    priority: 10
    log:
        "logs/synthesis/synthesise_dialogues/{generator}.log",
    benchmark:
        "logs/synthesis/synthesise_dialogues/{generator}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/synthesis/synthesise.py"


rule filter_synthesised:
    input:
        transcripts=SYNTHESIS_TRANSCRIPTS,
        knowledge=SYNTHESIS_KNOWLEDGE,
        rubric="src/replisuite/judge/data/psyllm_filter.yaml",
    output:
        checks="results/synthesis/filter/{generator}.parquet",
        provenance="results/synthesis/llm/filter_{generator}.json",
    params:
        study=config_keys("synthesis", "seed", "knowledge", "judge", "judge_method", "defects", "baselines"),
        llm=config_keys("llm", "store_dir", f"models/{SYNTHESIS['judge']}"),
    wildcard_constraints:
        generator=wildcard_choices(SYNTHESIS["generators"]),
    threads: 1
    log:
        "logs/synthesis/filter_synthesised/{generator}.log",
    benchmark:
        "logs/synthesis/filter_synthesised/{generator}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/synthesis/filter.py"


rule benchmark_synthesised:
    input:
        **SYNTHESIS_REFERENCE,
        transcripts=SYNTHESIS_TRANSCRIPTS,
        rubric="src/replisuite/judge/data/psyllm.yaml",
    output:
        judgements="results/synthesis/benchmark/{generator}.parquet",
        provenance="results/synthesis/llm/benchmark_{generator}.json",
    params:
        study=config_keys("synthesis", "seed", "judge", "judge_method", "floor_dialogues", "human_reference"),
        llm=config_keys("llm", "store_dir", f"models/{SYNTHESIS['judge']}"),
    wildcard_constraints:
        generator=wildcard_choices(SYNTHESIS["generators"]),
    threads: 1
    log:
        "logs/synthesis/benchmark_synthesised/{generator}.log",
    benchmark:
        "logs/synthesis/benchmark_synthesised/{generator}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/synthesis/benchmark.py"


rule summarise_synthesis:
    input:
        **SYNTHESIS_POSTS,
        knowledge=SYNTHESIS_KNOWLEDGE,
        topic_map=SYNTHESIS["topic_map"],
        transcripts=expand(SYNTHESIS_TRANSCRIPTS, generator=SYNTHESIS["generators"]),
        checks=expand(rules.filter_synthesised.output.checks, generator=SYNTHESIS["generators"]),
        judgements=expand(rules.benchmark_synthesised.output.judgements, generator=SYNTHESIS["generators"]),
    output:
        **{name: report(f"results/synthesis/tables/{name}.csv", caption=f"../report/synthesis/{name}.rst",
                        category="synthesis") for name in SYNTHESIS_TABLES},
        **{f"figure_{name}": report(f"results/synthesis/figures/{name}.png",
                                    caption=f"../report/synthesis/figure_{name}.rst", category="synthesis")
           for name in SYNTHESIS_FIGURES},
        **{f"pdf_{name}": f"results/synthesis/figures/{name}.pdf" for name in SYNTHESIS_FIGURES},
    params:
        study=config_keys("synthesis", "seed", "n_boot", "posts", "knowledge", "defects"),
        tables=SYNTHESIS_TABLES,
        figures=SYNTHESIS_FIGURES,
    log:
        "logs/synthesis/summarise_synthesis.log",
    benchmark:
        "logs/synthesis/summarise_synthesis.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/synthesis/summarise.py"


STUDY_OUTPUTS["synthesis"] = [*rules.summarise_synthesis.output,
                              *expand(SYNTHESIS_TRANSCRIPTS, generator=SYNTHESIS["generators"])]
STUDY_INPUTS["synthesis"] = [*SYNTHESIS_POSTS.values(), SYNTHESIS_KNOWLEDGE, SYNTHESIS["topic_map"],
                             dialogue_protocol_file(SYNTHESIS["protocol"])]
STUDY_LLM["synthesis"] = [
    *expand(rules.synthesise_dialogues.output.provenance, generator=SYNTHESIS["generators"]),
    *expand(rules.filter_synthesised.output.provenance, generator=SYNTHESIS["generators"]),
    *expand(rules.benchmark_synthesised.output.provenance, generator=SYNTHESIS["generators"]),
]
STUDY_CLAIMS["synthesis"] = {
    "inputs": {name: getattr(rules.summarise_synthesis.output, name)
               for name in ["generation", "filter_validation", "diagnosis", "benchmark", "benchmark_floor"]},
    "options": {"judge": SYNTHESIS["judge"], "embedded": embedded_models([*SYNTHESIS["generators"], SYNTHESIS["judge"]]),
                "min_usable": config["claims"]["floor_min_usable"],
                "min_contrast": config["claims"]["floor_min_contrast"], "min_units": config["claims"]["min_units"]},
}
