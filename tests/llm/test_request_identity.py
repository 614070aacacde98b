"""What a request's key names besides the messages: the server or weights that answer it, and
parameters given as null."""

import hashlib
import json

import pytest

from replisuite.llm import LLM, ModelEntry
from replisuite.llm.local import smollm2_path, weights_digest
from replisuite.llm.models import normalised_url
from replisuite.llm.requests import GenerationParams, Message, Request
from tests.llm.conftest import FAST_RETRY, openai_entry, prompts


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("HTTP://LocalHost:8000/v1/", "http://localhost:8000/v1"),
    ("https://api.example.org:443/v1", "https://api.example.org/v1"),
    ("http://lab-gpu:80/v1/", "http://lab-gpu/v1"),
    ("https://lab-gpu:8443/v1", "https://lab-gpu:8443/v1"),
])
def test_base_urls_are_normalised(url, expected):
    assert normalised_url(url) == expected


def test_two_servers_with_one_model_id_never_share_answers(fake_server, store):
    first, second = fake_server(), fake_server()
    a = LLM(openai_entry(first), store)
    b = LLM(openai_entry(second), store)
    messages = prompts(3)
    a.run([a.request(m) for m in messages], retry=FAST_RETRY, progress=False)
    result = b.run([b.request(m) for m in messages], retry=FAST_RETRY, progress=False)
    assert result.stats.new_calls == 3 and result.stats.cache_hits == 0  # not replayed from the first server
    assert second.counters.calls == 3
    # the same server under another spelling of its URL is the same server
    same = LLM(openai_entry(first, base_url=first.base_url.upper().replace("/V1", "/v1") + "/"), store)
    again = same.run([same.request(m) for m in messages], retry=FAST_RETRY, progress=False)
    assert again.stats.cache_hits == 3 and again.stats.new_calls == 0


def test_openai_itself_and_replayed_records_keep_the_keys_they_had():
    """No server in the key: their stores (and published replay records) stay valid."""
    assert ModelEntry(name="gpt", backend="openai", model="gpt-4o").server == ""
    assert ModelEntry(name="r", backend="replay", model="m").server == ""
    request = Request(kind="chat", backend="openai", model="gpt-4o", messages=(Message("user", "hi"),))
    before = {"kind": "chat", "backend": "openai", "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
              "params": {"temperature": 0.0, "max_tokens": 256, "seed": 0, "stop": [], "top_p": None},
              "options": [], "method": ""}  # the fields a key hashed before `server` existed
    canonical = json.dumps(before, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert request.key == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_local_request_names_the_weights_file_by_its_digest():
    entry = ModelEntry(name="small", backend="local", model="SmolLM2-135M-Instruct")
    digest = hashlib.sha256(smollm2_path().read_bytes()).hexdigest()[:16]
    assert weights_digest() == digest and entry.server == f"weights:sha256:{digest}"
    request = LLM(entry, store=None).request([{"role": "user", "content": "hi"}])
    other = Request(**{**request.__dict__, "server": "weights:sha256:0000000000000000"})
    assert request.server == entry.server and request.key != other.key


def test_null_unsets_a_nullable_parameter_and_none_elsewhere_means_not_given():
    entry = ModelEntry(name="m", backend="replay", model="m",
                       params=GenerationParams(seed=5, max_tokens=30, temperature=0.7, top_p=0.9))
    llm = LLM(entry, store=None)
    messages = [{"role": "user", "content": "hi"}]
    assert llm.request(messages).params.seed == 5
    unset = llm.request(messages, seed=None, top_p=None, max_tokens=None, temperature=None).params
    assert unset.seed is None and unset.top_p is None  # null: no seed, the server's top_p
    assert unset.max_tokens == 30 and unset.temperature == 0.7  # not given: the entry's
    assert llm.request(messages, seed=None).key != llm.request(messages).key
