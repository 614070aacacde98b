# Study networks: EEMM process coding by in-context learning (one job per model coder and number of
# examples), two-step themes and each client's networks from each coder's codes, a judge's
# multi-step vs direct preference of each coder's networks, summary.
# The gold codes are an illustrative set written by the project (config/networks/eemm_gold.csv).

NETWORKS = config["networks"]
NETWORKS_ANNOMI = raw_path(NETWORKS["sources"]["annomi"])
NETWORKS_INPUTS = {"annomi": NETWORKS_ANNOMI, "gold": NETWORKS["gold"], "codebook": codebook_file(NETWORKS["codebook"])}
NETWORKS_TABLES = ["processes", "stability", "nodes", "edges", "network_statistics", "theme_frequencies", "theme_cooccurrence"]
NETWORKS_SUMMARY = ["detection", "comparison", "stability_summary"]
NETWORKS_FIGURES = ["detection", "networks", "themes"]
NETWORKS_CODERS = NETWORKS["coders"]


wildcard_constraints:
    networks_coder="|".join(map(re.escape, NETWORKS_CODERS)) or "no-model",


rule code_eemm:
    input:
        **NETWORKS_INPUTS,
    output:
        detections="results/networks/detections/{networks_coder}/{shots}.parquet",
        provenance="results/networks/llm/{networks_coder}/detections_{shots}.json",
    params:
        study=config_keys("networks", "seed", "codebook", "coder_params", "units_per_session"),
        llm=config_keys("llm", "store_dir", "models/{networks_coder}"),
    wildcard_constraints:
        shots=r"\d+",
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/networks/code_eemm/{networks_coder}/{shots}.log",
    benchmark:
        "logs/networks/code_eemm/{networks_coder}/{shots}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/networks/code_eemm.py"


rule build_networks:
    input:
        **NETWORKS_INPUTS,
        detections=expand(rules.code_eemm.output.detections, shots=NETWORKS["network_shots"], allow_missing=True),
    output:
        **{name: f"results/networks/tables/{{networks_coder}}/{name}.csv" for name in NETWORKS_TABLES},
        naming="results/networks/themes/{networks_coder}/naming.json",
        provenance="results/networks/llm/{networks_coder}/networks.json",
    params:
        study=config_keys("networks", "codebook", "themes", "window", "max_edges", "max_chars", "reply_params",
                          "direct_params"),
        llm=config_keys("llm", "store_dir", "models/{networks_coder}"),
        tables=NETWORKS_TABLES,
    threads: 1
    # long jobs first: started last, they were the run's tail on 2 cores
    priority: 10
    log:
        "logs/networks/build_networks/{networks_coder}.log",
    benchmark:
        "logs/networks/build_networks/{networks_coder}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
    script:
        "../scripts/networks/build_networks.py"


rule compare_networks:
    input:
        **NETWORKS_INPUTS,
        nodes=rules.build_networks.output.nodes,
        edges=rules.build_networks.output.edges,
        statistics=rules.build_networks.output.network_statistics,
    output:
        comparison="results/networks/comparison/{networks_coder}.parquet",
        provenance="results/networks/llm/{networks_coder}/comparison.json",
    params:
        study=config_keys("networks", "seed", "codebook", "judge", "max_chars"),
        llm=config_keys("llm", "store_dir", f"models/{NETWORKS['judge']}"),
    threads: 1
    log:
        "logs/networks/compare_networks/{networks_coder}.log",
    benchmark:
        "logs/networks/compare_networks/{networks_coder}.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        **LLM_RESOURCES,
        mem_mb=by_attempt(3000),
        runtime=by_attempt(30),
    script:
        "../scripts/networks/compare_networks.py"


rule summarise_networks:
    input:
        **NETWORKS_INPUTS,
        detections=expand(rules.code_eemm.output.detections, networks_coder=NETWORKS_CODERS, shots=NETWORKS["shots"]),
        stability=expand(rules.build_networks.output.stability, networks_coder=NETWORKS_CODERS),
        statistics=expand(rules.build_networks.output.network_statistics, networks_coder=NETWORKS_CODERS),
        comparison=expand(rules.compare_networks.output.comparison, networks_coder=NETWORKS_CODERS),
        # the figures show the first coder's networks and themes
        processes=expand(rules.build_networks.output.processes, networks_coder=NETWORKS_CODERS[:1]),
        nodes=expand(rules.build_networks.output.nodes, networks_coder=NETWORKS_CODERS[:1]),
        edges=expand(rules.build_networks.output.edges, networks_coder=NETWORKS_CODERS[:1]),
    output:
        **{name: report(f"results/networks/tables/{name}.csv", caption=f"../report/networks/{name}.rst",
                        category="networks") for name in NETWORKS_SUMMARY},
        **{f"figure_{name}": report(f"results/networks/figures/{name}.png", caption=f"../report/networks/figure_{name}.rst",
                                    category="networks") for name in NETWORKS_FIGURES},
        **{f"pdf_{name}": f"results/networks/figures/{name}.pdf" for name in NETWORKS_FIGURES},
    params:
        study=config_keys("networks", "seed", "n_boot", "codebook", "match", "figure_clients"),
        coders=NETWORKS_CODERS,
        tables=NETWORKS_SUMMARY,
        figures=NETWORKS_FIGURES,
    log:
        "logs/networks/summarise_networks.log",
    benchmark:
        "logs/networks/summarise_networks.benchmark.tsv"
    conda:
        "../../envs/llm.yaml"
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    script:
        "../scripts/networks/summarise.py"


STUDY_OUTPUTS["networks"] = [*rules.summarise_networks.output,
                             *expand([*rules.build_networks.output[:len(NETWORKS_TABLES)], rules.build_networks.output.naming],
                                     networks_coder=NETWORKS_CODERS)]
STUDY_INPUTS["networks"] = list(NETWORKS_INPUTS.values())
STUDY_LLM["networks"] = [
    *expand(rules.code_eemm.output.provenance, networks_coder=NETWORKS_CODERS,
            shots=sorted({*NETWORKS["shots"], NETWORKS["network_shots"]})),
    *expand([rules.build_networks.output.provenance, rules.compare_networks.output.provenance],
            networks_coder=NETWORKS_CODERS),
]
STUDY_CLAIMS["networks"] = {
    "inputs": {"detection": rules.summarise_networks.output.detection,
               "comparison": rules.summarise_networks.output.comparison,
               "stability": rules.summarise_networks.output.stability_summary},
    "options": {"coders": NETWORKS_CODERS, "judge": NETWORKS["judge"],
                "embedded": embedded_models([*NETWORKS_CODERS, NETWORKS["judge"]]),
                "min_usable": config["claims"]["floor_min_usable"]},
}
