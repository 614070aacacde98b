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


def test_greedy_decoding_equals_transformers_generate(backend):
    import torch

    tokenizer, model = local._load(backend.path)
    request = chat("I feel anxious before exams. What can I do?", max_tokens=24)
    ours = backend.complete(request)
    prompt = backend._prompt_ids(request, tokenizer)
    reference = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                               max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert ours.text == tokenizer.decode(reference[0, len(prompt):], skip_special_tokens=True)


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
    with ResponseStore(tmp_path / "s") as store:
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


def test_single_token_fast_path_equals_the_full_sequence_scores(backend):
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


def test_shared_prefix_prefill_gives_the_logits_of_separate_full_passes(backend):
    import torch

    tokenizer, model = local._load(backend.path)
    mary = "Vignette: Mary has felt low for weeks, sleeps badly and avoids her friends and family.\n\n"
    john = "Vignette: John hears voices that others do not hear and believes he is being followed.\n\n"
    texts = [mary + "Is she ill?", john + "Is he ill?", mary + "Would you work with her on a job, do you think?",
             "Something else entirely.", john + "Why?", mary + "Why?"]
    prompts = [backend._prompt_ids(Request(kind="chat", backend="local", model=local.SMOLLM2_MODEL,
                                           messages=(Message("system", "You answer briefly."), Message("user", t))),
                                   tokenizer) for t in texts]
    assert local._common_prefix(prompts) > 5
    groups = local._prefix_groups(prompts, start=local._common_prefix(prompts))
    assert sorted(sorted(members) for members, _ in groups) == [[0, 2, 5], [1, 4], [3]]  # Mary, John, the rest
    state = local._prefill(model, prompts, pad_id=tokenizer.eos_token_id)
    for row, ids in enumerate(prompts):
        full = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        assert torch.allclose(state.logits[row], full, atol=1e-3), texts[row]


def test_continued_prompts_reuse_the_previous_batch_and_give_the_logits_of_full_passes(backend):
    import torch

    tokenizer, model = local._load(backend.path)

    def ids(*turns):
        roles = ["user", "assistant"] * len(turns)
        messages = (Message("system", "You are a client in therapy."),
                    *(Message(role, text) for role, text in zip(roles, turns, strict=False)))
        return backend._prompt_ids(Request(kind="chat", backend="local", model=local.SMOLLM2_MODEL,
                                           messages=messages), tokenizer)

    first = [ids("How was your week?"), ids("What brings you here today?")]
    rows = local._RowCache(max_tokens=10_000)
    state = local._prefill(model, first, pad_id=tokenizer.eos_token_id, reuse=rows)
    for row, prompt in enumerate(first):
        rows.add(prompt, state.row(row))
    second = [ids("How was your week?", "Tiring, I slept badly.", "Why do you think that is?"),
              ids("Something unrelated, asked fresh."),
              ids("What brings you here today?", "My sister insisted.", "How do you feel about that?")]
    reused = rows.lookup(second)
    assert reused[0][0] == len(first[0]) and reused[2][0] == len(first[1]) and reused[1][0] < 20
    state = local._prefill(model, second, pad_id=tokenizer.eos_token_id, reuse=rows)
    for row, prompt in enumerate(second):
        full = model(input_ids=torch.tensor([prompt])).logits[0, -1].float()
        assert torch.allclose(state.logits[row], full, atol=1e-3), row
    assert state.row(0).layers()[0][0].shape[1] == len(second[0])


def test_a_conversation_turn_by_turn_equals_fresh_decoding(backend):
    turns = [chat("I have been sleeping badly.", max_tokens=12)]
    first = backend.complete(turns[0])
    follow = Request(kind="chat", backend="local", model=local.SMOLLM2_MODEL,
                     messages=(*turns[0].messages, Message("assistant", first.text), Message("user", "Why, do you think?")),
                     params=GenerationParams(max_tokens=12))
    continued = backend.complete(follow).text  # reuses the first turn's keys and values
    fresh = local.LocalBackend(threads=2).complete(follow).text
    assert continued == fresh


