import polars as pl
import pytest

from replisuite.cluster import memory_report, slurm_conf
from replisuite.workflow import ListedJob, config_subset, listed_jobs

LISTING = """
Building DAG of jobs...
Job stats:
job      count
-----  -------
a            2

[Sun Nov 29 11:05:40 2026]
rule trpm4_gam:
    input: results/trpm4/tables/gene_set_scores.parquet
    output: results/trpm4/fits/PCa/P1/Ribo.json
    log: logs/trpm4/trpm4_gam/PCa/P1/Ribo.log
    jobid: 7
    benchmark: logs/trpm4/trpm4_gam/PCa/P1/Ribo.benchmark.tsv
    reason: Params have changed since last execution: before: {'gam': 1} now: {'gam': 2}
    wildcards: trpm4_group=PCa, trpm4_patient=P1, trpm4_set=Ribo
    resources: tmpdir=/tmp, mem_mb=1000, mem=1000 MB, mem_mib=954, runtime=10

[Sun Nov 29 11:05:41 2026]
localrule all:
    input: results/trpm4/manifest.json
    jobid: 0
    reason: Input files updated by another job: results/trpm4/manifest.json
    resources: tmpdir=/tmp
"""


def test_listed_jobs_reads_rule_reason_wildcards_resources_and_benchmark():
    gam, everything = listed_jobs(LISTING)
    assert gam.rule == "trpm4_gam" and gam.reason.startswith("Params have changed")
    assert gam.wildcards == {"trpm4_group": "PCa", "trpm4_patient": "P1", "trpm4_set": "Ribo"}
    assert gam.resources["mem_mb"] == "1000" and gam.resources["mem"] == "1000 MB"
    assert gam.benchmark == "logs/trpm4/trpm4_gam/PCa/P1/Ribo.benchmark.tsv"
    assert everything.rule == "all" and everything.benchmark is None


def test_config_subset_keeps_only_the_listed_paths():
    section = {"gam": {"k_min": 3, "k_max": 10}, "cv": {"seed": 1, "repeats": 20}, "models": {"m": {"backend": "local"}},
               "answer_method": {}}
    subset = config_subset(section, ["gam", "cv/repeats", "models/{model}", "answer_method/{model}?"],
                           wildcards={"model": "m"})
    assert subset == {"gam": {"k_min": 3, "k_max": 10}, "cv": {"repeats": 20}, "models": {"m": {"backend": "local"}},
                      "answer_method": {}}
    subset["gam"]["k_min"] = 99
    assert section["gam"]["k_min"] == 3  # a copy: a job cannot change the config
    with pytest.raises(KeyError, match=r"config trpm4 has no key 'cv/repeat'"):
        config_subset(section, ["cv/repeat"], name="config trpm4")


def test_slurm_conf_has_one_node_one_partition_and_no_accounting(tmp_path):
    text = slurm_conf(host="node1", cpus=2, memory_mb=4000, state_dir=tmp_path)
    settings = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith(("#", "NodeName", "PartitionName")))
    assert settings["AccountingStorageType"] == "accounting_storage/none"
    assert settings["SelectTypeParameters"] == "CR_Core_Memory" and settings["SlurmctldHost"] == "node1"
    assert "NodeName=node1 CPUs=2 RealMemory=4000 State=UNKNOWN" in text
    assert "PartitionName=main Nodes=node1 Default=YES" in text


def test_memory_report_compares_requested_with_peak_rss(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    jobs = []
    for patient, rss in (("P1", 120.5), ("P2", 300.0)):
        path = tmp_path / f"logs/trpm4/trpm4_gam/{patient}.benchmark.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"2.5\t0:00:02\t{rss}\t500\t100\t110\t0\t0\t90\t2.2\n")
        jobs.append(ListedJob("trpm4_gam", resources={"mem_mb": "1000"}, benchmark=str(path.relative_to(tmp_path))))
    jobs.append(ListedJob("all"))
    jobs.append(ListedJob("dump_config", resources={"mem_mb": "200"}, benchmark="logs/missing.benchmark.tsv"))
    report = memory_report(jobs, tmp_path)
    assert report.to_dicts() == [{"rule": "trpm4_gam", "jobs": 2, "requested_mb": 1000, "used_mb": 300.0,
                                  "used_share": 0.3, "max_seconds": 2.5}]
    assert memory_report([], tmp_path).schema["used_share"] == pl.Float64
