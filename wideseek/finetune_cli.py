"""`wideseek finetune ...`: stored runs -> training data, LoRA SFT, GRPO.

    wideseek finetune export --runs all --out data/ [--min-score 0.5 --eval-dir evals/out]
        [--accepted] [--general alpaca.jsonl --general-ratio 0.3] [--val-share 0.1]
    wideseek finetune accept RUN_ID... [--undo] [--list]
    wideseek finetune sft --base smollm2-135m --data data/ --out adapters/a1 [--steps N]
        [--epochs E] [--lr 2e-4] [--lora-r 8] [--resume]
    wideseek finetune grpo --base smollm2-135m --data data/ --out adapters/g1 [--steps N]
        [--adapter adapters/a1]

Registered by the main CLI with `app.add_typer(finetune_app, name="finetune")`. Every
expected failure prints one line and exits with code 2. Training needs the `train` extra.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# OpenMP threads that spin while waiting make CPU training crawl when anything else runs
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

finetune_app = typer.Typer(
    help="Fine-tune the agent's models on its own runs: export traces, LoRA SFT, GRPO.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="wideseek.toml to read", show_default=False)
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store", help="run store file (default: the configured one)", show_default=False
    ),
]


def _expected() -> tuple[type[BaseException], ...]:
    from agent.errors import expected_errors
    from finetune.errors import FinetuneError

    return (FinetuneError, *expected_errors())


@contextmanager
def _guard() -> Iterator[None]:
    """Expected failures -> one line on stderr and exit code 2 (no traceback)."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted; continue the training with --resume")
        raise typer.Exit(130) from None
    except Exception as error:
        if isinstance(error, _expected()):
            err_console.print(
                f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2) from None
        raise


def _store(store: Path | None, config: Path | None) -> Path:
    if store is not None:
        return store
    from agent.config import load_settings

    return load_settings(config).runs_db


def _guarded(fn: Callable[[], T]) -> T:
    with _guard():
        return fn()


# --- export ------------------------------------------------------------------------------------


def _print_stats(stats: Any) -> None:
    table = Table(title=f"training data in {stats.out}")
    for name in ("task", "examples", "train", "val", "tokens (est.)"):
        table.add_column(name, justify="left" if name == "task" else "right")
    for name, count in stats.tasks.items():
        table.add_row(name, str(count.examples), str(count.train), str(count.val),
                      f"{count.tokens:,}")  # fmt: skip
    total = stats.total
    table.add_section()
    table.add_row("total", str(total.examples), str(total.train), str(total.val),
                  f"{total.tokens:,}", style="bold")  # fmt: skip
    console.print(table)
    if not total.examples:
        err_console.print("[yellow]nothing exported[/]: no usable model calls in the selected runs")
    skipped = ", ".join(f"{n} {reason}" for reason, n in stats.runs_skipped.items()) or "none"
    invalid = ", ".join(f"{n} {reason}" for reason, n in stats.invalid.items()) or "none"
    console.print(
        f"runs: {stats.runs_selected} used; skipped: {skipped}", highlight=False, markup=False
    )
    console.print(
        f"dropped: {stats.duplicates} duplicates; invalid: {invalid}", highlight=False, markup=False
    )
    if stats.general_available or stats.general_used:
        console.print(
            f"general examples: {stats.general_used} of {stats.general_available} used",
            highlight=False,
        )