PARITY_PROMPTS = [
    "Name a colour.", "Tell me about your week in two sentences.", "I feel anxious before exams. What can I do?",
    "What is the capital of France?", "Write a haiku about rain.", "My friend ignores me. How should I respond?",
    "List three fruits, one per line.", "Describe a calm place in two sentences.",
]
# Padding changes matrix shapes and so the last bits of the logits; greedy decoding may then
# pick another token where two are nearly tied. On this prompt set none differed (measured);
# the assertion allows 2% of tokens so a BLAS update does not make it flaky.
MAX_DIFFERING_TOKEN_SHARE = 0.02


def chat(content, **params):
    return Request(kind="chat", backend="local", model=local.SMOLLM2_MODEL,
                   messages=(Message("system", "You are a helpful counsellor."), Message("user", content)),
                   params=GenerationParams(**params))


def test_batched_greedy_decoding_matches_one_at_a_time(backend):
    tokenizer, _ = local._load(backend.path)
    requests = [chat(p, max_tokens=32) for p in PARITY_PROMPTS]
    alone = [backend.complete(r) for r in requests]
    batched = backend.complete_batch(requests)
    differing = total = 0
    for a, b in zip(alone, batched, strict=True):
        ta, tb = tokenizer.encode(a.text), tokenizer.encode(b.text)
        total += max(len(ta), len(tb))
        first = next((i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x != y), min(len(ta), len(tb)))
        differing += max(len(ta), len(tb)) - first  # everything after a divergence counts
    assert total > 100
    assert differing / total <= MAX_DIFFERING_TOKEN_SHARE
    assert {c.usage["batch_size"] for c in batched} == {len(requests)}


def test_seeded_sampling_does_not_depend_on_batch_mates(backend):
    requests = [chat(p, max_tokens=16, temperature=0.9, seed=index) for index, p in enumerate(PARITY_PROMPTS)]
    together = [c.text for c in backend.complete_batch(requests)]
    reversed_batch = [c.text for c in backend.complete_batch(requests[::-1])][::-1]
    halves = [c.text for c in backend.complete_batch(requests[:3])] + [c.text for c in backend.complete_batch(requests[3:])]
    assert together == reversed_batch == halves
    other_seed = backend.complete(chat(PARITY_PROMPTS[1], max_tokens=16, temperature=0.9, seed=99)).text
    assert other_seed != together[1]


def test_each_request_keeps_its_own_stop_strings_and_length(backend):
    requests = [
        chat("List three fruits, one per line.", max_tokens=40, stop=("\n",)),
        chat("Tell me about your week in two sentences.", max_tokens=5),
        chat("Describe a calm place in two sentences.", max_tokens=30),
    ]
    lines, short, longer = backend.complete_batch(requests)
    assert "\n" not in lines.text and lines.text.strip()
    assert short.usage["completion_tokens"] == 5
    assert 5 < longer.usage["completion_tokens"] <= 30


def test_mixed_batch_answers_chat_and_choice_in_request_order(backend):
    choose = Request(kind="choose", backend="local", model=local.SMOLLM2_MODEL,
                     messages=(Message("user", "Is the sky blue? Answer Yes or No."),), options=("Yes", "No"),
                     method="loglik")
    answers = backend.complete_batch([chat("Name a colour.", max_tokens=6), choose, chat("Hi", max_tokens=4)])
    assert answers[1].parsed["option"] in ("Yes", "No") and len(answers[1].parsed["scores"]) == 2
    assert answers[0].parsed is None and answers[2].usage["completion_tokens"] <= 4
    assert answers[1].parsed["scores"] == pytest.approx(backend.complete(choose).parsed["scores"], abs=1e-4)


