# The run's last job: compare every table, figure and claims file with the committed record
# (results/CHECKSUMS.sha256, written by `make record`) for the report; `make reproduce` prints it.
from replisuite.reproduction import COMPARISON, record_digests


rule compare_with_record:
    input:
        manifests=expand("results/{study}/manifest.json", study=sorted(STUDY_OUTPUTS)),
        scorecard=rules.write_scorecard.output.table,
    output:
        report(COMPARISON, caption="../report/reproduction.rst", category="Reproduction"),
    params:
        # the record's own digests: a new record (make record) reruns the comparison
        record=record_digests(),
    log:
        "logs/compare_with_record.log",
    benchmark:
        "logs/compare_with_record.benchmark.tsv"
    conda:
        "../../envs/core.yaml"
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/compare_with_record.py"
