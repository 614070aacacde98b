import pytest

from replisuite.llm import LLM, ModelEntry, RetryPolicy
from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer

FAST_RETRY = RetryPolicy(max_attempts=4, base_s=0.01, cap_s=0.05)


@pytest.fixture
def fake_server():
    servers = []

    def start(**behaviour):
        server = FakeOpenAIServer(Behaviour(**behaviour)).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def openai_entry(server, **overrides) -> ModelEntry:
    values = dict(
        name="fake", backend="openai", model="fake-model", base_url=server.base_url,
        api_key_env="REPLISUITE_TEST_KEY", concurrency=4, timeout=5.0, max_attempts=4,
    )
    values.update(overrides)
    return ModelEntry(**values)


def prompts(n, prefix="q"):
    return [[{"role": "user", "content": f"{prefix}{i}"}] for i in range(n)]


def client(server, store, **overrides) -> LLM:
    return LLM(openai_entry(server, **overrides), store)
