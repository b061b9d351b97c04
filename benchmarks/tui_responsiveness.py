"""How responsive the TUI stays while a run streams: event-loop stalls and time per event.

    python benchmarks/tui_responsiveness.py [--rows 200] [--delay 0.02]

Runs the app headless (80x24) on a wide question over a generated corpus of `--rows` labelled
pages, with a scripted model that answers each call after `--delay` seconds (a stand-in for
model latency: the real one runs in a thread, so the loop sees only its await). A probe task
wakes every 10 ms and records how late it woke: that lateness is what a key press would wait.
Prints the run's figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent import Researcher, ScriptedChatModel, load_settings
from agent.llm.base import Message
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool
from tui import WideseekApp

QUESTION = """List every station of the Alpha line.

For each entry, provide:
- Station: the station's name
- Opened: the year it opened, as a plain number
- Platforms: its number of platforms

Please organize the results in one Markdown table with the following columns in order:
Station, Opened, Platforms
"""
PLAN = {
    "entity": "station",
    "columns": [{"name": "Station", "type": "text"}, {"name": "Opened", "type": "number"},
                {"name": "Platforms", "type": "number"}],
    "key_column": "Station",
    "conditions": [{"field": "Line", "test": "equals", "value": "Alpha"}],
    "queries": ["station Alpha line"],
}  # fmt: skip


def pages(n: int) -> list[Document]:
    return [
        Document(
            f"station/{i}",
            f"Station {i}\nLine: {'Alpha' if i % 2 else 'Beta'}\nOpened: {1900 + i % 100}\n"
            f"Platforms: {1 + i % 6}\n\nStation {i} is a station of the network.\n",
            f"https://stations.example/{i}",
            f"Station {i}",
        )
        for i in range(n)
    ]


class Delayed(ScriptedChatModel):
    delay = 0.02

    async def _generate(self, messages: Sequence[Message], **kwargs: Any) -> Any:
        await asyncio.sleep(self.delay)
        return await super()._generate(messages, **kwargs)


def reply(messages: Sequence[Message]) -> str:
    if "You plan the research" in messages[0].content:
        return json.dumps(PLAN)
    return json.dumps({"quote": "", "holds": False})


async def measure(rows: int, delay: float) -> dict[str, Any]:
    Delayed.delay = delay
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp), corpora=["stations"],
                                 **{"wide.max_rows": rows})  # fmt: skip
        store = CorpusStore(settings.corpus_db)
        store.add_documents("stations", pages(rows))

        def factory(s: Any) -> Researcher:
            tools = ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)])
            return Researcher(s, models=Delayed([reply] * 10_000), tools=tools,
                              checkpoint_path=Path(tmp) / "ckpt.db")  # fmt: skip

        app = WideseekApp(settings, researcher_factory=factory)
        lateness: list[float] = []
        async with app.run_test(size=(80, 24)) as pilot:
            stop = asyncio.Event()

            async def probe() -> None:
                loop = asyncio.get_running_loop()
                while not stop.is_set():
                    due = loop.time() + 0.01
                    await asyncio.sleep(0.01)
                    lateness.append(max(0.0, loop.time() - due))

            probing = asyncio.create_task(probe())
            started = time.perf_counter()
            app.screen.query_one("#question").value = QUESTION  # type: ignore[attr-defined]
            await pilot.press("enter")
            while app.progress is None or app.running:
                await pilot.pause(0.05)
            wall = time.perf_counter() - started
            stop.set()
            await probing
            progress = app.progress
            table = progress.result.table if progress.result else None
    events = progress.events
    ms = sorted(x * 1000 for x in lateness)
    return {
        "rows_in_corpus": rows,
        "table_rows": len(table or []),
        "events": events,
        "wall_s": round(wall, 2),
        "ms_per_event": round(1000 * wall / max(1, events), 2),
        "stall_p50_ms": round(statistics.median(ms), 2),
        "stall_p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 2),
        "stall_max_ms": round(ms[-1], 2),
        "model_delay_s": delay,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.02)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.rows, args.delay))
    for key, value in figures.items():
        print(f"{key:>16}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