def test_plan_batches_groups_by_kind_and_size_and_is_deterministic():
    backend = local.LocalBackend(batch_size=3)
    choose = [Request(kind="choose", backend="local", model=local.SMOLLM2_MODEL, messages=(Message("user", f"q{i}"),),
                      options=("A", "B"), method="loglik") for i in range(4)]
    chats = [chat("x" * (40 * i), max_tokens=4) for i in range(5)]
    batches = backend.plan_batches(chats + choose)
    assert [len(b) for b in batches] == [3, 2, 3, 1]
    assert all(len({r.kind for r in b}) == 1 for b in batches)
    assert batches == backend.plan_batches(list(reversed(chats + choose)))
    lengths = [sum(len(m.content) for m in r.messages) for r in batches[0] + batches[1]]
    assert lengths == sorted(lengths)
    small = local.LocalBackend(batch_size=16, batch_tokens=100)
    assert all(len(b) == 1 for b in small.plan_batches([chat("y" * 400) for _ in range(3)]))


def test_prefill_continues_the_reply(backend):
    tokenizer, _ = local._load(backend.path)
    request = Request(kind="choose", backend="local", model=local.SMOLLM2_MODEL,
                      messages=(Message("user", "Rate 0-3."),), options=("0", "1", "2", "3"), method="loglik",
                      prefill="1: 2\n2: ")
    assert tokenizer.decode(backend._prompt_ids(request, tokenizer)).endswith("<|im_start|>assistant\n1: 2\n2: ")
    completion = backend.complete(request)
    assert completion.parsed["option"] in request.options and len(completion.parsed["scores"]) == 4


def test_a_batch_that_continues_no_kept_row_is_prefilled_afresh(backend):
    """Regression: with nothing reusable, padding could make the reuse path look cheaper, and it
    then failed (no kept row to seed the cache from). Pairwise-judge prompts triggered it."""
    import torch

    tokenizer, model = local._load(backend.path)

    def ids(text):
        return backend._prompt_ids(Request(kind="chat", backend="local", model=local.SMOLLM2_MODEL,
                                           messages=(Message("system", "Compare the replies."), Message("user", text))), tokenizer)

    question = "My partner and I argue every night about money and I cannot sleep. " * 6
    prompts = [ids(question + "Reply A: take a walk."), ids(question + "Reply A: talk to them calmly about a budget." * 14),
               ids("A different question altogether, asked with a long preamble of its own. " * 16)]
    rows = local._RowCache(max_tokens=10_000)  # a fresh backend keeps no rows yet
    common = local._common_prefix(prompts)
    groups = local._prefix_groups(prompts, start=common)
    assert local._tree_tokens(prompts, common, groups, True) > len(prompts) * max(map(len, prompts))  # the case that failed
    state = local._prefill(model, prompts, pad_id=tokenizer.eos_token_id, reuse=rows)
    for row, prompt in enumerate(prompts):
        full = model(input_ids=torch.tensor([prompt])).logits[0, -1].float()
        assert torch.allclose(state.logits[row], full, atol=1e-3), row


def test_the_converted_copy_holds_the_gguf_weights_exactly(backend, tmp_path, monkeypatch):
    import os

    import torch
    from transformers import AutoModelForCausalLM

    tokenizer, model = local._load(backend.path)
    folder, name = os.path.split(backend.path)
    reference = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    ids = torch.tensor([tokenizer.encode("I feel anxious before exams. What can I do?")])
    with torch.inference_mode():
        assert torch.equal(model(ids).logits, reference(ids).logits)
    # a second conversion racing the first keeps one complete copy and leaves no partial folder
    monkeypatch.setenv(local.CACHE_ENV, str(tmp_path))
    target = local.converted_path(backend.path)
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"first")
    local._convert(backend.path, target)
    assert (target / "model.safetensors").read_bytes() == b"first" and sorted(p.name for p in tmp_path.iterdir()) == [target.name]
