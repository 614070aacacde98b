# Study judge: one job per judge scores the sampled AnnoMI sessions on every rubric; one job per
# arena model writes its replies; one job per judge compares every two replies to each question.

JUDGE = config["judge"]
JUDGE_ANNOMI = raw_path(JUDGE["sources"]["annomi"])
JUDGE_COUNSEL_CHAT = raw_path(JUDGE["sources"]["counsel_chat"])
# the published prompt files of the rubrics the study uses (rubric id -> files)
JUDGE_PROMPTS = {rubric: [raw_path(name) for name in JUDGE["published_prompts"][rubric]]
                 for rubric in JUDGE["validation"]["rubrics"] if rubric in JUDGE["published_prompts"]}
JUDGE_TABLES = ["validation", "validation_items", "reliability", "task_floor", "arena_ratings", "arena_checks"]
JUDGE_FIGURES = ["auc", "items", "reliability", "arena"]
# the stigma study's judge-vs-human agreement is the second validation set (reused, not recomputed)
JUDGE_STIGMA_AGREEMENT = "results/stigma/tables/judge_agreement.csv" if "stigma" in config else []


wildcard_constraints:
    judge="|".join(map(re.escape, JUDGE["judges"])),
    arena_model="|".join(map(re.escape, JUDGE["arena"]["models"])) or "no-model",


rule judge_sessions:
    input:
        annomi=JUDGE_ANNOMI,
        rubrics=JUDGE["rubric_files"],
        prompts=[path for paths in JUDGE_PROMPTS.values() for path in paths],
    output:
        judgements="results/judge/sessions/{judge}.parquet",
        floor="results/judge/sessions/{judge}.degraded.parquet",
        provenance="results/judge/llm/sessions_{judge}.json",
    params:
        study=config_keys("judge", "validation/rubrics", "validation/per_label/{judge}?", "validation/max_chars", "validation/repeats",
                          "validation/seed", "validation/floor_sessions", "method/{judge}?", "rubric_files"),
        llm=config_keys("llm", "store_dir", "models/{judge}"),
        prompts=JUDGE_PROMPTS,
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/judge/judge_sessions/{judge}.log",
    benchmark:
        "logs/judge/judge_sessions/{judge}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/judge/judge_sessions.py"


rule arena_replies:
    input:
        counsel_chat=JUDGE_COUNSEL_CHAT,
    output:
        replies="results/judge/arena/replies_{arena_model}.parquet",
        provenance="results/judge/llm/replies_{arena_model}.json",
    params:
        study=config_keys("judge", "arena/questions", "arena/max_chars", "arena/seed", "arena/reply_params"),
        llm=config_keys("llm", "store_dir", "models/{arena_model}"),
    threads: 1
    log:
        "logs/judge/arena_replies/{arena_model}.log",
    benchmark:
        "logs/judge/arena_replies/{arena_model}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/judge/arena_replies.py"


rule judge_arena:
    input:
        counsel_chat=JUDGE_COUNSEL_CHAT,
        replies=expand(rules.arena_replies.output.replies, arena_model=JUDGE["arena"]["models"]),
    output:
        pairs="results/judge/arena/pairs_{judge}.parquet",
        provenance="results/judge/llm/arena_{judge}.json",
    params:
        study=config_keys("judge", "arena/questions", "arena/max_chars", "arena/seed"),
        llm=config_keys("llm", "store_dir", "models/{judge}"),
    threads: 1
    log:
        "logs/judge/judge_arena/{judge}.log",
    benchmark:
        "logs/judge/judge_arena/{judge}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/judge/judge_arena.py"


rule summarise_judge:
    input:
        sessions=expand(rules.judge_sessions.output.judgements, judge=JUDGE["judges"]),
        floors=expand(rules.judge_sessions.output.floor, judge=JUDGE["judges"]),
        pairs=expand(rules.judge_arena.output.pairs, judge=JUDGE["judges"]),
        replies=expand(rules.arena_replies.output.replies, arena_model=JUDGE["arena"]["models"]),
        counsel_chat=JUDGE_COUNSEL_CHAT,
        stigma_agreement=JUDGE_STIGMA_AGREEMENT,
        rubrics=JUDGE["rubric_files"],
        prompts=[path for paths in JUDGE_PROMPTS.values() for path in paths],
    output:
        **{name: report(f"results/judge/tables/{name}.csv", caption=f"../report/judge/{name}.rst", category="judge")
           for name in JUDGE_TABLES},
        **{f"figure_{name}": report(f"results/judge/figures/{name}.png", caption=f"../report/judge/figure_{name}.rst",
                                    category="judge") for name in JUDGE_FIGURES},
        **{f"pdf_{name}": f"results/judge/figures/{name}.pdf" for name in JUDGE_FIGURES},
    params:
        study=config_keys("judge", "validation/rubrics", "validation/seed", "rubric_files", "n_boot", "arena/questions",
                          "arena/max_chars", "arena/seed"),
        llm=model_labels_of(JUDGE["judges"]),
        prompts=JUDGE_PROMPTS,
        tables=JUDGE_TABLES,
        figures=JUDGE_FIGURES,
    log:
        "logs/judge/summarise_judge.log",
    benchmark:
        "logs/judge/summarise_judge.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/judge/summarise.py"


STUDY_OUTPUTS["judge"] = rules.summarise_judge.output
STUDY_INPUTS["judge"] = [JUDGE_ANNOMI, JUDGE_COUNSEL_CHAT, *JUDGE["rubric_files"], *(p for ps in JUDGE_PROMPTS.values() for p in ps)]
STUDY_LLM["judge"] = [
    *expand(rules.judge_sessions.output.provenance, judge=JUDGE["judges"]),
    *expand(rules.judge_arena.output.provenance, judge=JUDGE["judges"]),
    *expand(rules.arena_replies.output.provenance, arena_model=JUDGE["arena"]["models"]),
]
STUDY_CLAIMS["judge"] = {
    "inputs": {"validation": rules.summarise_judge.output.validation, "floor": rules.summarise_judge.output.task_floor},
    "options": {"embedded": embedded_models(JUDGE["judges"]), "min_contrast": config["claims"]["floor_min_contrast"]},
}
