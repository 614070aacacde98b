import numpy as np
import pytest

from replisuite.llm import (
    LLM, LLMError, Message, ModelEntry, ReplayMissingError, Response, RunFailedError,
    ScriptedBackend, embed, load_models, make_backend,
)
from replisuite.llm import embeddings


def test_replay_answers_from_the_imported_record_and_names_what_is_missing(store):
    entry = ModelEntry(name="gpt-4o (published)", backend="replay", model="gpt-4o-2024-08-06")
    llm = LLM(entry, store)
    asked = llm.request([Message("user", "Would you work with John?")])
    store.put(Response(asked, "No.", None, "gpt-4o-2024-08-06", None, {}, 0.0, "2025-01-18T00:00:00+00:00", "imported"))
    assert llm.chat([Message("user", "Would you work with John?")]).text == "No."
    with pytest.raises(RunFailedError, match="not in the published record") as caught:
        llm.chat([Message("user", "Would you work with Jane?")])
    assert "Jane" in str(caught.value) and "replay:gpt-4o-2024-08-06" in str(caught.value)
    assert len(store) == 1


def test_replay_backend_raises_the_specific_error(store):
    backend = make_backend(ModelEntry(name="r", backend="replay", model="m"))
    request = LLM(ModelEntry(name="r", backend="replay", model="m"), store).request([Message("user", "x")])
    with pytest.raises(ReplayMissingError):
        backend.complete(request)


def test_scripted_backend_is_refused_outside_tests(monkeypatch):
    monkeypatch.delenv("REPLISUITE_ALLOW_SCRIPTED", raising=False)
    with pytest.raises(LLMError, match="test double"):
        ScriptedBackend(lambda request: "x")
    with pytest.raises(LLMError, match="test double"):
        make_backend(ModelEntry(name="s", backend="scripted", model="m"))


def test_scripted_backend_parses_choices_strictly(monkeypatch, store):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")
    answers = iter(["Strongly agree.", "agree or disagree", "Agree"])
    llm = LLM(ModelEntry(name="s", backend="scripted", model="m"), store, ScriptedBackend(lambda r: next(answers)))
    options = ["Strongly agree", "Agree", "Disagree"]
    first = llm.choose([Message("user", "1")], options)
    assert (first.option, first.index, first.method) == ("Strongly agree", 0, "parsed")
    assert llm.choose([Message("user", "2")], options).option is None
    assert llm.choose([Message("user", "3")], options).option == "Agree"


def test_model_entries_from_config():
    models = load_models({
        "models": {
            "smollm2-135m": {"backend": "local", "model": "SmolLM2-135M-Instruct", "label": "SmolLM2 (135M)",
                             "params": {"temperature": 0.0, "max_tokens": 64, "seed": 3, "stop": ["\n"]}},
            "vllm": {"backend": "openai", "model": "llama", "base_url": "http://localhost:8000/v1", "concurrency": 16},
        }
    })
    assert models["smollm2-135m"].params.stop == ("\n",) and models["smollm2-135m"].params.seed == 3
    assert models["vllm"].concurrency == 16 and models["vllm"].label == "vllm"
    with pytest.raises(LLMError, match="keys never go in config"):
        load_models({"models": {"x": {"backend": "openai", "model": "m", "api_key": "sk-1"}}})
    with pytest.raises(LLMError, match="backend must be one of"):
        load_models({"models": {"x": {"backend": "hub", "model": "m"}}})


@pytest.mark.slow
def test_embeddings_are_offline_normalised_meaningful_and_cached(store, monkeypatch):
    texts = ["I feel anxious before exams.", "Exams make me nervous.", "The train leaves at noon."]
    vectors = embed(texts, store=store)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    monkeypatch.setattr(embeddings, "_embedder", lambda path: pytest.fail("recomputed a cached text"))
    assert np.array_equal(embed(texts[::-1], store=store), vectors[::-1])


YES_NO = ("Yes", "No")
LIKERT = ("Strongly agree", "Agree", "Disagree")


