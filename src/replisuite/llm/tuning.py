"""Preference optimisation of the embedded model: DPO with a LoRA adapter, on CPU.

Training runs TRL's ``DPOTrainer`` with a ``peft`` LoRA adapter on SmolLM2-135M (the GGUF
weights de-quantised to float32), so the output is the adapter (a few MB), not a copy of the
model. A ``local`` model entry names the adapter folder (``adapter:``) and every study can use
the tuned model; :func:`adapter_digest` goes into the requests' model id, so stored answers of
the base model or of an older adapter are never reused.

:func:`sequence_logprob` and :func:`dpo_loss` are our own computation of what TRL optimises
(Rafailov et al. 2023, eq. 7), used to check a trained adapter independently of TRL.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import resource
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from replisuite.atomic import new_file_mode
from replisuite.llm.backends import LLMError

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# What a training run measures about the machine rather than the model: it varies between identical
# runs, so it goes to the job log, never into a result file (results are compared byte for byte).
MACHINE_MEASURES = ("train_seconds", "peak_rss_mb", "heldout_runtime", "heldout_samples_per_second",
                    "heldout_steps_per_second")
LOG_SCHEMA = {"step": pl.Int64, "loss": pl.Float64, "reward_margin": pl.Float64, "reward_accuracy": pl.Float64,
              "chosen_reward": pl.Float64, "rejected_reward": pl.Float64, "learning_rate": pl.Float64,
              "grad_norm": pl.Float64}


def check_adapter(path: str | os.PathLike[str]) -> Path:
    """The adapter folder, or an error naming the file it lacks."""
    folder = Path(path)
    missing = [name for name in ADAPTER_FILES if not (folder / name).is_file()]
    if missing:
        raise LLMError(f"adapter {folder}: missing {missing} (train one with the preference study's train_dpo rule)")
    return folder


@functools.cache
def _digest(path: str, stamp: tuple[tuple[int, int], ...]) -> str:
    hasher = hashlib.sha256()
    for name in ADAPTER_FILES:
        hasher.update((Path(path) / name).read_bytes())
    return hasher.hexdigest()[:16]


def adapter_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (16 hex digits) of the adapter's config and weights (cached per file state)."""
    folder = check_adapter(path)
    stamp = tuple((s.st_mtime_ns, s.st_size) for s in ((folder / n).stat() for n in ADAPTER_FILES))
    return _digest(str(folder.resolve()), stamp)


