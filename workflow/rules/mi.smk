# Study mi: MI behaviour classifiers on AnnoMI and code rates vs MI quality.
# Each (task, classifier) cross-validation is a job of its own.

MI = config["mi"]
MI_ANNOMI = raw_path(MI["sources"]["annomi"])
MI_EMBEDDINGS = "results/mi/intermediate/embeddings.parquet"


rule prepare_mi_utterances:
    input:
        MI_ANNOMI,
    output:
        "results/mi/intermediate/utterances.parquet",
    log:
        "logs/mi/prepare_mi_utterances.log",
    benchmark:
        "logs/mi/prepare_mi_utterances.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/mi/prepare_utterances.py"


rule embed_mi_utterances:
    input:
        rules.prepare_mi_utterances.output[0],
    output:
        MI_EMBEDDINGS,
    params:
        store_dir=lookup(dpath="llm/store_dir", within=config),
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/mi/embed_mi_utterances.log",
    benchmark:
        "logs/mi/embed_mi_utterances.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/mi/embed_utterances.py"


rule classify_utterances:
    input:
        utterances=rules.prepare_mi_utterances.output[0],
        embeddings=lambda wildcards: MI_EMBEDDINGS if wildcards.classifier.startswith("embedding") else [],
    output:
        "results/mi/predictions/{task}.{classifier}.parquet",
    params:
        study=config_keys("mi", "n_splits", "seed", "tfidf", "logistic_C"),
    wildcard_constraints:
        task="|".join(MI["tasks"]),
        classifier="|".join(map(re.escape, MI["classifiers"])),
    threads: 1
    log:
        "logs/mi/classify_utterances/{task}.{classifier}.log",
    benchmark:
        "logs/mi/classify_utterances/{task}.{classifier}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/mi/classify_utterances.py"


rule summarise_mi:
    input:
        annomi=MI_ANNOMI,
        utterances=rules.prepare_mi_utterances.output[0],
        predictions=expand(rules.classify_utterances.output[0], task=MI["tasks"], classifier=MI["classifiers"]),
    output:
        f1=report("results/mi/tables/f1.csv", caption="../report/mi/f1.rst", category="mi"),
        confusion=report("results/mi/tables/confusion.csv", caption="../report/mi/confusion.rst", category="mi"),
        session_rates=report("results/mi/tables/session_code_rates.csv", caption="../report/mi/session_rates.rst", category="mi"),
        quality=report("results/mi/tables/codes_vs_quality.csv", caption="../report/mi/quality.rst", category="mi"),
        agreement=report("results/mi/tables/annotator_agreement.csv", caption="../report/mi/agreement.rst", category="mi"),
        f1_png=report("results/mi/figures/f1_by_class.png", caption="../report/mi/figure_f1.rst", category="mi"),
        f1_pdf="results/mi/figures/f1_by_class.pdf",
        rates_png=report("results/mi/figures/code_rates_by_quality.png", caption="../report/mi/figure_rates.rst", category="mi"),
        rates_pdf="results/mi/figures/code_rates_by_quality.pdf",
        confusion_png=report("results/mi/figures/confusion_matrices.png", caption="../report/mi/figure_confusion.rst", category="mi"),
        confusion_pdf="results/mi/figures/confusion_matrices.pdf",
    params:
        study=config_keys("mi", "seed", "n_boot", "tasks", "predicted_by"),
    log:
        "logs/mi/summarise_mi.log",
    benchmark:
        "logs/mi/summarise_mi.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(20),
    script:
        "../scripts/mi/summarise_mi.py"


STUDY_OUTPUTS["mi"] = rules.summarise_mi.output
STUDY_INPUTS["mi"] = [MI_ANNOMI]
STUDY_CLAIMS["mi"] = {
    "inputs": {"quality": rules.summarise_mi.output.quality, "f1": rules.summarise_mi.output.f1},
    "options": {},
}
