"""The paper-scale plan: usage counted from a store and benchmark files, extrapolated by the plan's factor."""

from pathlib import Path

import polars as pl
import pytest
import yaml

from replisuite import scaling
from replisuite.llm import ResponseStore
from replisuite.llm.requests import GenerationParams, Message, Request, Response
from tests.conftest import REPO


def response(text: str, usage: dict, origin: str = "live") -> Response:
    request = Request(kind="chat", backend="local", model="m", messages=(Message("user", text),),
                      params=GenerationParams(max_tokens=8))
    return Response(request=request, text="ok", parsed=None, model_version="v", fingerprint=None, usage=usage,
                    latency_s=0.1, created_at="2026-01-01T00:00:00+00:00", origin=origin)


def test_store_usage_counts_requests_and_both_kinds_of_tokens(tmp_path):
    with ResponseStore(tmp_path / "store") as store:
        store.put(response("a", {"prompt_tokens": 100, "completion_tokens": 7}))
        store.put(response("b", {"prompt_tokens": 50, "option_tokens": [2, 3, 4]}))  # a likelihood choice
        store.put(response("c", {"prompt_tokens": 999, "completion_tokens": 99}, origin="imported"))  # replayed record
    assert scaling.store_usage(tmp_path / "store", study="s") == {
        "study": "s", "requests": 2, "prompt_tokens": 150, "completion_tokens": 7 + 9}
    assert scaling.store_usage(tmp_path / "none", study="s")["requests"] == 0


def test_job_seconds_sums_the_benchmark_files_and_rejects_others(tmp_path):
    header = "s\th:m:s\tmax_rss\n"
    for name, seconds in (("a", 1.5), ("b/c", 2.25)):
        path = tmp_path / "logs/study" / f"{name}.benchmark.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + f"{seconds}\t0:00:01\t10\n")
    assert scaling.job_seconds(tmp_path / "logs", study="study") == {"study": "study", "jobs": 2, "job_seconds": 3.75}
    (tmp_path / "logs/study/bad.benchmark.tsv").write_text("not a benchmark\n")
    with pytest.raises(scaling.ScalingError, match="bad.benchmark.tsv"):
        scaling.job_seconds(tmp_path / "logs", study="study")


def test_default_units_from_config_keys_and_from_records(tmp_path):
    config = {"a": {"n": 3, "seeds": [1, 2], "per_label": {"m1": 4, "m2": 2}}}
    assert scaling.default_units({"config": ["a/n", "a/seeds"]}, config=config, root=tmp_path) == 6
    assert scaling.default_units({"config": ["a/per_label"]}, config=config, root=tmp_path) == 6
    folder = tmp_path / "results/x"
    folder.mkdir(parents=True)
    (folder / "one.jsonl").write_text('{"id": 1}\n{"id": 2}\n\n')
    (folder / "two.jsonl").write_text('{"id": 3}\n')
    assert scaling.default_units({"jsonl": "results/x/*.jsonl"}, config=config, root=tmp_path) == 3
    assert scaling.default_units({"jsonl": "results/**/*.jsonl"}, config=config, root=tmp_path) == 3
    assert scaling.default_units({"config": ["a/n"], "times": 2}, config=config, root=tmp_path) == 6
    pl.DataFrame({"case": ["1", "1", "2"], "method": ["a", "b", "a"]}).write_csv(folder / "t.csv")
    assert scaling.default_units({"table": "results/x/t.csv"}, config=config, root=tmp_path) == 3
    assert scaling.default_units({"table": "results/x/t.csv", "distinct": "case"}, config=config, root=tmp_path) == 2
    with pytest.raises(scaling.ScalingError, match="no column 'session'"):
        scaling.default_units({"table": "results/x/t.csv", "distinct": "session"}, config=config, root=tmp_path)
    with pytest.raises(scaling.ScalingError, match="no file"):
        scaling.default_units({"jsonl": "results/none/*.jsonl"}, config=config, root=tmp_path)
    with pytest.raises(scaling.ScalingError, match="a/missing"):
        scaling.default_units({"config": ["a/missing"]}, config=config, root=tmp_path)


