import os
import subprocess
import sys

from replisuite.provenance import RUN_STARTED_ENV
from replisuite.workflow import compile_library, configure_environment


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


def test_the_library_is_compiled_once_for_jobs_that_may_not_write_bytecode(tmp_path):
    package = tmp_path / "replisuite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("VALUE = 1\n")
    assert compile_library(str(tmp_path))
    cached = list((package / "__pycache__").glob("mod.*.pyc"))
    assert len(cached) == 1
    # a job with PYTHONDONTWRITEBYTECODE imports from that bytecode (it could not write its own)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", "import replisuite.mod as m; print(m.__cached__, m.__spec__.loader.get_code('replisuite.mod') is not None)"],
                          env=env, capture_output=True, text=True, check=True)
    assert str(cached[0]) in done.stdout
    # an edited module is compiled again on the next call (pyc files record the source's mtime)
    (package / "mod.py").write_text("VALUE = 22\n")
    later = (package / "mod.py").stat().st_mtime + 2
    os.utime(package / "mod.py", (later, later))
    assert compile_library(str(tmp_path))
    assert int.from_bytes(cached[0].read_bytes()[8:12], "little") == int(later)   # the header's source mtime


def test_a_module_that_does_not_compile_leaves_the_run_going(tmp_path):
    """Best effort: a broken module (or a folder it cannot write) is reported by a False, never raised."""
    package = tmp_path / "replisuite"
    package.mkdir()
    (package / "good.py").write_text("VALUE = 1\n")
    (package / "broken.py").write_text("def (:\n")
    assert compile_library(str(tmp_path)) is False
    assert list((package / "__pycache__").glob("good.*.pyc"))      # the others are still compiled
