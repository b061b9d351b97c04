"""An app over a real corpus store and real tools, with a scripted or the embedded model."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent import Researcher, ScriptedChatModel, Settings, load_settings
from retriever.corpus_store import CorpusStore
from tests.agent.wide.corpus import RIVERS, river_page
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool
from tui import WideseekApp

PLAN_ALWAYS = {"search.plan": "always"}  # these tests script the planner's reply

QUESTION = "How long is the Danube?"
PLAN = {
    "task_kind": "lookup",
    "sub_goals": [{"goal": "Find the length of the Danube",
                   "evidence_needed": "a sentence stating its length",
                   "query": "Danube length"}],
    "columns": [],
}  # fmt: skip
SATISFIED = {
    "evidence": "The Danube is 2,850 km long [1]",
    "facts": [{"subject": "Danube", "attribute": "length", "value": "2,850 km", "result": 1}],
    "missing": "",
    "verdict": "satisfied",
    "next_action": "next_goal",
    "query": "",
    "read": 0,
}
ANSWER = "The Danube is 2,850 km long [1]."
LOOKUP = [PLAN, SATISFIED, ANSWER]


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    settings = load_settings(
        **PLAN_ALWAYS, data_dir=tmp_path / "data", corpora=["rivers"], **overrides
    )
    store = CorpusStore(settings.corpus_db)
    if not store.has_corpus("rivers"):
        store.add_documents("rivers", [river_page(*r) for r in RIVERS])
    return settings


def scripted_factory(
    tmp_path: Path,
    replies: list[Any] | Callable[[], list[Any]],
    model: Callable[[list[Any]], ScriptedChatModel] = ScriptedChatModel,
) -> Callable[[Settings], Researcher]:
    """Researchers on the real corpus store and tools; each gets a fresh scripted model."""

    def factory(settings: Settings) -> Researcher:
        store = CorpusStore(settings.corpus_db)
        script = replies() if callable(replies) else list(replies)
        return Researcher(
            settings,
            models=model(script),
            tools=ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)]),
            checkpoint_path=settings.data_dir / "checkpoints.db",
        )

    return factory


def counter_ids() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"run{next(numbers):03d}"


def make_app(tmp_path: Path, replies: Any = None, **overrides: Any) -> WideseekApp:
    settings = settings_for(tmp_path, **overrides)
    return WideseekApp(
        settings,
        researcher_factory=scripted_factory(tmp_path, replies if replies is not None else LOOKUP),
        new_run_id=counter_ids(),
    )


async def until(condition: Callable[[], bool], pilot: Any, timeout: float = 90.0) -> None:
    """Let the app work until `condition` holds (fails the test after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


async def ask(pilot: Any, question: str = QUESTION, timeout: float = 90.0) -> None:
    app = pilot.app
    await pilot.click("#question")
    app.screen.query_one("#question").value = question
    await pilot.press("enter")
    await until(lambda: app.progress is not None and not app.running, pilot, timeout)
    await pilot.pause()