def trainable_model(*, threads: int = 1):
    """Tokenizer and a fresh float32 SmolLM2 model that can be trained (not the shared cached one)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from replisuite.llm.local import local_weights, smollm2_path

    hf_logging.disable_progress_bar()
    torch.set_num_threads(threads)
    weights = local_weights(str(smollm2_path()))   # the de-quantised float32 copy: plain, trainable weights
    return AutoTokenizer.from_pretrained(weights), AutoModelForCausalLM.from_pretrained(weights, dtype=torch.float32)


def _chat(messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _ids(encoded) -> list[int]:
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


def sequence_logprob(model, tokenizer, prompt: Sequence[Mapping[str, str]], reply: str) -> float:
    """Sum of the log-probabilities of the reply's tokens (its end-of-turn marker included) after
    the chat-formatted prompt: the sequence log-likelihood DPO compares.
    """
    import torch

    prompt_ids = _ids(tokenizer.apply_chat_template(_chat(prompt), add_generation_prompt=True, tokenize=True))
    full_ids = _ids(tokenizer.apply_chat_template(_chat([*prompt, {"role": "assistant", "content": reply}]),
                                                  tokenize=True))
    if full_ids[:len(prompt_ids)] != prompt_ids:
        raise LLMError("the chat template does not extend the prompt with the reply; cannot score the reply alone")
    with torch.inference_mode():
        logits = model(torch.tensor([full_ids])).logits[0, :-1]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    targets = torch.tensor(full_ids[1:])
    picked = logprobs[torch.arange(len(targets)), targets]
    return float(picked[len(prompt_ids) - 1:].sum())


def dpo_loss(policy_chosen: Sequence[float], policy_rejected: Sequence[float], reference_chosen: Sequence[float],
             reference_rejected: Sequence[float], *, beta: float) -> np.ndarray:
    """Per-pair DPO loss ``-log sigmoid(beta * ((pc - rc) - (pr - rr)))`` from sequence log-probabilities."""
    margin = beta * ((np.asarray(policy_chosen) - np.asarray(reference_chosen))
                     - (np.asarray(policy_rejected) - np.asarray(reference_rejected)))
    return np.logaddexp(0.0, -margin)


def _dataset(pairs: Sequence[Mapping[str, Any]]):
    from datasets import Dataset

    return Dataset.from_list([{"prompt": _chat(p["prompt"]),
                               "chosen": [{"role": "assistant", "content": p["chosen"]}],
                               "rejected": [{"role": "assistant", "content": p["rejected"]}]} for p in pairs])


def fitting_pairs(pairs: Sequence[Mapping[str, Any]], tokenizer, *, max_length: int, what: str) -> list[Mapping[str, Any]]:
    """The pairs whose chat-formatted prompt leaves room for a reply within ``max_length`` tokens.

    TRL drops the others silently (their reply would be truncated away); here they are counted in
    the log, and none left is an error that names ``max_length`` and the shortest prompt.
    """
    lengths = [len(_ids(tokenizer.apply_chat_template(_chat(p["prompt"]), add_generation_prompt=True, tokenize=True)))
               for p in pairs]
    kept = [p for p, n in zip(pairs, lengths, strict=True) if n < max_length]
    if not kept:
        raise LLMError(f"DPO: none of the {len(pairs)} {what} pairs fits max_length={max_length} tokens (their prompts "
                       f"alone take {min(lengths)} to {max(lengths)}); raise preference.dpo.max_length")
    if len(kept) < len(pairs):
        print(f"DPO: {len(pairs) - len(kept)} of {len(pairs)} {what} pairs dropped: their prompt alone fills "
              f"max_length={max_length} tokens")
    return kept


def train_dpo(pairs: Sequence[Mapping[str, Any]], *, out_dir: str | os.PathLike[str], steps: int, batch_size: int,
              learning_rate: float, beta: float, lora: Mapping[str, Any], max_length: int, seed: int,
              threads: int = 1, eval_pairs: Sequence[Mapping[str, Any]] = ()) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Train a LoRA adapter on ``pairs`` (``prompt`` chat messages, ``chosen``, ``rejected`` texts) with TRL's DPO.

    Writes the adapter to ``out_dir`` (replaced whole, only once training has finished). Returns
    the per-step training log and a summary (time, peak memory, trainable parameters, adapter
    size, TRL's held-out metrics on ``eval_pairs`` after training).
    """
    if not pairs:
        raise LLMError("DPO needs at least one training pair")
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer

    tokenizer, model = trainable_model(threads=threads)
    pairs = fitting_pairs(pairs, tokenizer, max_length=max_length, what="training")
    eval_pairs = fitting_pairs(eval_pairs, tokenizer, max_length=max_length, what="held-out") if eval_pairs else ()
    out = Path(out_dir)
    work = out.with_name(out.name + ".training")
    shutil.rmtree(work, ignore_errors=True)
    config = DPOConfig(output_dir=str(work), per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size,
                       max_steps=steps, learning_rate=learning_rate, beta=beta, max_length=max_length, logging_steps=1,
                       save_strategy="no", report_to=[], seed=seed, data_seed=seed, use_cpu=True,
                       dataloader_num_workers=0, disable_tqdm=True,
                       # TRL defaults to bf16 autocast and activation checkpointing; on a CPU without
                       # native bf16 both make each step several times slower for a 135M model
                       bf16=False, gradient_checkpointing=False)
    adapter = LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                         target_modules=list(lora["target_modules"]), task_type="CAUSAL_LM")
    trainer = DPOTrainer(model=model, args=config, train_dataset=_dataset(pairs),
                         eval_dataset=_dataset(eval_pairs) if eval_pairs else None, processing_class=tokenizer,
                         peft_config=adapter)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    evaluation = trainer.evaluate() if eval_pairs else {}
    trainer.model.save_pretrained(str(work / "adapter"))
    canonical_adapter_config(work / "adapter" / "adapter_config.json")
    for written in (work / "adapter").iterdir():  # safetensors writes owner-only (0600) files
        os.chmod(written, new_file_mode())
    if out.exists():
        shutil.rmtree(out)
    os.replace(work / "adapter", out)
    shutil.rmtree(work, ignore_errors=True)
    (out / "README.md").unlink(missing_ok=True)  # peft's model-card template, not ours
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    summary = {"train_seconds": seconds, "steps": steps, "pairs": len(pairs), "batch_size": batch_size,
               "threads": threads, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "trainable_parameters": int(trainable), "adapter_bytes": sum((out / n).stat().st_size for n in ADAPTER_FILES),
               "adapter_digest": adapter_digest(out),
               **{f"heldout_{k.removeprefix('eval_')}": float(v) for k, v in evaluation.items()
                  if isinstance(v, (int, float))}}
    (out / "training.json").write_text(json.dumps(result_summary(summary), indent=2, sort_keys=True) + "\n")
    return training_log(trainer.state.log_history), summary


def canonical_adapter_config(path: str | os.PathLike[str]) -> None:
    """Rewrite PEFT's adapter config with sorted keys and sorted ``target_modules``: PEFT keeps the
    modules as a set, so the file (and the adapter's digest, and the model id of every request
    that names it) otherwise changes with the process's string hashing.
    """
    path = Path(path)
    config = json.loads(path.read_text())
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def result_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The training summary without :data:`MACHINE_MEASURES` (times, memory, throughput)."""
    return {key: value for key, value in summary.items() if key not in MACHINE_MEASURES}


def training_log(history: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """TRL's per-step log records as a table (summary and evaluation records left out)."""
    rows = [{"step": int(h["step"]), "loss": h["loss"], "reward_margin": h.get("rewards/margins"),
             "reward_accuracy": h.get("rewards/accuracies"), "chosen_reward": h.get("rewards/chosen"),
             "rejected_reward": h.get("rewards/rejected"), "learning_rate": h.get("learning_rate"),
             "grad_norm": h.get("grad_norm")} for h in history if "loss" in h and "train_runtime" not in h]
    return pl.DataFrame(rows, schema=LOG_SCHEMA)
