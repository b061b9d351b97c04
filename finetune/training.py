"""What SFT and GRPO share: LoRA settings, checkpoints, the loss log, progress, the adapter's
metadata. trl, peft and transformers are imported inside functions (the `train` extra)."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError, ensure_writable

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""The attention and MLP projections (Llama / Qwen2 / Mistral names), which vLLM's LoRA
support covers."""
LOG_FILE = "train_log.jsonl"
CHECKPOINTS = "checkpoints"
META_FILE = "wideseek_adapter.json"


@dataclass
class TrainResult:
    adapter: Path
    base: Path
    steps: int
    losses: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from: str | None = None
    examples: int = 0
    dropped_long: int = 0
    eval_loss: float | None = None


def prepare_out(out: Path, resume: bool) -> tuple[Path, str | None]:
    """The checkpoint folder in `out` and the checkpoint to resume from. An `out` with
    checkpoints of an earlier run needs `resume` (so nothing is overwritten by accident)."""
    ensure_writable(out, "adapter folder")
    checkpoints = out / CHECKPOINTS
    last = last_checkpoint(checkpoints)
    if last and not resume:
        raise FinetuneError(
            f"{checkpoints} holds checkpoints of an earlier run: pass --resume to continue it, "
            "or give another --out"
        )
    if not last:
        (out / LOG_FILE).unlink(missing_ok=True)
    return checkpoints, last


def last_checkpoint(checkpoints: Path) -> str | None:
    """The newest complete checkpoint in `checkpoints` (a kill during a save leaves one without
    trainer_state.json, which the trainer writes last: it is skipped)."""
    if not checkpoints.is_dir():
        return None
    found = [
        (int(match.group(1)), path)
        for path in checkpoints.iterdir()
        if (match := re.fullmatch(r"checkpoint-(\d+)", path.name)) and path.is_dir()
    ]
    for _step, path in sorted(found, reverse=True):
        if (path / "trainer_state.json").is_file():
            return str(path)
    return None


def checkpoint_step(checkpoint: str) -> int:
    return int(Path(checkpoint).name.rsplit("-", 1)[-1])


def trim_log(path: Path, step: int) -> None:
    """Keep the log lines up to `step` (a resumed run logs the later steps again)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if int(json.loads(line).get("step", 0)) <= step:
                kept.append(line)
        except (ValueError, AttributeError):
            continue
    path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def lora_config(model: Any, r: int, alpha: int | None, dropout: float) -> Any:
    """LoRA on the attention and MLP projections the model has."""
    from peft import LoraConfig

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [m for m in TARGET_MODULES if m in names]
    if not targets:
        raise FinetuneError(
            f"the base model has none of the projections LoRA targets ({', '.join(TARGET_MODULES)})"
        )
    if r < 1:
        raise FinetuneError("--lora-r must be at least 1")
    return LoraConfig(
        r=r,
        lora_alpha=alpha if alpha is not None else 2 * r,
        lora_dropout=dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )


def device_settings() -> dict[str, Any]:
    """TrainingArguments for the machine: fp32 on the CPU, bf16 on a GPU that has it."""
    import torch

    if torch.cuda.is_available():
        return {"use_cpu": False, "bf16": torch.cuda.is_bf16_supported(), "fp16": False}
    return {"use_cpu": True, "bf16": False, "fp16": False}


def callbacks(out: Path, label: str, progress: bool) -> list[Any]:
    """The loss log (`out/train_log.jsonl`, one line per logged step) and a rich progress bar."""
    from transformers import TrainerCallback

    log_path = out / LOG_FILE

    class LossLog(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:  # fmt: skip
            if not logs:
                return
            row: dict[str, Any] = {"step": int(state.global_step), "time": round(time.time(), 3)}
            for key, value in logs.items():
                if isinstance(value, int | float) and math.isfinite(float(value)):
                    row[key] = float(value)
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")

    made: list[Any] = [LossLog()]
    if progress:
        made.append(_rich_progress(label))
    return made


def _rich_progress(label: str) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from transformers import TrainerCallback

    class RichBar(TrainerCallback):
        def __init__(self) -> None:
            self.bar: Progress | None = None
            self.task: Any = None
            self.loss = ""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.bar = Progress(
                TextColumn(f"[bold]{label}[/] {{task.description}}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.bar.start()
            self.task = self.bar.add_task("", total=state.max_steps, completed=state.global_step)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.update(self.task, completed=state.global_step, description=self.loss)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:  # fmt: skip
            if logs and "loss" in logs and self.bar is not None:
                extra = f" reward {logs['reward']:.3f}" if "reward" in logs else ""
                self.loss = f"loss {float(logs['loss']):.4f}{extra}"
                self.bar.update(self.task, description=self.loss)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.stop()
                self.bar = None

    return RichBar()


def token_length(tokenizer: Any, messages: Sequence[dict[str, str]]) -> int:
    ids = tokenizer.apply_chat_template(list(messages), tokenize=True, return_dict=False)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def losses_of(out: Path) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r["loss"])) for r in read_log(out / LOG_FILE) if "loss" in r]


def write_meta(out: Path, **values: Any) -> None:
    (out / META_FILE).write_text(json.dumps(values, indent=1, default=str), encoding="utf-8")


def quiet(trainer: Any) -> None:
    """No log dicts printed to stdout (the rich bar and train_log.jsonl show the losses)."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def run_training(trainer: Any, resume_from: str | None, out: Path) -> None:
    """trainer.train(), continuing `resume_from` (its later log lines are dropped first)."""
    if resume_from:
        trim_log(out / LOG_FILE, checkpoint_step(resume_from))
    trainer.train(resume_from_checkpoint=resume_from)
