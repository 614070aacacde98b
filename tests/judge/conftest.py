import json

import pytest

from replisuite.llm import LLM, ModelEntry, ResponseStore
from replisuite.llm.requests import Completion


class LoglikDouble:
    """A likelihood backend double: scores each option with ``scorer(request) -> list[float]``."""

    name = "scripted"
    max_concurrency = 1

    def __init__(self, scorer):
        self.scorer = scorer
        self.calls = 0

    def complete(self, request):
        self.calls += 1
        scores = list(self.scorer(request))
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        return Completion(text=request.options[best], parsed={"option": request.options[best], "index": best, "scores": scores},
                          model_version="double")


@pytest.fixture
def store(tmp_path):
    with ResponseStore(tmp_path / "judge") as opened:
        yield opened


@pytest.fixture
def scripted_env(monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")


def model(store, backend, name="double"):
    return LLM(ModelEntry(name=name, backend="scripted", model=name), store, backend=backend)


def json_reply(scores):
    return json.dumps({item: {"score": score, "rationale": "because"} for item, score in scores.items()})