@pytest.mark.parametrize(
    "text, options, expected",
    [
        ("Yes", YES_NO, "Yes"), (" yes. ", YES_NO, "Yes"), ('"No"', YES_NO, "No"),
        ("No, I would not.", YES_NO, "No"), ("Yes and no", YES_NO, None), ("Maybe", YES_NO, None),
        ("", YES_NO, None), ("I think yes", YES_NO, None), ("Strongly agree!", LIKERT, "Strongly agree"),
        ("Agree", LIKERT, "Agree"), ("agree or disagree", LIKERT, None),
    ],
)
def test_parse_choice(text, options, expected):
    from replisuite.llm.backends import parse_choice

    assert parse_choice(text, options)["option"] == expected


def test_open_study_models_uses_one_store_per_study(tmp_path):
    from replisuite.llm import open_study_models

    section = {"store_dir": str(tmp_path / "llm"), "models": {
        "r": {"backend": "replay", "model": "m"}, "l": {"backend": "local", "model": "SmolLM2-135M-Instruct"}}}
    store, models = open_study_models(section, "stigma", ["r", "l"], threads=3)
    assert store.path == tmp_path / "llm" / "stigma" and models["r"].entry.model == "m"
    assert models["l"].entry.threads == 3 and models["r"].entry.threads is None
    store.close()
    with pytest.raises(LLMError, match=r"unknown model entries \['gpt'\]"):
        open_study_models(section, "stigma", ["gpt"])


def test_cli_exports_and_imports(store, tmp_path, capsys):
    from replisuite.llm.__main__ import main

    request = LLM(ModelEntry(name="r", backend="replay", model="m"), store).request([Message("user", "q")])
    store.put(Response(request, "a", None, None, None, {}, 0.0, "2025-01-01T00:00:00+00:00", "imported"))
    assert main(["export", str(store.path), str(tmp_path / "e.jsonl")]) == 0
    assert main(["import", str(tmp_path / "copy"), str(tmp_path / "e.jsonl")]) == 0
    assert main(["stats", str(tmp_path / "copy")]) == 0
    out = capsys.readouterr().out
    assert "1 answers written" in out and "1 new answers" in out and "replay\tm\t1" in out


def test_provenance_of_several_jobs_is_merged_per_entry():
    from replisuite.provenance import merge_provenance

    job = {"entry": "m", "backend": "local", "model": "x", "params": {}, "requests": 10, "unique": 10,
           "cache_hits": 4, "new_calls": 6, "failures": 0, "retries": 1, "model_versions": ["v1"]}
    merged = merge_provenance([job, {**job, "cache_hits": 10, "new_calls": 0, "model_versions": ["v2"]},
                               {**job, "entry": "n"}])
    assert [m["entry"] for m in merged] == ["m", "n"]
    assert merged[0]["requests"] == 20 and merged[0]["cache_hits"] == 14 and merged[0]["new_calls"] == 6
    assert merged[0]["model_versions"] == ["v1", "v2"] and merged[0]["jobs"] == 2 and merged[1]["jobs"] == 1


def test_cli_reports_a_corrupt_store_without_a_traceback(tmp_path):
    import subprocess
    import sys

    broken = tmp_path / "broken"
    broken.write_bytes(b"this is not a database" * 100)
    done = subprocess.run([sys.executable, "-m", "replisuite.llm", "stats", str(broken)], capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and "broken: not a usable response store" in done.stderr
    debug = subprocess.run([sys.executable, "-m", "replisuite.llm", "--debug", "stats", str(broken)],
                           capture_output=True, text=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_cli_on_a_store_that_does_not_exist_says_so_and_creates_nothing(tmp_path, capsys):
    from replisuite.llm.__main__ import main

    missing = tmp_path / "nowhere" / "study"
    for command in (["stats", str(missing)], ["export", str(missing), str(tmp_path / "out.jsonl")]):
        assert main(command) == 1
        assert "no response store there" in capsys.readouterr().err
    assert not missing.exists() and not missing.parent.exists()