@finetune_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="folder for the JSONL files")],
    runs: Annotated[
        list[str] | None,
        typer.Option(
            "--runs",
            help="run ids (repeatable or comma separated), 'all', or a run-store file",
            show_default=False,
        ),
    ] = None,
    store: StoreOpt = None,
    min_score: Annotated[
        float | None,
        typer.Option("--min-score", help="only runs scoring at least F (needs --eval-dir)"),
    ] = None,
    eval_dir: Annotated[
        list[Path] | None,
        typer.Option("--eval-dir", help="output folder of wideseek eval (repeatable)"),
    ] = None,
    metric: Annotated[str, typer.Option(help="the eval score --min-score reads")] = "item_f1",
    accepted: Annotated[
        bool, typer.Option("--accepted", help="only runs marked with: finetune accept")
    ] = False,
    general: Annotated[
        Path | None,
        typer.Option("--general", help="general instruction data: chat or Alpaca JSONL"),
    ] = None,
    general_ratio: Annotated[
        float, typer.Option("--general-ratio", help="share of general examples in the output")
    ] = 0.3,
    val_share: Annotated[float, typer.Option("--val-share", help="validation share")] = 0.1,
    task: Annotated[
        list[str] | None,
        typer.Option("--task", help="only these sub-tasks (repeatable)", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the statistics as JSON")] = False,
    config: ConfigOpt = None,
) -> None:
    """Turn stored runs into chat JSONL per sub-task, deduplicated, with a stable split.

    Sub-tasks: planning, tool_choice, reflection, extraction, answer (and general: the
    --general data). Files: OUT/<task>.train.jsonl, OUT/<task>.val.jsonl, OUT/stats.json."""
    from finetune.export import SUB_TASKS, ExportOptions, export_runs

    with _guard():
        options = ExportOptions(
            runs=runs or ["all"],
            store=_store(store, config),
            eval_dirs=eval_dir or [],
            min_score=min_score,
            metric=metric,
            accepted_only=accepted,
            general=general,
            general_ratio=general_ratio,
            val_share=val_share,
            tasks=task or SUB_TASKS,
        )
        stats = export_runs(out, options)
    if as_json:
        sys.stdout.write(json.dumps(stats.to_json()) + "\n")
    else:
        _print_stats(stats)


@finetune_app.command("accept")
def accept_command(
    run_ids: Annotated[list[str] | None, typer.Argument(help="runs to mark")] = None,
    undo: Annotated[bool, typer.Option("--undo", help="remove the marks instead")] = False,
    list_marks: Annotated[bool, typer.Option("--list", help="list the accepted runs")] = False,
    note: Annotated[str, typer.Option(help="why (kept with the mark)")] = "",
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Mark runs as good training data (`finetune export --accepted` keeps only those)."""
    from finetune.accepted import AcceptedRuns, accepted_path
    from finetune.errors import FinetuneError
    from finetune.export import open_store

    with _guard():
        path = _store(store, config)
        if list_marks:
            if not accepted_path(path).exists():
                console.print("no accepted runs")
                return
            with AcceptedRuns(accepted_path(path)) as marks:
                table = Table("run", "note")
                for run_id, _when, why in marks.entries():
                    table.add_row(run_id, why)
                console.print(table)
            return
        if not run_ids:
            raise FinetuneError("give RUN_ID... to mark (or --list)")
        if not undo:
            runs = open_store(path)
            try:
                for run_id in run_ids:
                    if runs.get_run(run_id) is None:
                        raise FinetuneError(f"no run {run_id!r} in {path}")
            finally:
                runs.close()
        with AcceptedRuns(accepted_path(path)) as marks:
            count = marks.unaccept(run_ids) if undo else marks.accept(run_ids, note)
    console.print(f"{'unmarked' if undo else 'accepted'} {count} run(s)")


# --- training ----------------------------------------------------------------------------------


def _print_result(result: Any, label: str) -> None:
    losses = result.losses
    loss = f"loss {losses[0][1]:.4f} -> {losses[-1][1]:.4f}" if losses else "no loss logged"
    resumed = f" (resumed from {Path(result.resumed_from).name})" if result.resumed_from else ""
    console.print(
        f"{label}: {result.steps} steps on {result.examples} examples in "
        f"{result.seconds:.0f} s{resumed}; {loss}",
        highlight=False,
    )
    if result.dropped_long:
        console.print(f"skipped {result.dropped_long} examples over the length limit")
    console.print(f"adapter: {result.adapter}", highlight=False, markup=False)
    console.print(
        f"serve: vllm serve {result.base} --enable-lora --lora-modules wideseek={result.adapter}",
        highlight=False,
    )


BaseOpt = Annotated[
    str,
    typer.Option("--base", help="Hugging Face model folder, GGUF file, or embedded model name"),
]
DataOpt = Annotated[Path, typer.Option("--data", help="folder written by finetune export")]
OutOpt = Annotated[Path, typer.Option("--out", help="adapter folder (checkpoints inside)")]
ResumeOpt = Annotated[
    bool, typer.Option("--resume", help="continue from the last checkpoint in OUT/checkpoints")
]


@finetune_app.command("sft")
def sft_command(
    base: BaseOpt,
    data: DataOpt,
    out: OutOpt,
    steps: Annotated[int | None, typer.Option(min=1, help="optimizer steps (over epochs)")] = None,
    epochs: Annotated[float, typer.Option(min=0.0)] = 1.0,
    lr: Annotated[float, typer.Option(help="learning rate")] = 2e-4,
    lora_r: Annotated[int, typer.Option("--lora-r", min=1)] = 8,
    lora_alpha: Annotated[int | None, typer.Option("--lora-alpha", help="default 2 x r")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 1,
    grad_accum: Annotated[int, typer.Option(min=1)] = 1,
    max_length: Annotated[int, typer.Option(min=16, help="longer examples are skipped")] = 1024,
    save_steps: Annotated[int, typer.Option(min=1, help="checkpoint every N steps")] = 50,
    resume: ResumeOpt = False,
    task: Annotated[list[str] | None, typer.Option("--task", help="only these tasks")] = None,
) -> None:
    """LoRA supervised fine-tuning (trl + peft) on exported traces."""
    from finetune.sft import SFTOptions, train_sft

    options = SFTOptions(
        base=base, data=data, out=out, steps=steps, epochs=epochs, lr=lr, lora_r=lora_r,
        lora_alpha=lora_alpha, batch_size=batch_size, grad_accum=grad_accum,
        max_length=max_length, save_steps=save_steps, resume=resume, tasks=task or None,
    )  # fmt: skip
    result = _guarded(lambda: train_sft(options))
    _print_result(result, "sft")


@finetune_app.command("grpo")
def grpo_command(
    base: BaseOpt,
    data: DataOpt,
    out: OutOpt,
    steps: Annotated[int, typer.Option(min=1)] = 50,
    lr: Annotated[float, typer.Option(help="learning rate")] = 1e-5,
    lora_r: Annotated[int, typer.Option("--lora-r", min=1)] = 8,
    num_generations: Annotated[int, typer.Option(min=2, help="replies per prompt")] = 4,
    max_prompt_length: Annotated[int, typer.Option(min=16)] = 1024,
    max_completion_length: Annotated[int, typer.Option(min=1)] = 128,
    temperature: Annotated[float, typer.Option(min=0.0)] = 1.0,
    weights: Annotated[
        str,
        typer.Option(
            help="reward weights: format, tool_name, argument_names, argument_values, answer"
        ),
    ] = "",
    adapter: Annotated[
        Path | None, typer.Option("--adapter", help="start from this SFT adapter")
    ] = None,
    save_steps: Annotated[int, typer.Option(min=1)] = 50,
    resume: ResumeOpt = False,
    task: Annotated[
        list[str] | None, typer.Option("--task", help="default: tool_choice and answer")
    ] = None,
) -> None:
    """GRPO (trl) with ToolRL-style rewards on the tool-choice and answer examples."""
    from finetune.errors import FinetuneError
    from finetune.grpo import GRPO_TASKS, GRPOOptions, train_grpo
    from finetune.rewards import RewardWeights

    def run() -> Any:
        try:
            parsed = RewardWeights.parse(weights)
        except ValueError as error:
            raise FinetuneError(str(error)) from None
        options = GRPOOptions(
            base=base, data=data, out=out, steps=steps, lr=lr, lora_r=lora_r,
            num_generations=num_generations, max_prompt_length=max_prompt_length,
            max_completion_length=max_completion_length, temperature=temperature,
            weights=parsed, adapter=adapter, save_steps=save_steps, resume=resume,
            tasks=task or GRPO_TASKS,
        )  # fmt: skip
        return train_grpo(options)

    result = _guarded(run)
    _print_result(result, "grpo")
