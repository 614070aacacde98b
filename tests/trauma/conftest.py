import pytest

from replisuite.llm import ResponseStore


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")
    with ResponseStore(tmp_path / "trauma") as opened:
        yield opened
