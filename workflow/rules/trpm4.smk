# Study trpm4: CEP-IP. One GAM job per group x patient x gene set; one CEP/CV/IP job and one
# DEG/GO job per group x patient; everything else once.

TRPM4 = config["trpm4"]
TRPM4_SIMULATED = TRPM4["cohort"]["source"] == "simulate"
if not TRPM4_SIMULATED and not TRPM4["cohort"]["h5ad"]:
    raise WorkflowError("config trpm4.cohort.source is 'h5ad' but trpm4.cohort.h5ad names no file")
TRPM4_COHORT = "data/trpm4/simulated_cohort.h5ad" if TRPM4_SIMULATED else TRPM4["cohort"]["h5ad"]
TRPM4_TRUTH = "data/trpm4/planted_truth.parquet" if TRPM4_SIMULATED else []
TRPM4_PLANTED_GENES = "data/trpm4/planted_genes.json" if TRPM4_SIMULATED else []
TRPM4_GROUPS = list(TRPM4["groups"])
TRPM4_FIGURES = ["dual_filter", "de_heatmap", "cv", "quadrants", "go"] + [f"gam_fits_{g}" for g in TRPM4_GROUPS]
# one caption for the per-group GAM panels
TRPM4_CAPTIONS = {name: "gam_fits" if name.startswith("gam_fits_") else name for name in TRPM4_FIGURES}
TRPM4_PER_PATIENT = {"trpm4_group": TRPM4_GROUPS, "trpm4_patient": TRPM4["patients"]}
TRPM4_TABLES = ["gam_fits", "set_comparison", "cep", "cv", "deg_counts", "degs", "go_top", "go_themes",
                "dual_filter", "dual_filter_recovery", "recovery"]


wildcard_constraints:
    trpm4_group="|".join(map(re.escape, TRPM4_GROUPS)),
    trpm4_patient="|".join(map(re.escape, TRPM4["patients"])),
    trpm4_set="|".join(map(re.escape, TRPM4["gene_sets"])),


rule simulate_trpm4_cohort:
    output:
        cohort="data/trpm4/simulated_cohort.h5ad",
        truth="data/trpm4/planted_truth.parquet",
        genes="data/trpm4/planted_genes.json",
    params:
        study=config_keys("trpm4", "simulation", "groups", "gene_sets", "focus_set", "patients", "anchor"),
    log:
        "logs/trpm4/simulate_trpm4_cohort.log",
    benchmark:
        "logs/trpm4/simulate_trpm4_cohort.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(8000),
        runtime=by_attempt(30),
    script:
        "../scripts/trpm4/simulate.py"


rule prepare_trpm4_cells:
    input:
        cohort=TRPM4_COHORT,
    output:
        cells="data/trpm4/cells.h5ad",
        qc=report("results/trpm4/tables/qc.csv", caption="../report/trpm4/qc.rst", category="trpm4"),
    params:
        study=config_keys("trpm4", "cohort/layer", "cohort/obs", "anchor", "gene_sets", "allow_partial_sets", "groups",
                          "qc", "min_cells_per_patient", "patients"),
    log:
        "logs/trpm4/prepare_trpm4_cells.log",
    benchmark:
        "logs/trpm4/prepare_trpm4_cells.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(8000),
        runtime=by_attempt(30),
    script:
        "../scripts/trpm4/prepare.py"


rule score_trpm4_cells:
    input:
        cells=rules.prepare_trpm4_cells.output.cells,
    output:
        scores="results/trpm4/tables/gene_set_scores.parquet",
        sets=report("results/trpm4/tables/gene_sets.csv", caption="../report/trpm4/gene_sets.rst", category="trpm4"),
    params:
        study=config_keys("trpm4", "gene_sets", "anchor", "allow_partial_sets"),
    log:
        "logs/trpm4/score_trpm4_cells.log",
    benchmark:
        "logs/trpm4/score_trpm4_cells.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(4000),
        runtime=by_attempt(15),
    script:
        "../scripts/trpm4/score.py"


