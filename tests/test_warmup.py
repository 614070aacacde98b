"""``python -m replisuite.warmup`` (run by ``make install``) goes through the jobs' own functions."""

from pathlib import Path

from replisuite import warmup


def test_every_step_runs_and_reports_its_time(capsys, monkeypatch):
    monkeypatch.setitem(warmup.STEPS, "embedded model", lambda: "stubbed: converted by make install")
    assert warmup.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(warmup.STEPS)
    assert "single-cell kernels: singlecell" in lines[1] and lines[1].endswith(" s)")


CHECK_KERNELS = """
import inspect, numba
from replisuite import warmup
from replisuite.singlecell import correlation, h5ad, markers, qc
warmup.singlecell_kernels()
kernels = [v for m in (correlation, h5ad, markers, qc) for v in vars(m).values() if isinstance(v, numba.core.registry.CPUDispatcher)]
sources = {k.__name__: inspect.getsource(k.py_func).split(":", 1)[1] for k in kernels}
# a kernel called only from another kernel is compiled into its caller, with no signature of its own
inside = {n for n in sources if any(n + "(" in src for o, src in sources.items() if o != n)}
print(len(kernels), sorted(k.__name__ for k in kernels if not k.signatures and k.__name__ not in inside))
"""


def test_the_singlecell_step_compiles_every_numba_kernel_of_the_layer():
    """In a fresh process (in this one, other tests may have compiled them already)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CHECK_KERNELS], capture_output=True, text=True, check=True)
    count, uncompiled = done.stdout.strip().split(" ", 1)
    assert int(count) >= 8 and uncompiled == "[]"


def test_the_embedded_model_step_finds_the_converted_weights():
    # make install converted them: a second call finds the copy (a folder holding the safetensors)
    folder = warmup.embedded_model()
    if folder != "skipped (no llm extra)":
        assert (Path(folder) / "model.safetensors").is_file() and (Path(folder) / "tokenizer.json").is_file()
