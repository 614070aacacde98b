"""``python -m replisuite.warmup`` (run by ``make install``) goes through the jobs' own functions."""

from pathlib import Path

from replisuite import warmup


def test_every_step_runs_and_reports_its_time(capsys, monkeypatch):
    monkeypatch.setitem(warmup.STEPS, "embedded model", lambda: "stubbed: converted by make install")
    assert warmup.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(warmup.STEPS)
    assert "single-cell kernels: scanpy" in lines[1] and lines[1].endswith(" s)")


def test_the_embedded_model_step_finds_the_converted_weights():
    # make install converted them: a second call finds the copy (a folder holding the safetensors)
    folder = warmup.embedded_model()
    if folder != "skipped (no llm extra)":
        assert (Path(folder) / "model.safetensors").is_file() and (Path(folder) / "tokenizer.json").is_file()