rule trpm4_dual_filter:
    input:
        cells=rules.prepare_trpm4_cells.output.cells,
    output:
        table="results/trpm4/tables/dual_filter/{trpm4_group}.csv",
    params:
        study=config_keys("trpm4", "anchor", "dual_filter"),
    threads: 1
    log:
        "logs/trpm4/trpm4_dual_filter/{trpm4_group}.log",
    benchmark:
        "logs/trpm4/trpm4_dual_filter/{trpm4_group}.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(6000),
        runtime=by_attempt(30),
    script:
        "../scripts/trpm4/dual_filter.py"


rule trpm4_features:
    input:
        cells=rules.prepare_trpm4_cells.output.cells,
    output:
        features="results/trpm4/features.parquet",
    params:
        study=config_keys("trpm4", "cv/classifier/genes", "cv/classifier/components", "cv/classifier/exclude_pattern",
                          "cv/classifier/seed", "anchor", f"gene_sets/{TRPM4['focus_set']}", "focus_set"),
    log:
        "logs/trpm4/trpm4_features.log",
    benchmark:
        "logs/trpm4/trpm4_features.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(6000),
        runtime=by_attempt(15),
    script:
        "../scripts/trpm4/features.py"


rule trpm4_gam:
    # one job per group and patient fits every gene set (a job per set spent most of its time starting up)
    input:
        scores=rules.score_trpm4_cells.output.scores,
    output:
        fits=[f"results/trpm4/fits/{{trpm4_group}}/{{trpm4_patient}}/{name}.json" for name in TRPM4["gene_sets"]],
        fitted=[f"results/trpm4/fits/{{trpm4_group}}/{{trpm4_patient}}/{name}.parquet" for name in TRPM4["gene_sets"]],
    params:
        study=config_keys("trpm4", "gam"),
        sets=list(TRPM4["gene_sets"]),
    log:
        "logs/trpm4/trpm4_gam/{trpm4_group}/{trpm4_patient}.log",
    benchmark:
        "logs/trpm4/trpm4_gam/{trpm4_group}/{trpm4_patient}.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/trpm4/gam.py"


rule trpm4_cell_power:
    input:
        fit=f"results/trpm4/fits/{{trpm4_group}}/{{trpm4_patient}}/{TRPM4['focus_set']}.json",
        fitted=f"results/trpm4/fits/{{trpm4_group}}/{{trpm4_patient}}/{TRPM4['focus_set']}.parquet",
        features=rules.trpm4_features.output.features,
    output:
        cells="results/trpm4/cep/{trpm4_group}/{trpm4_patient}.cells.parquet",
        summary="results/trpm4/cep/{trpm4_group}/{trpm4_patient}.json",
        cv="results/trpm4/cep/{trpm4_group}/{trpm4_patient}.cv.parquet",
    params:
        study=config_keys("trpm4", "ip", "transition", "gam", "cv/repeats", "cv/train_fraction", "cv/seed", "cv/selections",
                          "cv/normality_alpha", "cv/classifier/c"),
    log:
        "logs/trpm4/trpm4_cell_power/{trpm4_group}/{trpm4_patient}.log",
    benchmark:
        "logs/trpm4/trpm4_cell_power/{trpm4_group}/{trpm4_patient}.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/trpm4/cell_power.py"


rule trpm4_markers:
    input:
        cells=rules.prepare_trpm4_cells.output.cells,
        cell_power=rules.trpm4_cell_power.output.cells,
    output:
        degs="results/trpm4/degs/{trpm4_group}/{trpm4_patient}.parquet",
        go="results/trpm4/go/{trpm4_group}/{trpm4_patient}.parquet",
    params:
        study=config_keys("trpm4", "degs", f"gene_sets/{TRPM4['focus_set']}", "focus_set"),
    log:
        "logs/trpm4/trpm4_markers/{trpm4_group}/{trpm4_patient}.log",
    benchmark:
        "logs/trpm4/trpm4_markers/{trpm4_group}/{trpm4_patient}.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(15),
    script:
        "../scripts/trpm4/markers.py"


