"""The embedded SmolLM2 really generates and really scores options (slow: loads the model)."""

import math

import pytest

from replisuite.llm import GenerationParams, LLM, Message, ModelEntry, Request
from replisuite.llm import local

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend():
    return local.LocalBackend(threads=2)


def request(content, **params):
    return Request(
        kind="chat", backend="local", model=local.SMOLLM2_MODEL,
        messages=(Message("user", content),), params=GenerationParams(**params),
    )


def test_weights_come_from_the_installed_package():
    path = local.smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and "site-packages" in str(path)
    assert path.stat().st_size > 50_000_000


def test_greedy_generation_is_deterministic_and_reports_usage(backend):
    first = backend.complete(request("Name a colour.", max_tokens=12))
    second = backend.complete(request("Name a colour.", max_tokens=12))
    assert first.text.strip() and first.text == second.text
    assert 0 < first.usage["completion_tokens"] <= 12 and first.usage["prompt_tokens"] > 5
    assert first.model_version.startswith("SmolLM2-135M-Instruct.Q4_1.gguf sha256:")


def test_sampling_is_seeded(backend):
    a = backend.complete(request("Tell me a story.", temperature=1.0, seed=1, max_tokens=24))
    b = backend.complete(request("Tell me a story.", temperature=1.0, seed=1, max_tokens=24))
    c = backend.complete(request("Tell me a story.", temperature=1.0, seed=2, max_tokens=24))
    assert a.text == b.text and a.text != c.text


def test_stop_strings_cut_the_text(backend):
    completion = backend.complete(request("List three fruits, one per line.", max_tokens=40, stop=("\n",)))
    assert "\n" not in completion.text


def test_loglik_scores_equal_the_models_next_token_distribution(backend):
    import torch

    tokenizer, model = local._load(backend.path)
    options = ("Yes", "No")
    assert all(len(tokenizer.encode(o, add_special_tokens=False)) == 1 for o in options)
    choose = Request(
        kind="choose", backend="local", model=local.SMOLLM2_MODEL,
        messages=(Message("user", "Is the sky blue? Answer Yes or No."),), options=options, method="loglik",
    )
    completion = backend.complete(choose)
    prompt = backend._prompt_ids(choose, tokenizer)
    out = model.generate(
        torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
        max_new_tokens=1, do_sample=False, output_scores=True, return_dict_in_generate=True,
        pad_token_id=tokenizer.eos_token_id,
    )
    reference = torch.log_softmax(out.scores[0][0].float(), dim=-1)
    expected = [float(reference[tokenizer.encode(o, add_special_tokens=False)[0]]) for o in options]
    assert completion.parsed["scores"] == pytest.approx(expected, abs=1e-4)
    assert completion.parsed["option"] == options[max(range(2), key=lambda i: expected[i])]


def test_multi_token_options_are_scored_in_one_pass(backend, tmp_path):
    from replisuite.llm import ResponseStore

    options = ["Strongly disagree", "Somewhat disagree", "Somewhat agree", "Strongly agree"]
    with ResponseStore(tmp_path / "s.sqlite") as store:
        llm = LLM(ModelEntry(name="smol", backend="local", model=local.SMOLLM2_MODEL), store, backend)
        choice = llm.choose([Message("user", "I enjoy sunny days. Do you agree?")], options)
        assert choice.method == "loglik" and len(choice.scores) == 4
        assert all(math.isfinite(s) and s < 0 for s in choice.scores)
        assert choice.option == options[max(range(4), key=lambda i: choice.scores[i])]
        again = llm.choose([Message("user", "I enjoy sunny days. Do you agree?")], options)
        assert again.response.created_at == choice.response.created_at  # from the store
        assert llm.provenance()["cache_hits"] == 1


def test_model_is_loaded_once_per_process(backend):
    backend.complete(request("Hi", max_tokens=2))
    backend.complete(request("Hello", max_tokens=2))
    assert local._load.cache_info().currsize == 1


def test_single_token_fast_path_equals_the_batched_scores(backend):
    tokenizer, model = local._load(backend.path)
    choose = Request(
        kind="choose", backend="local", model=local.SMOLLM2_MODEL,
        messages=(Message("user", "Pick a letter.\n- (A): one\n- (B): two\n- (C): three"),),
        options=("A", "B", "C"), method="loglik",
    )
    fast = backend.complete(choose).parsed["scores"]
    prompt = backend._prompt_ids(choose, tokenizer)
    continuations = [tokenizer.encode(o, add_special_tokens=False) for o in choose.options]
    assert fast == pytest.approx(backend._score_sequences(prompt, continuations, tokenizer, model), abs=1e-4)


def test_prefix_cache_gives_the_logits_of_a_full_pass(backend):
    import torch

    tokenizer, model = local._load(backend.path)
    shared = "Vignette: Mary has felt low for weeks.\\n\\n"
    prompts = [shared + "Is she ill?", shared + "Would you work with her?", "Something else entirely.", shared + "Is she ill?"]
    for text in prompts:
        request = Request(kind="choose", backend="local", model=local.SMOLLM2_MODEL,
                          messages=(Message("user", text),), options=("A", "B"), method="loglik")
        ids = backend._prompt_ids(request, tokenizer)
        cached = backend._prefix.last_logits(model, ids)
        full = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        assert torch.allclose(cached, full, atol=1e-3), text


def test_prefill_continues_the_reply(backend):
    tokenizer, _ = local._load(backend.path)
    request = Request(kind="choose", backend="local", model=local.SMOLLM2_MODEL,
                      messages=(Message("user", "Rate 0-3."),), options=("0", "1", "2", "3"), method="loglik",
                      prefill="1: 2\n2: ")
    assert tokenizer.decode(backend._prompt_ids(request, tokenizer)).endswith("<|im_start|>assistant\n1: 2\n2: ")
    completion = backend.complete(request)
    assert completion.parsed["option"] in request.options and len(completion.parsed["scores"]) == 4
