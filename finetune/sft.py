"""LoRA supervised fine-tuning on exported traces (trl's SFTTrainer + peft).

Each example becomes a conversational prompt-completion pair (system + user -> assistant), so
the loss is on the assistant's reply only. Checkpoints (adapter + optimizer state) go to
`ADAPTER/checkpoints` every `save_steps`; `resume=True` continues from the last one after a
kill. The loss of every step is appended to `ADAPTER/train_log.jsonl`. The result is a PEFT
adapter (`adapter_config.json` + `adapter_model.safetensors`) that
`PeftModel.from_pretrained(base, ADAPTER)` and `vllm serve BASE --enable-lora
--lora-modules wideseek=ADAPTER` load.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError, require_train_extra
from finetune.export import read_examples
from finetune.training import (
    TrainResult,
    callbacks,
    device_settings,
    lora_config,
    losses_of,
    prepare_out,
    quiet,
    run_training,
    token_length,
    write_meta,
)


@dataclass
class SFTOptions:
    base: str
    """A Hugging Face folder, a GGUF file or a known embedded model name."""
    data: Path
    """An export folder (its *.train.jsonl / *.val.jsonl) or one JSONL file."""
    out: Path
    """The adapter folder."""
    steps: int | None = None
    """Optimizer steps (overrides epochs)."""
    epochs: float = 1.0
    lr: float = 2e-4
    lora_r: int = 8
    lora_alpha: int | None = None
    """Default 2 * r."""
    lora_dropout: float = 0.05
    batch_size: int = 1
    grad_accum: int = 1
    max_length: int = 1024
    """Longer examples (in tokens) are dropped, not cut: a cut example loses its reply."""
    save_steps: int = 50
    resume: bool = False
    tasks: Sequence[str] | None = None
    """Only these tasks of the export (default: all, general data included)."""
    seed: int = 0
    progress: bool = True
    evaluate: bool = True
    """Loss on the validation split at the end, when there is one."""


def _pairs(tokenizer: Any, lines: Sequence[dict[str, Any]], max_length: int
           ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    pairs, dropped = [], 0
    for line in lines:
        messages = line["messages"]
        if token_length(tokenizer, messages) > max_length:
            dropped += 1
            continue
        pairs.append({"prompt": messages[:-1], "completion": messages[-1:]})
    return pairs, dropped


def train_sft(options: SFTOptions, extra_callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train a LoRA adapter on `options.data`; the adapter, steps and losses.
    Raises FinetuneError (MissingExtraError without the `train` extra)."""
    require_train_extra()
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from finetune.base import load_model_and_tokenizer, resolve_base

    if options.steps is not None and options.steps < 1:
        raise FinetuneError("--steps must be at least 1")
    train_lines = read_examples(options.data, "train", options.tasks)
    if not train_lines:
        raise FinetuneError(f"no training examples in {options.data}")
    val_lines = read_examples(options.data, "val", options.tasks) if options.data.is_dir() else []
    checkpoints, resume_from = prepare_out(options.out, options.resume)
    started = time.perf_counter()
    base = resolve_base(options.base)
    model, tokenizer = load_model_and_tokenizer(base.path)
    train, dropped = _pairs(tokenizer, train_lines, options.max_length)
    if not train:
        raise FinetuneError(
            f"all {len(train_lines)} training examples are longer than --max-length "
            f"{options.max_length} tokens"
        )
    val, _ = _pairs(tokenizer, val_lines, options.max_length)
    config = SFTConfig(
        output_dir=str(checkpoints),
        max_steps=options.steps if options.steps is not None else -1,
        num_train_epochs=options.epochs,
        learning_rate=options.lr,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.batch_size,
        gradient_accumulation_steps=options.grad_accum,
        warmup_steps=0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=2,
        eval_strategy="no",
        report_to=[],
        activation_checkpointing=False,
        max_length=options.max_length,
        seed=options.seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
        **device_settings(),
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(val) if val and options.evaluate else None,
        processing_class=tokenizer,
        peft_config=lora_config(model, options.lora_r, options.lora_alpha, options.lora_dropout),
        callbacks=[*callbacks(options.out, "sft", options.progress), *extra_callbacks],
    )
    quiet(trainer)
    run_training(trainer, resume_from, options.out)
    eval_loss = None
    if val and options.evaluate:
        eval_loss = float(trainer.evaluate().get("eval_loss", float("nan")))
    tuned: Any = trainer.model
    tuned.save_pretrained(str(options.out))
    steps = int(trainer.state.global_step)
    losses = losses_of(options.out)
    write_meta(
        options.out,
        kind="sft",
        base=str(base.path),
        base_source=base.source,
        gguf=str(base.gguf) if base.gguf else None,
        data=str(options.data),
        steps=steps,
        examples=len(train),
        dropped_long=dropped,
        first_loss=losses[0][1] if losses else None,
        last_loss=losses[-1][1] if losses else None,
        eval_loss=eval_loss,
        serve=f"vllm serve {base.path} --enable-lora --lora-modules wideseek={options.out}",
    )
    return TrainResult(
        adapter=options.out,
        base=base.path,
        steps=steps,
        losses=losses,
        seconds=time.perf_counter() - started,
        resumed_from=resume_from,
        examples=len(train),
        dropped_long=dropped,
        eval_loss=eval_loss,
    )
