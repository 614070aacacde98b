from replisuite.provenance import RUN_STARTED_ENV
from replisuite.workflow import configure_environment


def test_src_first_on_pythonpath_once_and_single_threaded_blas():
    environ = {"PYTHONPATH": "/other:/src", "OMP_NUM_THREADS": "8"}
    configure_environment("/src", environ)
    configure_environment("/src", environ)
    assert environ["PYTHONPATH"] == "/src:/other"
    assert environ["OMP_NUM_THREADS"] == environ["OPENBLAS_NUM_THREADS"] == environ["POLARS_MAX_THREADS"] == "1"
    assert environ["TOKENIZERS_PARALLELISM"] == "false"


def test_run_start_is_set_once():
    environ = {RUN_STARTED_ENV: "then"}
    configure_environment("/src", environ)
    assert environ[RUN_STARTED_ENV] == "then"
    fresh = {}
    configure_environment("/src", fresh)
    assert fresh[RUN_STARTED_ENV].endswith("+00:00")


def test_no_rule_asks_for_more_than_one_thread():
    """Under `--cores 2` a 2-thread job waits until both cores are free, which the greedy scheduler
    never finds while 1-thread jobs are ready: such jobs ran last, alone, with a core idle (the time
    budget, README). A site raises threads per rule with `--set-threads`, not in the rules."""
    import re
    from pathlib import Path

    rules = Path(__file__).resolve().parents[1] / "workflow/rules"
    declared = {(path.name, value) for path in rules.glob("*.smk")
                for value in re.findall(r"^\s+threads:\s*(.+?)\s*$", path.read_text(), flags=re.M)}
    assert declared and {value for _, value in declared} == {"1"}, sorted(declared)
