"""Tool choice on StableToolBench with its 2,479 APIs registered: does the model pick a relevant
API when the retriever offers it the top k?

    python benchmarks/tool_choice.py [--queries N] [--k K] [--demos D] [--budget S]

Every API of ../shared/data/toolret/stabletoolbench becomes an imported tool (its card: name,
description, parameters; no endpoint is called). For N test queries (every n-th, so the sample
is the same on every run), the agent's own tool-choice step (`agent.tool_choice.choose_tool`)
runs with the configured planner model (the embedded one by default): the retriever offers the
top k APIs plus the corpus search, the model replies with one call, constrained to those names,
and its arguments are checked against the API's schema (one corrective retry).

Figures: the share of queries whose chosen API is relevant (the headline), whose top k held a
relevant API at all (the retrieval ceiling), whose call validated, that fell back to the corpus
search, and seconds per choice. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any, ClassVar

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent import load_settings
from agent.config import BudgetConfig
from agent.llm.factory import build_role_models
from agent.state import RunContext
from agent.tool_choice import ToolSelector, choose_tool
from evals.toolret import ToolSetError, load_set
from retriever.onnx_encoder import fast_minilm
from retriever.tool_retriever import ToolRetriever
from tools.api_call import ApiConfig
from tools.base import Observation, Tool, ToolRegistry
from tools.catalogue import build_tool
from tools.corpus import CorpusSearchTool
from tools.importing import ImportedToolSpec


class OfflineSearch(Tool):
    """The corpus search's card, offered beside the APIs as in the agent (never called here)."""

    name: ClassVar[str] = CorpusSearchTool.name
    description: ClassVar[str] = CorpusSearchTool.description
    Args: ClassVar[type[BaseModel]] = CorpusSearchTool.Args

    async def run(self, args: Any) -> list[Observation]:
        raise RuntimeError("not called in this benchmark")


async def main_async(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    try:
        data = load_set("stabletoolbench")
    except ToolSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    registry = ToolRegistry([OfflineSearch()])
    name_of: dict[str, str] = {}
    cards = []
    for tool_id, card in zip(data.ids, data.cards, strict=True):
        if card.name in registry:
            continue  # two ids clipped to one card name: keep the first
        tool = build_tool(ImportedToolSpec(card=card, api="stabletoolbench"), ApiConfig())
        registry.register(tool)
        name_of[card.name] = tool_id
        cards.append(card)
    settings = load_settings()
    console.print(f"{len(cards)} APIs registered")
    all_cards = [OfflineSearch.card(), *cards]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as bars:
        embedding = bars.add_task("embedding tool cards", total=len(all_cards))
        retriever = ToolRetriever(
            all_cards,
            fast_minilm(),
            vector_cache=settings.data_dir / "tool_vectors.sqlite",
            progress=lambda n: bars.advance(embedding, n),
        )
    selector = ToolSelector(retriever, k=args.k, max_demos=args.demos)
    models = build_role_models(settings.models)
    step = max(1, len(data.test) // args.queries)
    sample = data.test[::step][: args.queries]
    rows: list[dict[str, Any]] = []
    with Progress(*columns, console=console) as bars:
        task = bars.add_task("choosing", total=len(sample))
        for query in sample:
            ctx = RunContext(
                models=models,
                tools=registry,
                budget=BudgetConfig(max_seconds=args.budget),
                search=settings.search,
            )
            started = time.perf_counter()
            choice = await choose_tool(
                ctx,
                selector,
                question=query.text,
                goal=query.text,
                query=query.text,
                search_arguments={"query": query.text},
            )
            seconds = time.perf_counter() - started
            offered = [name_of.get(h.card.name, "") for h in choice.hits]
            rows.append(
                {
                    "relevant": name_of.get(choice.tool, "") in query.relevant,
                    "offered_relevant": any(o in query.relevant for o in offered),
                    "search": choice.tool == "search",
                    "valid": choice.tool != "search" and choice.error is None,
                    "error": choice.error,
                    "seconds": seconds,
                }
            )
            bars.advance(task)
            mark = "✓" if rows[-1]["relevant"] else ("·" if rows[-1]["offered_relevant"] else "✗")
            console.print(
                f"{mark} {seconds:5.1f} s  {choice.tool[:50]!r}  ← {query.text[:70]!r}"
                + (f"  [{choice.error[:160]}]" if choice.error else ""),
                markup=False,
            )
    for model in {id(m): m for m in models.values()}.values():
        await model.aclose()
    retriever.close()
    n = max(len(rows), 1)
    figures = {
        "queries": len(rows),
        "apis": len(cards),
        "k": args.k,
        "chosen_relevant": round(100 * sum(r["relevant"] for r in rows) / n, 1),
        "retrieved_relevant": round(100 * sum(r["offered_relevant"] for r in rows) / n, 1),
        "valid_call": round(100 * sum(r["valid"] for r in rows) / n, 1),
        "fell_back_to_search": round(100 * sum(r["search"] for r in rows) / n, 1),
        "seconds_per_choice": round(statistics.mean(r["seconds"] for r in rows), 2) if rows else 0,
        "model": models["planner"].name,
    }
    table = Table("figure", "value", title="Tool choice on StableToolBench")
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)
    print(json.dumps(figures))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--demos", type=int, default=3)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per choice")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
