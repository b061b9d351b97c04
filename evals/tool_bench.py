"""Run the tool-retrieval benchmark over several sets with progress bars and a results table
(what `wideseek tools bench` and `benchmarks/tool_retrieval.py` print)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evals.tool_retrieval import MethodScore, evaluate_set
from evals.toolret import SET_NAMES, ToolRetrievalSet, load_beir, load_set
from retriever.encoder import Encoder

__all__ = ["BASELINE_BM25_R5", "bench_json", "run_tool_bench"]

# Recall@5 of plain BM25 as published with the data (../shared/data/README.md), all queries
BASELINE_BM25_R5 = {
    "metatool_single": 51.4,
    "metatool_multi": 40.3,
    "gorilla_torchhub": 31.7,
    "gorilla_huggingface": 25.1,
    "stabletoolbench": 63.1,
}
METHODS = ("bm25", "dense", "wideseek")


def bench_json(results: dict[str, dict[str, MethodScore]]) -> dict[str, Any]:
    return {
        name: {method: score.as_json(method == "wideseek") for method, score in scores.items()}
        for name, scores in results.items()
    }


def _table(results: dict[str, dict[str, MethodScore]], sizes: dict[str, str]) -> Table:
    table = Table(title="Tool retrieval (test queries)")
    table.add_column("set")
    table.add_column("queries / tools", justify="right")
    for method in METHODS:
        table.add_column(f"{method} R@5", justify="right")
        table.add_column(f"{method} NDCG@10", justify="right")
    table.add_column("Δ R@5 vs BM25", justify="right")
    table.add_column("ms/query", justify="right")
    for name, scores in results.items():
        row = [name, sizes.get(name, "")]
        for method in METHODS:
            score = scores.get(method)
            row += (
                ["-", "-"]
                if score is None
                else [f"{score.recall_at_5:.1f}", f"{score.ndcg_at_10:.1f}"]
            )
        ours, base = scores.get("wideseek"), scores.get("bm25")
        row.append(f"{ours.recall_at_5 - base.recall_at_5:+.1f}" if ours and base else "-")
        row.append(f"{ours.ms_per_query:.1f}" if ours else "-")
        table.add_row(*[str(cell) for cell in row])
    return table


def run_tool_bench(
    sets: Sequence[str] = SET_NAMES,
    *,
    root: Path | None = None,
    beir: Sequence[Path] = (),
    encoder_factory: Callable[[], Encoder] | None = None,
    vector_cache: Path | None = None,
    console: Console | None = None,
    max_queries: int | None = None,
) -> dict[str, dict[str, MethodScore]]:
    """Load each set, score the three methods, print a table; `max_queries` samples the test
    queries evenly (a quick look; the published figures use all of them)."""
    console = console or Console(stderr=True)
    data: list[ToolRetrievalSet] = [load_set(name, root) for name in sets]
    data += [load_beir(folder) for folder in beir]
    if max_queries is not None:
        for item in data:
            step = max(1, len(item.test) // max_queries)
            item.test = item.test[::step][:max_queries]
    encoder = encoder_factory() if encoder_factory is not None else None
    results: dict[str, dict[str, MethodScore]] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bars:

        def progress(label: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(label, total=total)
            return lambda n: bars.advance(task, n)

        for item in data:
            results[item.name] = evaluate_set(
                item, encoder, vector_cache=vector_cache, methods=METHODS, progress=progress
            )
    sizes = {item.name: f"{len(item.test)} / {len(item.cards)}" for item in data}
    console.print(_table(results, sizes))
    return results
