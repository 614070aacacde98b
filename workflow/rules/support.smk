# Study support: does a support chat change PHQ-9/GAD-7, and which skills matter? (Fang, Yang et al.,
# CSCW 2024). Skill rates come from AnnoMI twice (annotated, classifier-measured); the default cohort
# is simulated with planted effects, and each (scenario, shard) of replicate cohorts is a job.

SUPPORT = config["support"]
SUPPORT_ANNOMI = raw_path(SUPPORT["sources"]["annomi"])
SUPPORT_TABLE = SUPPORT["cohort"]["table"] if SUPPORT["cohort"]["source"] == "table" else None
if SUPPORT["cohort"]["source"] == "table" and not SUPPORT_TABLE:
    raise WorkflowError("config support.cohort.source is table, but support.cohort.table names no file")
SUPPORT_SKILLS = list(SUPPORT["skills"])
SUPPORT_TRANSCRIPTS = SUPPORT["cohort"].get("transcripts") if SUPPORT_TABLE else None
SUPPORT_SCENARIO_KEYS = [f"scenarios/{SUPPORT['main_scenario']}", "simulation"] if SUPPORT_TABLE is None else []
if SUPPORT_TABLE is None and SUPPORT["main_scenario"] not in SUPPORT["scenarios"]:
    raise WorkflowError(f"config support.main_scenario {SUPPORT['main_scenario']!r} is not one of support.scenarios "
                        f"{sorted(SUPPORT['scenarios'])}")
SUPPORT_SHARDS = range(min(SUPPORT["replicates"]["shards"], SUPPORT["replicates"]["count"]))


rule measure_support_skills:
    input:
        SUPPORT_ANNOMI,
    output:
        sessions=report("results/support/tables/session_skills.csv", caption="../report/support/session_skills.rst",
                        category="support", subcategory="Skills from text"),
        measurement=report("results/support/tables/skill_measurement.csv", caption="../report/support/measurement.rst",
                           category="support", subcategory="Skills from text"),
        classifier_f1=report("results/support/tables/skill_classifier_f1.csv", caption="../report/support/classifier_f1.rst",
                             category="support", subcategory="Skills from text"),
    params:
        study=config_keys("support", "seed", "n_boot", "classifier"),
        skills={name: skill["codes"] for name, skill in SUPPORT["skills"].items()},
    threads: 1
    log:
        "logs/support/measure_support_skills.log",
    benchmark:
        "logs/support/measure_support_skills.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/support/measure_skills.py"


rule analyse_support_cohort:
    input:
        sessions=rules.measure_support_skills.output.sessions,
        table=[SUPPORT_TABLE] if SUPPORT_TABLE else [],
        transcripts=[SUPPORT_TRANSCRIPTS] if SUPPORT_TRANSCRIPTS else [],
        annomi=[SUPPORT_ANNOMI] if SUPPORT_TRANSCRIPTS else [],
    output:
        cohort="results/support/cohort/cohort.parquet",
        truth="results/support/cohort/truth.json",
        balance=report("results/support/tables/balance.csv", caption="../report/support/balance.rst", category="support",
                       subcategory="Chats vs no chats"),
        att=report("results/support/tables/att.csv", caption="../report/support/att.rst", category="support",
                   subcategory="Chats vs no chats"),
        effects=report("results/support/tables/skill_effects.csv", caption="../report/support/skill_effects.rst",
                       category="support", subcategory="Skill effects"),
    params:
        study=config_keys("support", "seed", "n_boot", "outcomes", "covariates", "matching/caliper_sd", "main_scenario",
                          *SUPPORT_SCENARIO_KEYS, *(["classifier"] if SUPPORT_TRANSCRIPTS else [])),
        skills={name: skill["codes"] for name, skill in SUPPORT["skills"].items()},
    threads: 1
    log:
        "logs/support/analyse_support_cohort.log",
    benchmark:
        "logs/support/analyse_support_cohort.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(20),
    script:
        "../scripts/support/analyse_cohort.py"