rule summarise_trpm4:
    input:
        fits=expand(rules.trpm4_gam.output.fits, **TRPM4_PER_PATIENT),
        cells=expand(rules.trpm4_cell_power.output.cells, **TRPM4_PER_PATIENT),
        summaries=expand(rules.trpm4_cell_power.output.summary, **TRPM4_PER_PATIENT),
        cv=expand(rules.trpm4_cell_power.output.cv, **TRPM4_PER_PATIENT),
        degs=expand(rules.trpm4_markers.output.degs, **TRPM4_PER_PATIENT),
        go=expand(rules.trpm4_markers.output.go, **TRPM4_PER_PATIENT),
        dual=expand(rules.trpm4_dual_filter.output.table, trpm4_group=TRPM4_GROUPS),
        truth=TRPM4_TRUTH,
        planted_genes=TRPM4_PLANTED_GENES,
    output:
        **{name: report(f"results/trpm4/tables/{name}.csv", caption=f"../report/trpm4/{name}.rst", category="trpm4")
           for name in TRPM4_TABLES},
        **{f"figure_{name}": report(f"results/trpm4/figures/{name}.png", caption=f"../report/trpm4/figure_{TRPM4_CAPTIONS[name]}.rst",
                                    category="trpm4") for name in TRPM4_FIGURES},
        **{f"pdf_{name}": f"results/trpm4/figures/{name}.pdf" for name in TRPM4_FIGURES},
    params:
        study=config_keys("trpm4", "groups", "degs", "go", "focus_set", "cv/normality_alpha", "cv/train_fraction", "cv/selections", "dual_filter",
                          "simulation/programmes",
                          "cohort/source", "anchor"),
        tables=TRPM4_TABLES,
        figures=TRPM4_FIGURES,
    log:
        "logs/trpm4/summarise_trpm4.log",
    benchmark:
        "logs/trpm4/summarise_trpm4.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(15),
    script:
        "../scripts/trpm4/summarise.py"


rule trpm4_calibration:
    output:
        "results/trpm4/calibration/{scenario}/{shard}.parquet",
    params:
        study=config_keys("trpm4", "gam", "ip", "transition", "cv/repeats", "cv/train_fraction", "cv/classifier/c", "cv/classifier/components", "calibration/patients",
                          "calibration/cells", "calibration/seed", "calibration/replicates", "calibration/shards"),
    wildcard_constraints:
        scenario="|".join(TRPM4["calibration"]["scenarios"]),
        shard=r"\d+",
    log:
        "logs/trpm4/trpm4_calibration/{scenario}/{shard}.log",
    benchmark:
        "logs/trpm4/trpm4_calibration/{scenario}/{shard}.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(15),
    script:
        "../scripts/trpm4/calibrate.py"


rule summarise_trpm4_calibration:
    input:
        expand(rules.trpm4_calibration.output[0], scenario=TRPM4["calibration"]["scenarios"],
               shard=range(min(TRPM4["calibration"]["shards"], TRPM4["calibration"]["replicates"]))),
    output:
        table=report("results/trpm4/tables/calibration.csv", caption="../report/trpm4/calibration.rst", category="trpm4",
                     subcategory="Calibration"),
        patients="results/trpm4/tables/calibration_patients.csv",
        figure_png=report("results/trpm4/figures/calibration.png", caption="../report/trpm4/figure_calibration.rst",
                          category="trpm4", subcategory="Calibration"),
        figure_pdf="results/trpm4/figures/calibration.pdf",
    log:
        "logs/trpm4/summarise_trpm4_calibration.log",
    benchmark:
        "logs/trpm4/summarise_trpm4_calibration.benchmark.tsv"
    conda:
        "../../envs/scrna.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/trpm4/summarise_calibration.py"


STUDY_OUTPUTS["trpm4"] = [
    *rules.summarise_trpm4_calibration.output,
    *rules.summarise_trpm4.output,
    rules.prepare_trpm4_cells.output.qc,
    *rules.score_trpm4_cells.output,
    *rules.summarise_trpm4.input.dual,
]
STUDY_INPUTS["trpm4"] = [TRPM4_COHORT] + ([TRPM4_TRUTH, TRPM4_PLANTED_GENES] if TRPM4_SIMULATED else [])
STUDY_CLAIMS["trpm4"] = {
    "inputs": {
        **{name: rules.summarise_trpm4.output[name] for name in ("gam_fits", "recovery", "cep")},
        "calibration": rules.summarise_trpm4_calibration.output.patients,
    },
    "options": {"focus": TRPM4["focus_set"], "simulated": TRPM4_SIMULATED, "seed": TRPM4["cv"]["seed"]},
}
