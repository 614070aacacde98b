"""DPO of the embedded model with a LoRA adapter (slow: trains for a few steps on CPU), the DPO loss
against a hand computation, and the tuned model loading as a `local` model entry."""

import math

import numpy as np
import pytest

from replisuite.llm import LLM, LLMError, Message, ModelEntry, ResponseStore
from replisuite.atomic import new_file_mode
from replisuite.llm.tuning import adapter_digest, check_adapter, dpo_loss, sequence_logprob, train_dpo, trainable_model

WORDS = ["work", "school", "my dog", "money", "my mum", "sleep", "exams", "friends"]
PAIRS = [{"prompt": [{"role": "user", "content": f"I feel sad about {w}. What should I do?"}],
          "chosen": f"That sounds hard. Tell me more about {w}.", "rejected": "Just get over it."} for w in WORDS]
LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


def test_dpo_loss_matches_a_hand_computation():
    # margin = beta * ((pc - rc) - (pr - rr)) = 0.1 * ((-1 + 2) - (-3 + 2)) = 0.2; loss = log(1 + e^-0.2)
    assert dpo_loss([-1.0], [-3.0], [-2.0], [-2.0], beta=0.1)[0] == pytest.approx(0.598138869, abs=1e-9)
    # an untrained policy (policy == reference) sits at log 2, whatever the log-probabilities
    assert dpo_loss([-5.0, -9.0], [-1.0, -2.0], [-5.0, -9.0], [-1.0, -2.0], beta=0.5) == pytest.approx([math.log(2)] * 2)
    # preferring the rejected reply costs more than preferring the chosen one
    assert dpo_loss([-3.0], [-1.0], [-2.0], [-2.0], beta=0.1)[0] > math.log(2) > dpo_loss([-1.0], [-3.0], [-2.0], [-2.0],
                                                                                         beta=0.1)[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dpo") / "adapter"
    log, summary = train_dpo(PAIRS[:6], out_dir=folder, steps=6, batch_size=2, learning_rate=5e-4, beta=0.1, lora=LORA,
                             max_length=128, seed=0, threads=2, eval_pairs=PAIRS[6:])
    return folder, log, summary


@pytest.mark.slow
def test_a_few_dpo_steps_lower_the_loss_computed_independently_of_trl(trained):
    from peft import PeftModel

    folder, log, summary = trained
    assert log["step"].to_list() == list(range(1, 7))
    assert log["loss"][0] == pytest.approx(math.log(2), abs=1e-6)   # step 1: policy == reference
    assert log["loss"][-1] < log["loss"][0]
    tokenizer, reference = trainable_model(threads=2)
    _, base = trainable_model(threads=2)
    policy = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
    logps = {(name, side): [sequence_logprob(model, tokenizer, p["prompt"], p[side]) for p in PAIRS[:6]]
             for name, model in (("policy", policy), ("reference", reference)) for side in ("chosen", "rejected")}
    ours = dpo_loss(logps["policy", "chosen"], logps["policy", "rejected"], logps["reference", "chosen"],
                    logps["reference", "rejected"], beta=0.1)
    assert ours.mean() < math.log(2) - 0.1
    assert summary["trainable_parameters"] < 1_000_000 and summary["adapter_bytes"] < 5_000_000
    assert summary["heldout_loss"] < math.log(2)


def test_the_adapter_files_get_the_mode_the_umask_gives(trained):
    folder, _, _ = trained
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in folder.iterdir()}
    assert set(modes.values()) == {oct(new_file_mode())}, modes  # safetensors alone writes 0600


@pytest.mark.slow
def test_the_tuned_model_loads_as_a_local_entry_with_its_own_cache_keys(trained, tmp_path):
    folder, _, _ = trained
    base = ModelEntry.from_config("base", {"backend": "local", "model": "SmolLM2-135M-Instruct", "threads": 2})
    tuned = ModelEntry.from_config("tuned", {"backend": "local", "model": "SmolLM2-135M-Instruct", "threads": 2,
                                             "adapter": str(folder)})
    assert tuned.request_model == f"SmolLM2-135M-Instruct+lora:{adapter_digest(folder)}"
    with ResponseStore(tmp_path / "store") as store:
        models = {e.name: LLM(e, store) for e in (base, tuned)}
        messages = [Message("user", PAIRS[7]["prompt"][0]["content"])]
        options = [PAIRS[7]["chosen"], PAIRS[7]["rejected"]]
        requests = {name: llm.request(messages, options=options, method="loglik") for name, llm in models.items()}
        assert requests["base"].key != requests["tuned"].key
        scores = {name: np.array(llm.run([requests[name]], progress=False).responses[0].parsed["scores"])
                  for name, llm in models.items()}
        # the adapter was trained to prefer the caring reply: the margin must grow under the tuned entry
        assert scores["tuned"][0] - scores["tuned"][1] > scores["base"][0] - scores["base"][1] + 0.5
        assert "lora:" in models["tuned"].backend.model_version
        assert models["tuned"].provenance()["adapter"] == str(folder)


def test_an_adapter_folder_without_weights_is_refused_by_name(tmp_path):
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(LLMError, match="adapter_model.safetensors"):
        check_adapter(tmp_path)
    with pytest.raises(LLMError, match="only a local entry"):
        ModelEntry.from_config("x", {"backend": "openai", "model": "m", "adapter": str(tmp_path)})


def test_the_adapter_config_is_the_same_whatever_the_string_hashing(tmp_path):
    """PEFT writes target_modules from a set: in the order of PYTHONHASHSEED, unless made canonical."""
    import os
    import subprocess
    import sys

    code = ("import json, sys; from replisuite.llm.tuning import canonical_adapter_config; "
            "p = sys.argv[1]; json.dump({'target_modules': list({'q_proj', 'k_proj', 'v_proj', 'o_proj'}), 'r': 8}, open(p, 'w')); "
            "canonical_adapter_config(p); print(open(p).read())")
    outputs = set()
    for seed in range(6):
        path = tmp_path / f"c{seed}.json"
        outputs.add(subprocess.run([sys.executable, "-c", code, str(path)], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                                   capture_output=True, text=True, check=True).stdout)
    assert len(outputs) == 1
    assert '"target_modules": [\n    "k_proj",\n    "o_proj",\n    "q_proj",\n    "v_proj"\n  ]' in outputs.pop()



def test_pairs_whose_prompt_fills_max_length_are_counted_out_and_none_left_is_a_clear_error(capsys):
    from transformers import AutoTokenizer

    from replisuite.llm.local import local_weights, smollm2_path
    from replisuite.llm.tuning import fitting_pairs

    tokenizer = AutoTokenizer.from_pretrained(local_weights(str(smollm2_path())))
    long = {**PAIRS[0], "prompt": [{"role": "user", "content": "I feel sad about everything. " * 40}]}
    encoded = tokenizer.apply_chat_template(PAIRS[0]["prompt"], add_generation_prompt=True, tokenize=True)
    prompt_tokens = len(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
    kept = fitting_pairs([*PAIRS[:3], long], tokenizer, max_length=prompt_tokens + 20, what="training")
    assert kept == PAIRS[:3] and "1 of 4 training pairs dropped" in capsys.readouterr().out
    with pytest.raises(LLMError, match=f"none of the 3 training pairs fits max_length={prompt_tokens}"):
        fitting_pairs(PAIRS[:3], tokenizer, max_length=prompt_tokens, what="training")
