"""GRPO on the tool-choice (and answer) examples of an export, with the ToolRL-style rewards
of `finetune.rewards` (trl's GRPOTrainer + a peft LoRA adapter).

For each prompt the model samples `num_generations` replies; each is scored against the
reference reply of the trace (`combined_reward`), and the policy moves towards the replies
that scored above their group's mean. No reference model is loaded (`beta=0`, trl's
default). Starting from an SFT adapter (`adapter=`) is the usual recipe: SFT teaches the
format, GRPO the choices. Checkpoints, resume, the loss log and the adapter format are those
of `finetune.sft`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError, require_train_extra
from finetune.export import read_examples
from finetune.rewards import RewardWeights, reward_function
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

GRPO_TASKS = ("tool_choice", "answer")


@dataclass
class GRPOOptions:
    base: str
    data: Path
    out: Path
    steps: int = 50
    lr: float = 1e-5
    lora_r: int = 8
    lora_alpha: int | None = None
    lora_dropout: float = 0.0
    num_generations: int = 4
    """Replies sampled per prompt (the group whose mean is the baseline); at least 2."""
    prompts_per_step: int = 1
    max_prompt_length: int = 1024
    """Longer prompts (in tokens) are dropped."""
    max_completion_length: int = 128
    temperature: float = 1.0
    beta: float = 0.0
    weights: RewardWeights = field(default_factory=RewardWeights)
    tasks: Sequence[str] = GRPO_TASKS
    adapter: Path | None = None
    """Start from this (SFT) adapter instead of a fresh LoRA."""
    save_steps: int = 50
    resume: bool = False
    seed: int = 0
    progress: bool = True


def _prompts(tokenizer: Any, lines: Sequence[dict[str, Any]], max_length: int
             ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    rows, dropped = [], 0
    for line in lines:
        prompt = line["messages"][:-1]
        if token_length(tokenizer, prompt) > max_length:
            dropped += 1
            continue
        rows.append(
            {
                "prompt": prompt,
                "reference": line["messages"][-1]["content"],
                "task": str(line.get("task", "")),
            }
        )
    return rows, dropped


def train_grpo(options: GRPOOptions, extra_callbacks: Sequence[Any] = ()) -> TrainResult:
    """Run GRPO on the tool-choice / answer examples of `options.data`; the adapter."""
    require_train_extra()
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from finetune.base import load_model_and_tokenizer, resolve_base

    if options.steps < 1:
        raise FinetuneError("--steps must be at least 1")
    if options.num_generations < 2:
        raise FinetuneError("--num-generations must be at least 2 (GRPO compares replies)")
    lines = read_examples(options.data, "train", options.tasks)
    if not lines:
        raise FinetuneError(
            f"no {' or '.join(options.tasks)} examples in {options.data} (export runs that "
            "chose tools or wrote answers)"
        )
    checkpoints, resume_from = prepare_out(options.out, options.resume)
    started = time.perf_counter()
    base = resolve_base(options.base)
    model, tokenizer = load_model_and_tokenizer(base.path)
    tokenizer.padding_side = "left"  # generation pads on the left
    rows, dropped = _prompts(tokenizer, lines, options.max_prompt_length)
    if not rows:
        raise FinetuneError(
            f"all {len(lines)} prompts are longer than --max-prompt-length "
            f"{options.max_prompt_length} tokens"
        )
    peft_config = None
    if options.adapter is not None:
        from peft import PeftModel

        if not (options.adapter / "adapter_config.json").is_file():
            raise FinetuneError(f"{options.adapter} is not a PEFT adapter (no adapter_config.json)")
        model = PeftModel.from_pretrained(model, str(options.adapter), is_trainable=True)
    else:
        peft_config = lora_config(model, options.lora_r, options.lora_alpha, options.lora_dropout)
    config = GRPOConfig(
        output_dir=str(checkpoints),
        max_steps=options.steps,
        learning_rate=options.lr,
        per_device_train_batch_size=options.num_generations * options.prompts_per_step,
        num_generations=options.num_generations,
        max_completion_length=options.max_completion_length,
        temperature=options.temperature,
        beta=options.beta,
        warmup_steps=0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=2,
        report_to=[],
        activation_checkpointing=False,
        seed=options.seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
        log_completions=False,
        **device_settings(),
    )
    reward: Any = reward_function(options.weights)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[*callbacks(options.out, "grpo", options.progress), *extra_callbacks],
    )
    quiet(trainer)
    run_training(trainer, resume_from, options.out)
    tuned: Any = trainer.model
    tuned.save_pretrained(str(options.out))
    steps = int(trainer.state.global_step)
    losses = losses_of(options.out)
    write_meta(
        options.out,
        kind="grpo",
        base=str(base.path),
        base_source=base.source,
        gguf=str(base.gguf) if base.gguf else None,
        start_adapter=str(options.adapter) if options.adapter else None,
        data=str(options.data),
        steps=steps,
        prompts=len(rows),
        dropped_long=dropped,
        reward_weights=options.weights.__dict__,
        serve=f"vllm serve {base.path} --enable-lora --lora-modules wideseek={options.out}",
    )
    return TrainResult(
        adapter=options.out,
        base=base.path,
        steps=steps,
        losses=losses,
        seconds=time.perf_counter() - started,
        resumed_from=resume_from,
        examples=len(rows),
        dropped_long=dropped,
    )
