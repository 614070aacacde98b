# Study topics: BERTopic over CounselChat answers, over seeds and per therapist group.

TOPICS = config["topics"]
TOPICS_ANSWERS = raw_path(TOPICS["sources"]["counsel_chat"])
TOPICS_GROUPS = {group.replace(" ", "_"): group for group in TOPICS["compare_groups"]}


rule embed_answers:
    input:
        TOPICS_ANSWERS,
    output:
        documents="results/topics/intermediate/documents.parquet",
        embeddings="results/topics/intermediate/embeddings.npy",
    params:
        study=config_keys("topics", "groups", "min_chars", "max_documents"),
        store_dir=lookup(dpath="llm/store_dir", within=config),
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/topics/embed_answers.log",
    benchmark:
        "logs/topics/embed_answers.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/topics/embed_answers.py"


# One job fits every model the summary reads and the 2-D map: UMAP's numba code compiles once per process.
TOPICS_FITS = {f"all_seed{seed}": (None, seed) for seed in TOPICS["seeds"]} | {
    f"{subset}_seed{TOPICS['seeds'][0]}": (group, TOPICS["seeds"][0]) for subset, group in TOPICS_GROUPS.items()}


TOPICS_MODEL = "results/topics/intermediate/bertopic_{fit}.json"


rule fit_topics:
    input:
        documents=rules.embed_answers.output.documents,
        embeddings=rules.embed_answers.output.embeddings,
    output:
        models=[TOPICS_MODEL.format(fit=fit) for fit in TOPICS_FITS],
        document_map="results/topics/intermediate/document_map.npy",
    params:
        study=config_keys("topics", "umap", "hdbscan", "vectorizer", "top_n_words"),
        fits=list(TOPICS_FITS.values()),
        map_seed=TOPICS["seeds"][0],
    threads: 1
    log:
        "logs/topics/fit_topics.log",
    benchmark:
        "logs/topics/fit_topics.benchmark.tsv"
    conda:
        "../../envs/text.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/topics/fit_topics.py"


rule summarise_topics:
    input:
        documents=rules.embed_answers.output.documents,
        document_map=rules.fit_topics.output.document_map,
        seed_models=[TOPICS_MODEL.format(fit=f"all_seed{seed}") for seed in TOPICS["seeds"]],
        group_models=[TOPICS_MODEL.format(fit=f"{subset}_seed{TOPICS['seeds'][0]}") for subset in TOPICS_GROUPS],
    output:
        topics=report("results/topics/tables/topics.csv", caption="../report/topics/topics.rst", category="topics"),
        sizes_by_group=report("results/topics/tables/topic_sizes_by_group.csv", caption="../report/topics/sizes_by_group.rst", category="topics"),
        coherence=report("results/topics/tables/coherence.csv", caption="../report/topics/coherence.rst", category="topics"),
        stability=report("results/topics/tables/stability.csv", caption="../report/topics/stability.rst", category="topics"),
        groups=report("results/topics/tables/group_topic_match.csv", caption="../report/topics/groups.rst", category="topics"),
        group_test=report("results/topics/tables/group_topic_test.csv", caption="../report/topics/group_test.rst", category="topics"),
        sizes_png=report("results/topics/figures/topic_sizes_by_group.png", caption="../report/topics/figure_sizes.rst", category="topics"),
        sizes_pdf="results/topics/figures/topic_sizes_by_group.pdf",
        words_png=report("results/topics/figures/topic_words.png", caption="../report/topics/figure_words.rst", category="topics"),
        words_pdf="results/topics/figures/topic_words.pdf",
        map_png=report("results/topics/figures/document_map.png", caption="../report/topics/figure_map.rst", category="topics"),
        map_pdf="results/topics/figures/document_map.pdf",
    params:
        study=config_keys("topics", "vectorizer", "top_n_words", "compare_groups"),
    threads: 1
    log:
        "logs/topics/summarise_topics.log",
    benchmark:
        "logs/topics/summarise_topics.benchmark.tsv"
    conda:
        "../../envs/text.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/topics/summarise_topics.py"


STUDY_OUTPUTS["topics"] = rules.summarise_topics.output
STUDY_INPUTS["topics"] = [TOPICS_ANSWERS]
STUDY_CLAIMS["topics"] = {
    "inputs": {"coherence": rules.summarise_topics.output.coherence},
    "options": {"seed": TOPICS["seeds"][0]},
}