def test_the_plan_multiplies_by_paper_over_default_and_leaves_uncounted_designs_empty():
    usage = pl.DataFrame({"study": ["s", "t"], "requests": [10, 4], "prompt_tokens": [1000, 40],
                          "completion_tokens": [200, 8]}, schema=scaling.USAGE_SCHEMA)
    jobs = pl.DataFrame({"study": ["s", "t"], "jobs": [3, 1], "job_seconds": [360.0, 10.0]}, schema=scaling.JOBS_SCHEMA)
    studies = {"s": {"unit": "cases", "paper": 50, "source": "the paper"}, "t": {"unit": "seeds", "paper": None}}
    table = scaling.plan_table(usage, jobs, studies, units={"s": 5, "t": 2}, prefill_tokens_per_s=100.0,
                               decode_tokens_per_s=10.0, slurm_jobs=4)
    s, t = table.row(0, named=True), table.row(1, named=True)
    assert (s["paper_requests"], s["paper_tokens"]) == (100, 12_000)                 # x10
    assert s["served_hours"] == pytest.approx((10_000 / 100 + 2_000 / 10) / 3600)    # prefill + decode
    assert s["cpu_hours"] == pytest.approx(1.0) and s["slurm_hours"] == pytest.approx(0.25)
    assert t["requests"] == 4 and t["paper_requests"] is None and t["served_hours"] is None
    assert "| s | cases | 5 → 50 | 10 |" in scaling.markdown(table)


def test_replace_block_keeps_the_rest_of_the_page():
    page = f"intro\n{scaling.BEGIN}\nold\n{scaling.END}\nafter\n"
    assert scaling.replace_block(page, "new", where="p") == f"intro\n{scaling.BEGIN}\nnew\n{scaling.END}\nafter\n"
    with pytest.raises(scaling.ScalingError, match="p: no"):
        scaling.replace_block("no block", "new", where="p")


def test_the_plan_file_names_real_config_keys_and_studies():
    plan = yaml.safe_load((REPO / scaling.PLAN).read_text())
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for study, spec in plan["studies"].items():
        assert study in config, f"{scaling.PLAN}: {study} is not a study"
        if "config" in spec["default"]:
            assert scaling.default_units(spec["default"], config=config, root=REPO) >= 1
    page = (REPO / "docs/scaling.md").read_text()
    block = page[page.index(scaling.BEGIN):page.index(scaling.END)]
    # generated from a run (not the placeholder), one row per study of the plan, with its command and date
    assert "Generated on" in block and "python -m replisuite.scaling" in block
    assert all(f"| {study} |" in block for study in plan["studies"])


def test_the_command_writes_the_page_from_a_run(tmp_path):
    root = tmp_path / "run"
    for name in ("config/config.yaml", "config/scaling.yaml", "workflow/profiles/slurm/config.yaml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text((REPO / name).read_text())
    plan = yaml.safe_load((REPO / scaling.PLAN).read_text())
    plan["studies"] = {"stigma": plan["studies"]["stigma"]}  # counted from config only
    (root / scaling.PLAN).write_text(yaml.safe_dump(plan))
    with ResponseStore(root / "data/llm/stigma") as store:
        store.put(response("a", {"prompt_tokens": 90, "completion_tokens": 10}))
    page = Path(tmp_path / "scaling.md")
    page.write_text(f"# Plan\n{scaling.BEGIN}\n{scaling.END}\n")
    assert scaling.main(["--root", str(root), "--write", str(page)]) == 0
    text = page.read_text()
    assert "| stigma | vignettes asked live |" in text and "Generated on" in text
    assert scaling.main(["--root", str(tmp_path / "nothing")]) == 1