rule support_replicates:
    input:
        sessions=rules.measure_support_skills.output.sessions,
    output:
        att="results/support/replicates/{scenario}/{shard}.att.parquet",
        effects="results/support/replicates/{scenario}/{shard}.effects.parquet",
    params:
        study=config_keys("support", "seed", "outcomes", "covariates", "matching/caliper_sd", "simulation",
                          "scenarios/{scenario}", "replicates"),
        skills=SUPPORT_SKILLS,
    wildcard_constraints:
        scenario="|".join(map(re.escape, SUPPORT["scenarios"])),
        shard=r"\d+",
    threads: 1
    log:
        "logs/support/support_replicates/{scenario}/{shard}.log",
    benchmark:
        "logs/support/support_replicates/{scenario}/{shard}.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1500),
        runtime=by_attempt(30),
    script:
        "../scripts/support/replicates.py"


rule summarise_support:
    input:
        sessions=rules.measure_support_skills.output.sessions,
        measurement=rules.measure_support_skills.output.measurement,
        balance=rules.analyse_support_cohort.output.balance,
        att=rules.analyse_support_cohort.output.att,
        effects=rules.analyse_support_cohort.output.effects,
        truth=rules.analyse_support_cohort.output.truth,
        replicate_att=expand(rules.support_replicates.output.att, scenario=SUPPORT["scenarios"], shard=SUPPORT_SHARDS),
        replicate_effects=expand(rules.support_replicates.output.effects, scenario=SUPPORT["scenarios"], shard=SUPPORT_SHARDS),
    output:
        att_recovery=report("results/support/tables/att_recovery.csv", caption="../report/support/att_recovery.rst",
                            category="support", subcategory="Recovery and null"),
        skill_recovery=report("results/support/tables/skill_recovery.csv", caption="../report/support/skill_recovery.rst",
                              category="support", subcategory="Recovery and null"),
        balance_png=report("results/support/figures/balance.png", caption="../report/support/figure_balance.rst",
                           category="support", subcategory="Chats vs no chats"),
        balance_pdf="results/support/figures/balance.pdf",
        att_png=report("results/support/figures/att.png", caption="../report/support/figure_att.rst", category="support",
                       subcategory="Chats vs no chats"),
        att_pdf="results/support/figures/att.pdf",
        skills_png=report("results/support/figures/skill_effects.png", caption="../report/support/figure_skills.rst",
                          category="support", subcategory="Skill effects"),
        skills_pdf="results/support/figures/skill_effects.pdf",
        coverage_png=report("results/support/figures/coverage.png", caption="../report/support/figure_coverage.rst",
                            category="support", subcategory="Recovery and null"),
        coverage_pdf="results/support/figures/coverage.pdf",
        measurement_png=report("results/support/figures/skill_measurement.png",
                               caption="../report/support/figure_measurement.rst", category="support",
                               subcategory="Skills from text"),
        measurement_pdf="results/support/figures/skill_measurement.pdf",
    params:
        study=config_keys("support", "outcomes", "scenarios", "main_scenario"),
        skills=SUPPORT_SKILLS,
    log:
        "logs/support/summarise_support.log",
    benchmark:
        "logs/support/summarise_support.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1500),
        runtime=by_attempt(10),
    script:
        "../scripts/support/summarise.py"


STUDY_OUTPUTS["support"] = [
    *rules.measure_support_skills.output, *rules.analyse_support_cohort.output, *rules.summarise_support.output,
]
STUDY_INPUTS["support"] = [SUPPORT_ANNOMI, *([SUPPORT_TABLE] if SUPPORT_TABLE else []),
                           *([SUPPORT_TRANSCRIPTS] if SUPPORT_TRANSCRIPTS else [])]
STUDY_CLAIMS["support"] = {
    "inputs": {
        "att": rules.analyse_support_cohort.output.att, "effects": rules.analyse_support_cohort.output.effects,
        "truth": rules.analyse_support_cohort.output.truth, "att_recovery": rules.summarise_support.output.att_recovery,
        "skill_recovery": rules.summarise_support.output.skill_recovery,
    },
    "options": {
        "primary": SUPPORT["matching"]["primary"],
        "signs": {name: skill["published_sign"] for name, skill in SUPPORT["skills"].items()},
    },
}
