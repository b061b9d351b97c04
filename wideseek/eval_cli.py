"""`wideseek eval` and `wideseek score`: batch runs and WideSearch-compatible scoring."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _load(tasks_path: Path, gold: Path, limit: int | None) -> list[Any]:
    from evals.tasks import load_tasks
    from wideseek.cli import CliError

    if not tasks_path.is_file():
        raise CliError(f"task file {tasks_path} does not exist")
    if not gold.is_dir():
        raise CliError(f"gold directory {gold} does not exist")
    tasks, problems = load_tasks(tasks_path, gold)
    for problem in problems:
        err_console.print(f"[yellow]skipped[/] {problem}", highlight=False)
    if not tasks:
        raise CliError(f"no usable task in {tasks_path}")
    return tasks[:limit] if limit else tasks


def _judge(settings: Any) -> Any:
    """The configured judge model ([models.judge]), else the documented deterministic fallback."""
    if settings.models.judge is None:
        return None
    from agent.llm.factory import build_model
    from evals.judge import ChatModelJudge

    return ChatModelJudge(build_model(settings.models.judge))


def _print_overall(overall: dict[str, Any]) -> None:
    table = Table(title=f"{overall['tasks']} tasks, {overall['runs']} run(s), {overall['mode']}")
    table.add_column("metric")
    for col in ("Avg@N", "Max@N", "Min@N"):
        table.add_column(col, justify="right")
    for name in ("success", "row_f1", "item_f1", "row_precision", "row_recall",
                 "item_precision", "item_recall"):  # fmt: skip
        m = overall[name]
        table.add_row(name, f"{100 * m['avg_n']:.1f}", f"{100 * m['max_n']:.1f}",
                      f"{100 * m['min_n']:.1f}")  # fmt: skip
    console.print(table)


def score_command(
    tasks_path: Annotated[Path, typer.Argument(metavar="TASKS.jsonl")],
    gold: Annotated[Path, typer.Option("--gold", help="directory of <instance_id>.csv")],
    responses: Annotated[Path, typer.Option("--responses", help="<id>.md or <id>_<run>.md")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    strict: Annotated[bool, typer.Option(help="fix the official evaluator's quirks")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
) -> None:
    """Score saved responses of any system with the WideSearch-compatible scorer."""
    from evals.scorer import ascore_responses_dir
    from wideseek.cli import CliError, _settings

    if not responses.is_dir():
        raise CliError(f"responses directory {responses} does not exist")
    settings = _settings(config)
    tasks = _load(tasks_path, gold, None)
    report = asyncio.run(
        ascore_responses_dir(tasks, gold, responses, judge=_judge(settings), strict=strict)
    )
    if as_json:
        sys.stdout.write(json.dumps(report.to_json_dict()) + "\n")
    else:
        _print_overall(report.overall())


def eval_command(
    tasks_path: Annotated[Path, typer.Argument(metavar="TASKS.jsonl")],
    gold: Annotated[Path, typer.Option("--gold", help="directory of <instance_id>.csv")],
    out: Annotated[Path, typer.Option("--out", help="where responses and reports go")],
    runs: Annotated[int, typer.Option(min=1, help="runs per task (Avg@N, Pass@N)")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="tasks in flight at once")] = 1,
    limit: Annotated[int | None, typer.Option(min=1, help="only the first M tasks")] = None,
    resume: Annotated[bool, typer.Option(help="continue a killed batch in --out")] = False,
    corpus: Annotated[list[str] | None, typer.Option("--corpus", help="corpus to search")] = None,
    task_timeout: Annotated[float, typer.Option(help="seconds per task run")] = 1800.0,
    max_steps: Annotated[int | None, typer.Option(help="search/read steps per run")] = None,
    max_tool_calls: Annotated[int | None, typer.Option(help="tool calls per run")] = None,
    strict: Annotated[bool, typer.Option(help="fix the official evaluator's quirks")] = False,
    reuse_knowledge: Annotated[
        bool,
        typer.Option(
            help="let runs reuse stored answers, facts and tool results of earlier runs (off by "
            "default, so the runs of a task are independent and tool calls are counted)"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="last line: overall JSON")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
) -> None:
    """Run the agent on every task, write each response as it finishes, then score and report."""
    from agent.researcher import Researcher
    from evals.report import load_families, write_reports
    from evals.runner import BatchProgress, BatchRunner, read_records, researcher_answerer
    from evals.scorer import ascore_responses_dir
    from wideseek.cli import CliError, _settings

    reuse = {
        f"knowledge.{key}": False
        for key in ("reuse_answers", "recall_facts", "reuse_tool_results")
        if not reuse_knowledge
    }
    settings = _settings(
        config,
        corpora=corpus or None,
        **{"budget.max_steps": max_steps, "budget.max_tool_calls": max_tool_calls, **reuse},
    )
    tasks = _load(tasks_path, gold, limit)
    researcher = Researcher(settings)
    researcher.tools()  # unknown corpus / missing index fails before any model is loaded

    async def go() -> dict[str, Any]:
        await researcher.check_models()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err_console,
        ) as progress:
            bar = progress.add_task("tasks", total=len(tasks) * runs)

            def show(p: BatchProgress) -> None:
                progress.update(
                    bar,
                    total=p.total,
                    completed=p.done + p.skipped,
                    description=f"done {p.done + p.skipped} · running {p.running} · "
                    f"failed {p.failed}",
                )

            runner = BatchRunner(
                researcher_answerer(researcher), out, runs=runs, concurrency=concurrency,
                task_timeout=task_timeout, resume=resume, on_progress=show,
            )  # fmt: skip
            try:
                await runner.run(tasks)
            except FileExistsError as error:
                raise CliError(str(error)) from None
        await researcher.aclose()
        report = await ascore_responses_dir(
            tasks, gold, out / "responses", judge=_judge(settings), strict=strict, runs=runs
        )
        records = [r for r in read_records(out) if r.instance_id in report.scores]
        overall = write_reports(out, tasks, report, records, load_families(tasks_path))
        return overall

    overall = asyncio.run(go())
    _print_overall(overall)
    err_console.print(f"reports: {out / 'summary.md'}, {out / 'results.jsonl'}, "
                      f"{out / 'item_f1.png'}")  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps(overall) + "\n")
