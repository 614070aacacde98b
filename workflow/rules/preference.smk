# Study preference: PsychoCounsel's method on public data. Preference pairs (CounselChat upvotes, or
# the released chosen/rejected file) split by question; a principle judge checked against upvotes;
# Bradley-Terry reward models and a zero-shot likelihood scorer on held-out questions; DPO of the
# embedded model (a LoRA adapter); base and tuned replies compared by reward, judge and length.

PREFERENCE = config["preference"]
PREFERENCE_SOURCE = PREFERENCE["published_pairs"] or raw_path(PREFERENCE["sources"]["counsel_chat"])
PREFERENCE_PRINCIPLE_JUDGES = PREFERENCE["principles"]["judges"]
PREFERENCE_SCORERS = PREFERENCE["reward"]["loglik_scorers"]
PREFERENCE_EVAL_JUDGES = PREFERENCE["evaluation"]["judges"]
PREFERENCE_BASE = PREFERENCE["dpo"]["base"]
PREFERENCE_TABLES = ["reward_accuracy", "calibration", "principle_agreement", "policy_comparison"]
PREFERENCE_FIGURES = ["reward_accuracy", "calibration", "win_rate", "lengths", "dpo_loss"]


rule build_preference_pairs:
    input:
        source=PREFERENCE_SOURCE,
    output:
        pairs="results/preference/pairs.parquet",
        statistics=report("results/preference/tables/pair_statistics.csv",
                          caption="../report/preference/pair_statistics.rst", category="preference"),
    params:
        study=config_keys("preference", "seed", "pairs", "published_pairs"),
    log:
        "logs/preference/build_preference_pairs.log",
    benchmark:
        "logs/preference/build_preference_pairs.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(5),
    script:
        "../scripts/preference/pairs.py"


rule judge_preference_principles:
    input:
        pairs=rules.build_preference_pairs.output.pairs,
    output:
        scores="results/preference/principles/{judge}.parquet",
        agreement="results/preference/principles/{judge}_agreement.csv",
        provenance="results/preference/llm/principles_{judge}.json",
    params:
        study=config_keys("preference", "seed", "n_boot", "principles/pairs", "principles/max_chars",
                          "principles/method/{judge}?"),
        llm=config_keys("llm", "store_dir", "models/{judge}"),
    wildcard_constraints:
        judge=wildcard_choices(PREFERENCE_PRINCIPLE_JUDGES),
    threads: 1
    priority: 10
    log:
        "logs/preference/judge_preference_principles/{judge}.log",
    benchmark:
        "logs/preference/judge_preference_principles/{judge}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/preference/principles.py"


rule fit_preference_rewards:
    input:
        pairs=rules.build_preference_pairs.output.pairs,
    output:
        predictions="results/preference/reward/trained.parquet",
        weights="results/preference/reward/embedding_weights.npz",
    params:
        study=config_keys("preference", "reward/l2", "reward/tfidf"),
        llm=config_keys("llm", "store_dir"),
    threads: 1
    priority: 10
    log:
        "logs/preference/fit_preference_rewards.log",
    benchmark:
        "logs/preference/fit_preference_rewards.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/preference/rewards.py"


rule score_preference_loglik:
    input:
        pairs=rules.build_preference_pairs.output.pairs,
    output:
        predictions="results/preference/reward/loglik_{scorer}.parquet",
        provenance="results/preference/llm/loglik_{scorer}.json",
    params:
        study=config_keys("preference", "seed", "reward/loglik_pairs"),
        llm=config_keys("llm", "store_dir", "models/{scorer}"),
    wildcard_constraints:
        scorer=wildcard_choices(PREFERENCE_SCORERS),
    threads: 1
    priority: 10
    log:
        "logs/preference/score_preference_loglik/{scorer}.log",
    benchmark:
        "logs/preference/score_preference_loglik/{scorer}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/preference/loglik.py"


rule train_preference_dpo:
    input:
        pairs=rules.build_preference_pairs.output.pairs,
    output:
        adapter=directory("results/preference/adapter"),
        log=report("results/preference/tables/dpo_log.csv", caption="../report/preference/dpo_log.rst",
                   category="preference"),
        summary="results/preference/tables/dpo_training.json",
    params:
        study=config_keys("preference", "seed", *(f"dpo/{key}" for key in ("system", "train_pairs", "heldout_pairs", "steps",
                                                                           "batch_size", "learning_rate", "beta",
                                                                           "max_length", "lora"))),
    threads: 1
    priority: 20
    log:
        "logs/preference/train_preference_dpo.log",
    benchmark:
        "logs/preference/train_preference_dpo.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(4000),
        runtime=by_attempt(60),
    script:
        "../scripts/preference/dpo.py"


