# Study reconstruct: HELPERT's design on AnnoMI. Sampled sessions (stratified by MI quality) become
# scripted clients; each counsellor model rewrites every counsellor turn (one job per model); the
# shared classifier codes both versions; each judge scores them on the rubrics; the summary pairs them.

RECONSTRUCT = config["reconstruct"]
RECONSTRUCT_ANNOMI = raw_path(RECONSTRUCT["sources"]["annomi"])
RECONSTRUCT_TRANSCRIPTS = expand("results/reconstruct/transcripts/{counsellor}.jsonl",
                                 counsellor=RECONSTRUCT["counsellors"])


rule prepare_reconstruct_sessions:
    input:
        annomi=RECONSTRUCT_ANNOMI,
    output:
        profiles="results/reconstruct/profiles.jsonl",
        originals="results/reconstruct/transcripts/original.jsonl",
        sample=report("results/reconstruct/tables/sample.csv", caption="../report/reconstruct/sample.rst",
                      category="reconstruct"),
    params:
        study=config_keys("reconstruct", "seed", "sessions_per_label", "max_turns"),
    log:
        "logs/reconstruct/prepare_reconstruct_sessions.log",
    benchmark:
        "logs/reconstruct/prepare_reconstruct_sessions.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1500),
        runtime=by_attempt(10),
    script:
        "../scripts/reconstruct/prepare.py"


rule reconstruct_sessions:
    input:
        profiles=rules.prepare_reconstruct_sessions.output.profiles,
        protocol=dialogue_protocol_file(RECONSTRUCT["protocol"]),
    output:
        transcripts="results/reconstruct/transcripts/{counsellor}.jsonl",
        provenance="results/reconstruct/llm/reconstruct_{counsellor}.json",
    params:
        study=config_keys("reconstruct", "seed", "protocol"),
        llm=config_keys("llm", "store_dir", "models/{counsellor}"),
    wildcard_constraints:
        counsellor="|".join(map(re.escape, RECONSTRUCT["counsellors"])),
    threads: 1
    log:
        "logs/reconstruct/reconstruct_sessions/{counsellor}.log",
    benchmark:
        "logs/reconstruct/reconstruct_sessions/{counsellor}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/reconstruct/reconstruct.py"


rule code_reconstructed_sessions:
    input:
        annomi=RECONSTRUCT_ANNOMI,
        originals=rules.prepare_reconstruct_sessions.output.originals,
        reconstructions=RECONSTRUCT_TRANSCRIPTS,
    output:
        coded="results/reconstruct/coded.parquet",
        validation=report("results/reconstruct/tables/classifier_validation.csv",
                          caption="../report/reconstruct/classifier_validation.rst", category="reconstruct"),
    params:
        study=config_keys("reconstruct", "seed", "n_boot", "classifier"),
    log:
        "logs/reconstruct/code_reconstructed_sessions.log",
    benchmark:
        "logs/reconstruct/code_reconstructed_sessions.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/reconstruct/code.py"


rule judge_reconstructed_sessions:
    input:
        originals=rules.prepare_reconstruct_sessions.output.originals,
        reconstructions=RECONSTRUCT_TRANSCRIPTS,
    output:
        scores="results/reconstruct/judgements/{judge}.parquet",
        provenance="results/reconstruct/llm/judge_{judge}.json",
    params:
        study=config_keys("reconstruct", "seed", "judge/method/{judge}?", "judge/rubrics", "judge/max_chars"),
        llm=config_keys("llm", "store_dir", "models/{judge}"),
    wildcard_constraints:
        judge="|".join(map(re.escape, RECONSTRUCT["judge"]["judges"])) or "no-judge",
    threads: 1
    priority: 10
    log:
        "logs/reconstruct/judge_reconstructed_sessions/{judge}.log",
    benchmark:
        "logs/reconstruct/judge_reconstructed_sessions/{judge}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/reconstruct/judge.py"


rule summarise_reconstruct:
    input:
        profiles=rules.prepare_reconstruct_sessions.output.profiles,
        originals=rules.prepare_reconstruct_sessions.output.originals,
        reconstructions=RECONSTRUCT_TRANSCRIPTS,
        coded=rules.code_reconstructed_sessions.output.coded,
        judgements=expand(rules.judge_reconstructed_sessions.output.scores, judge=RECONSTRUCT["judge"]["judges"]),
    output:
        sessions=report("results/reconstruct/tables/sessions.csv", caption="../report/reconstruct/sessions.rst",
                        category="reconstruct"),
        comparison=report("results/reconstruct/tables/comparison.csv", caption="../report/reconstruct/comparison.rst",
                          category="reconstruct"),
        figure_paired=report("results/reconstruct/figures/paired.png", caption="../report/reconstruct/figure_paired.rst",
                             category="reconstruct"),
        pdf_paired="results/reconstruct/figures/paired.pdf",
    params:
        study=config_keys("reconstruct", "seed", "n_boot"),
    log:
        "logs/reconstruct/summarise_reconstruct.log",
    benchmark:
        "logs/reconstruct/summarise_reconstruct.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/reconstruct/summarise.py"


STUDY_OUTPUTS["reconstruct"] = [*rules.summarise_reconstruct.output, rules.code_reconstructed_sessions.output.validation,
                                *RECONSTRUCT_TRANSCRIPTS, rules.prepare_reconstruct_sessions.output.originals,
                                rules.prepare_reconstruct_sessions.output.sample]
STUDY_INPUTS["reconstruct"] = [RECONSTRUCT_ANNOMI]
STUDY_LLM["reconstruct"] = [
    *expand(rules.reconstruct_sessions.output.provenance, counsellor=RECONSTRUCT["counsellors"]),
    *expand(rules.judge_reconstructed_sessions.output.provenance, judge=RECONSTRUCT["judge"]["judges"]),
]
STUDY_CLAIMS["reconstruct"] = {
    "inputs": {"validation": rules.code_reconstructed_sessions.output.validation,
               "comparison": rules.summarise_reconstruct.output.comparison},
    "options": {"embedded": embedded_models(list(dict.fromkeys(RECONSTRUCT["counsellors"] + RECONSTRUCT["judge"]["judges"])))},
}