rule generate_preference_replies:
    input:
        pairs=rules.build_preference_pairs.output.pairs,
        adapter=lambda wildcards: [rules.train_preference_dpo.output.adapter] if wildcards.policy == "dpo" else [],
    output:
        replies="results/preference/replies/{policy}.parquet",
        provenance="results/preference/llm/replies_{policy}.json",
    params:
        study=config_keys("preference", "seed", "evaluation/questions", "evaluation/max_tokens", "dpo/base",
                          "dpo/system"),
        llm=config_keys("llm", "store_dir", f"models/{PREFERENCE_BASE}"),
    wildcard_constraints:
        policy="base|dpo",
    threads: 1
    priority: 20
    log:
        "logs/preference/generate_preference_replies/{policy}.log",
    benchmark:
        "logs/preference/generate_preference_replies/{policy}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/preference/replies.py"


rule compare_preference_policies:
    input:
        replies=expand(rules.generate_preference_replies.output.replies, policy=["base", "dpo"]),
        weights=rules.fit_preference_rewards.output.weights,
    output:
        comparison="results/preference/comparison/{judge}.parquet",
        provenance="results/preference/llm/compare_{judge}.json",
    params:
        study=config_keys("preference", "seed", "evaluation/judge_method/{judge}?"),
        llm=config_keys("llm", "store_dir", "models/{judge}"),
    wildcard_constraints:
        judge=wildcard_choices(PREFERENCE_EVAL_JUDGES),
    threads: 1
    priority: 20
    log:
        "logs/preference/compare_preference_policies/{judge}.log",
    benchmark:
        "logs/preference/compare_preference_policies/{judge}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/preference/compare.py"


rule summarise_preference:
    input:
        pairs=rules.build_preference_pairs.output.pairs,
        predictions=[rules.fit_preference_rewards.output.predictions,
                     *expand(rules.score_preference_loglik.output.predictions, scorer=PREFERENCE_SCORERS)],
        agreements=expand(rules.judge_preference_principles.output.agreement, judge=PREFERENCE_PRINCIPLE_JUDGES),
        comparisons=expand(rules.compare_preference_policies.output.comparison, judge=PREFERENCE_EVAL_JUDGES),
        dpo_log=rules.train_preference_dpo.output.log,
        replies=expand(rules.generate_preference_replies.output.replies, policy=["base", "dpo"]),
    output:
        **{name: report(f"results/preference/tables/{name}.csv", caption=f"../report/preference/{name}.rst",
                        category="preference") for name in PREFERENCE_TABLES},
        **{f"figure_{name}": report(f"results/preference/figures/{name}.png",
                                    caption=f"../report/preference/figure_{name}.rst", category="preference")
           for name in PREFERENCE_FIGURES},
        **{f"pdf_{name}": f"results/preference/figures/{name}.pdf" for name in PREFERENCE_FIGURES},
    params:
        study=config_keys("preference", "seed", "n_boot", "reward/calibration_bins"),
        labels=model_labels_of(dict.fromkeys(PREFERENCE_EVAL_JUDGES)),
    log:
        "logs/preference/summarise_preference.log",
    benchmark:
        "logs/preference/summarise_preference.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/preference/summarise.py"


STUDY_OUTPUTS["preference"] = [*rules.summarise_preference.output, rules.build_preference_pairs.output.statistics,
                               rules.train_preference_dpo.output.log, rules.train_preference_dpo.output.summary]
STUDY_INPUTS["preference"] = [PREFERENCE_SOURCE]
STUDY_LLM["preference"] = [
    *expand(rules.judge_preference_principles.output.provenance, judge=PREFERENCE_PRINCIPLE_JUDGES),
    *expand(rules.score_preference_loglik.output.provenance, scorer=PREFERENCE_SCORERS),
    *expand(rules.generate_preference_replies.output.provenance, policy=["base", "dpo"]),
    *expand(rules.compare_preference_policies.output.provenance, judge=PREFERENCE_EVAL_JUDGES),
]
STUDY_CLAIMS["preference"] = {
    "inputs": {name: getattr(rules.summarise_preference.output, name)
               for name in ("reward_accuracy", "principle_agreement", "policy_comparison")},
    "options": {"embedded": embedded_models(list(dict.fromkeys(
        [PREFERENCE_BASE, *PREFERENCE_PRINCIPLE_JUDGES, *PREFERENCE_SCORERS, *PREFERENCE_EVAL_JUDGES]))),
                "base": PREFERENCE_BASE, "min_usable": config["claims"]["floor_min_usable"]},
}
