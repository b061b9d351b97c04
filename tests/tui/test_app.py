"""The app driven headless with Pilot at 80x24: real LangGraph, SQLite, corpus and tools; the
model scripted."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Markdown, RichLog, Switch, TabbedContent, Tree

from agent import Researcher, ScriptedChatModel
from tests.agent.fakes import HangsOnSecondCall, Slow
from tests.tui.harness import QUESTION, ask, make_app, settings_for, until
from tui import WideseekApp
from tui.screens.history import HistoryScreen
from tui.screens.knowledge import KnowledgeScreen
from tui.screens.passage import PassageScreen
from tui.screens.settings import SettingsScreen
from tui.widgets.answer import AnswerView

SIZE = (80, 24)


def tree_labels(tree: Tree) -> list[str]:
    labels: list[str] = []

    def walk(node) -> None:
        labels.append(str(node.label))
        for child in node.children:
            walk(child)

    walk(tree.root)
    return labels


async def test_a_question_shows_plan_steps_evidence_and_a_cited_answer(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        screen = app.screen
        assert app.progress is not None and app.progress.stop == "answered"
        labels = tree_labels(screen.query_one("#plan", Tree))
        assert "lookup · 1 goal" in labels and "✓ Find the length of the Danube" in labels
        assert "search: Danube length" in labels
        log = screen.query_one("#activity", RichLog)
        text = "\n".join(line.text for line in log.lines)
        assert "search(query='Danube length'" in text and "satisfied" in text
        evidence = screen.query_one("#evidence", DataTable)
        rows = [evidence.get_row_at(i) for i in range(evidence.row_count)]
        assert ["fact", "Danube — length: 2,850 km", "Danube — river"] in rows
        assert screen.query_one("#tabs", TabbedContent).active == "tab-answer"
        markdown = screen.query_one("#answer-text", Markdown)
        assert "The Danube is 2,850 km long [\\[1\\]](cite:1)" in markdown.source
        assert "https://rivers.example/Danube" in markdown.source
        status = str(screen.query_one("#status").render())
        assert "answered" in status and "1 tool call ·" in status and "qwen" in status
        assert "1 fact cached" in status  # the fact the run stored


async def test_a_citation_opens_the_cited_passage(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        markdown = app.screen.query_one("#answer-text", Markdown)
        markdown.post_message(Markdown.LinkClicked(markdown, "cite:1"))
        await until(lambda: isinstance(app.screen, PassageScreen), pilot)
        shown = "\n".join(str(s.render()) for s in app.screen.query(".passage"))
        assert "Length: 2,850 km" in shown
        head = str(app.screen.query_one("#passage-head").render())
        assert "[1]" in head and "https://rivers.example/Danube" in head
        await pilot.press("escape")
        assert not isinstance(app.screen, PassageScreen)


async def test_cancel_keeps_the_partial_result(tmp_path: Path) -> None:
    entered = asyncio.Event()

    from tests.tui.harness import LOOKUP, scripted_factory

    app = WideseekApp(
        settings_for(tmp_path),
        researcher_factory=scripted_factory(
            tmp_path, LOOKUP, partial(HangsOnSecondCall, entered=entered)
        ),
    )
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#question", Input).value = QUESTION
        await pilot.press("enter")
        await until(entered.is_set, pilot)
        assert app.running
        await pilot.press("escape")
        await until(lambda: not app.running, pilot)
        await pilot.pause()
        result = app.progress.result
        assert result is not None and result.stop_reason == "cancelled by the user"
        assert "Danube" in result.answer and result.citations  # what it had found is kept
        markdown = app.screen.query_one("#answer-text", Markdown)
        assert "cancelled by the user" in markdown.source
        record = app.researcher.run_store.get_run(result.run_id)
        assert record is not None and record.status == "cancelled"


class PausesMidAnswer(ScriptedChatModel):
    """Streams the writer's reply word by word, and stops after `words` of them until `go` is
    set (`paused` says it got there)."""

    def __init__(
        self, replies: Any, *, words: int, paused: asyncio.Event, go: asyncio.Event
    ) -> None:
        super().__init__(replies)
        self.words, self.paused, self.go = words, paused, go

    async def stream(self, messages: Any, **kwargs: Any) -> AsyncIterator[str]:
        sent = 0
        async for piece in super().stream(messages, **kwargs):
            yield piece
            sent += 1
            if sent == self.words:
                self.paused.set()
                await self.go.wait()


async def test_the_answer_shows_as_it_is_written_then_the_checked_answer(
    tmp_path: Path,
) -> None:
    """While the writer writes, the Answer tab shows the draft (redrawn now and then, not per
    piece; no activity line per piece); when the run ends, the checked answer replaces it."""
    from tests.tui.harness import PLAN, SATISFIED, scripted_factory

    written = "The Danube is 2,850 km long [1]. It flows into the Atlantic Ocean [1]."
    paused, go = asyncio.Event(), asyncio.Event()
    model = partial(PausesMidAnswer, words=6, paused=paused, go=go)
    app = WideseekApp(
        settings_for(tmp_path),
        researcher_factory=scripted_factory(tmp_path, [PLAN, SATISFIED, written], model),
    )
    async with app.run_test(size=SIZE) as pilot:
        view = app.screen.query_one("#answer", AnswerView)
        drawn: list[str] = []
        show_draft = view.show_draft

        async def counted(draft: str) -> None:
            drawn.append(draft)
            await show_draft(draft)

        view.show_draft = counted  # type: ignore[method-assign]
        app.screen.query_one("#question", Input).value = QUESTION
        await pilot.press("enter")
        await until(paused.is_set, pilot)
        await until(lambda: view.drafting, pilot)  # shown within the redraw interval
        await pilot.pause(0.3)
        markdown = app.screen.query_one("#answer-text", Markdown)
        assert app.running and app.progress.draft == "The Danube is 2,850 km long "
        assert drawn[-1] == app.progress.draft and len(drawn) < 6  # not a redraw a piece
        assert "Draft" in markdown.source and "The Danube is 2,850 km long" in markdown.source
        assert app.screen.query_one("#tabs", TabbedContent).active == "tab-answer"
        log = app.screen.query_one("#activity", RichLog)
        assert not any(line.text.lstrip().startswith("write") for line in log.lines)
        go.set()
        await until(lambda: not app.running, pilot)
        await pilot.pause()
        assert not view.drafting
        # the checked answer replaces the draft: the unsupported sentence is gone, [1] links
        assert "Draft" not in markdown.source and "Atlantic" not in markdown.source
        assert "The Danube is 2,850 km long [\\[1\\]](cite:1)" in markdown.source
        assert app.progress.draft == written
        text = " ".join(" ".join(line.text for line in log.lines).split())  # unwrapped
        assert "check removed 1 of 2 sentences no source supports" in text
        assert not any(line.text.lstrip().startswith("write") for line in log.lines)


async def test_history_reopens_a_past_run_and_follow_ups_reuse_the_cache(tmp_path: Path) -> None:
    from tests.tui.harness import LOOKUP

    follow_up = {
        **LOOKUP[0],
        "sub_goals": [{**LOOKUP[0]["sub_goals"][0], "goal": "Find where the Danube flows into"}],
    }
    app = make_app(tmp_path, [*LOOKUP, follow_up, LOOKUP[1], "It flows into the Black Sea [1]."])
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await ask(pilot, "Where does the Danube flow into?")
        # the follow-up recalled the first run's fact before searching
        assert any(item.kind == "recalled" for item in app.progress.evidence)
        await pilot.press("f2")
        assert isinstance(app.screen, HistoryScreen)
        runs = app.screen.query_one("#runs", DataTable)
        assert runs.row_count == 2
        assert runs.get_row_at(0)[2] == "Where does the Danube flow into?"
        await pilot.press("down", "enter")
        await until(lambda: not isinstance(app.screen, HistoryScreen), pilot)
        await pilot.pause()
        assert app.progress.question == QUESTION and app.progress.run_id == "run001"
        markdown = app.screen.query_one("#answer-text", Markdown)
        assert "2,850 km" in markdown.source


async def test_knowledge_browser_searches_facts_and_shows_their_source(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await pilot.press("f3")
        assert isinstance(app.screen, KnowledgeScreen)
        facts = app.screen.query_one("#facts", DataTable)
        assert facts.row_count == 1
        app.screen.query_one("#fact-query", Input).value = "Danube"
        await pilot.press("enter")
        await pilot.pause()
        assert facts.get_row_at(0)[:3] == ["Danube", "length", "2,850 km"]
        facts.focus()
        facts.move_cursor(row=0)
        await pilot.pause()
        detail = str(app.screen.query_one("#fact-detail").render())
        assert "Danube — river" in detail and "Length: 2,850 km" in detail
        app.screen.query_one("#fact-query", Input).value = "zebra"
        app.screen.query_one("#fact-query", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert facts.row_count == 0
        await pilot.press("escape")
        assert not isinstance(app.screen, KnowledgeScreen)


async def test_settings_apply_and_bad_values_are_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        first = app.researcher
        await pilot.press("f4")
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#max-steps", Input).value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # refused, with the reason
        assert "max_steps" in str(app.screen.query_one("#settings-error").render())
        app.screen.query_one("#max-steps", Input).value = "3"
        app.screen.query_one("#corpora", Input).value = "rivers, atlantis"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "atlantis" in str(app.screen.query_one("#settings-error").render())
        app.screen.query_one("#corpora", Input).value = "rivers"
        await pilot.press("ctrl+s")
        await until(lambda: not isinstance(app.screen, SettingsScreen), pilot)
        assert app.settings.budget.max_steps == 3
        assert app.settings.data_dir == tmp_path / "data"
        assert app.researcher is not first and app.researcher.settings.budget.max_steps == 3


async def test_the_ui_answers_keys_while_the_model_works(tmp_path: Path) -> None:
    from tests.tui.harness import LOOKUP, scripted_factory

    slow = partial(Slow, delay=0.6)
    app = WideseekApp(
        settings_for(tmp_path), researcher_factory=scripted_factory(tmp_path, LOOKUP, slow)
    )
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#question", Input).value = QUESTION
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.running
        tabs = app.screen.query_one("#tabs", TabbedContent)
        tabs.active = "tab-evidence"
        await pilot.pause(0.05)
        assert tabs.active == "tab-evidence" and app.running  # switched mid-run
        # a second question while one runs is refused with a notice, not queued or crashed
        assert app.ask("another question") is False
        await until(lambda: not app.running, pilot)
        assert app.progress.stop == "answered"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_model_is_a_notification_not_a_crash(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, **{
        "models.default.backend": "openai",
        "models.default.base_url": f"http://127.0.0.1:{closed_port()}/v1",
        "models.default.max_retries": 0, "models.default.timeout": 2,
        "search.hybrid": False,
    })  # fmt: skip
    app = WideseekApp(settings, researcher_factory=Researcher)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, timeout=60)
        assert app.progress.stop == "failed"
        titles = [n.title for n in app._notifications]
        assert "model unreachable" in titles, titles
        assert app.is_running  # the app lives on; another question can be asked
        assert app.ask(QUESTION) is True


async def test_an_empty_corpus_is_reported_at_start(tmp_path: Path) -> None:
    from agent import load_settings

    app = WideseekApp(load_settings(data_dir=tmp_path / "nothing"), researcher_factory=Researcher)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "empty corpus" in [n.title for n in app._notifications]
        await ask(pilot)
        assert app.progress.stop == "failed"
        assert "no corpus to search" in [n.title for n in app._notifications]


async def test_budget_exhausted_is_a_warning_with_what_to_do(tmp_path: Path) -> None:
    from tests.tui.harness import LOOKUP

    partial = {**LOOKUP[1], "verdict": "partial", "next_action": "search", "query": "Danube km"}
    app = make_app(tmp_path, [LOOKUP[0], partial, "The Danube is 2,850 km long [1]."],
                   **{"budget.max_steps": 1})  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        assert app.progress.stop.startswith("step budget reached")
        notes = [n for n in app._notifications if n.title == "run ended early"]
        assert notes and "settings screen (F4)" in notes[0].message


async def test_a_wide_question_gives_a_table_that_exports(tmp_path: Path) -> None:
    from tests.agent.wide.test_nodes import PLAN as WIDE_PLAN
    from tests.agent.wide.test_nodes import QUESTION as WIDE
    from tests.agent.wide.test_nodes import oracle

    app = make_app(tmp_path, [oracle(WIDE_PLAN)] * 40)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, WIDE)
        screen = app.screen
        assert screen.query_one("#tabs", TabbedContent).active == "tab-table"
        table = screen.query_one("#result-table", DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["River", "Length (km)", "Mouth"]
        rows = sorted(tuple(table.get_row_at(i)) for i in range(table.row_count))
        assert rows == [
            ("Danube", "2850", "Black Sea"),
            ("Elbe", "1094", "North Sea"),
            ("Rhine", "1230", "North Sea"),
            ("Volga", "3530", "Caspian Sea"),
        ]
        labels = tree_labels(screen.query_one("#plan", Tree))
        assert any(label.startswith("table · river: River, Length (km), Mouth") for label in labels)
        assert "4 rows" in labels
        screen.query_one("#tabs", TabbedContent).active = "tab-table"
        await pilot.pause()
        await pilot.click("#export-csv")
        await pilot.pause()
        csv_files = list((tmp_path / "data" / "exports").glob("*.csv"))
        assert len(csv_files) == 1
        lines = csv_files[0].read_text().splitlines()
        assert lines[0] == "River,Length (km),Mouth" and len(lines) == 5
        await pilot.click("#export-md")
        await pilot.pause()
        (md,) = (tmp_path / "data" / "exports").glob("*.md")
        assert md.read_text().startswith("| River | Length (km) | Mouth |")
        assert isinstance(screen.query_one("#answer", AnswerView), AnswerView)


async def test_settings_chosen_during_a_run_apply_when_it_ends(tmp_path: Path) -> None:
    from tests.tui.harness import LOOKUP, scripted_factory

    slow = partial(Slow, delay=0.4)
    app = WideseekApp(
        settings_for(tmp_path), researcher_factory=scripted_factory(tmp_path, LOOKUP, slow)
    )
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#question", Input).value = QUESTION
        await pilot.press("enter")
        await pilot.pause(0.1)
        await pilot.press("f4")
        app.screen.query_one("#max-steps", Input).value = "4"
        await pilot.press("ctrl+s")
        await until(lambda: not isinstance(app.screen, SettingsScreen), pilot)
        assert app.running and app.settings.budget.max_steps == 6  # not under a running run
        await until(lambda: not app.running and app.settings.budget.max_steps == 4, pilot)
        assert app.progress.stop == "answered"


async def test_a_damaged_stored_run_is_a_notice_when_reopened(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        store = app.researcher.run_store
        store.db.execute("UPDATE runs SET result = ? WHERE run_id = ?", ['{"run_id": 5}', "run001"])
        store.db.conn.commit()
        await pilot.press("f2", "enter")
        await pilot.pause()
        assert any("cannot be reopened" in n.message for n in app._notifications)
        assert app.is_running


async def test_web_search_switch_needs_a_backend_and_then_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BRAVE_API_KEY", "TAVILY_API_KEY", "SERPER_API_KEY", "WIDESEEK_SEARXNG_URL"):
        monkeypatch.delenv(name, raising=False)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        assert "backends: none" in str(app.screen.query_one("#web-backends").render())
        app.screen.query_one("#web", Switch).value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # refused: nothing to search the web with
        assert "no search backend" in str(app.screen.query_one("#settings-error").render())
        await pilot.press("escape")
    monkeypatch.setenv("WIDESEEK_SEARXNG_URL", "http://127.0.0.1:9")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        assert "searxng (searxng)" in str(app.screen.query_one("#web-backends").render())
        app.screen.query_one("#web", Switch).value = True
        await pilot.press("ctrl+s")
        await until(lambda: not isinstance(app.screen, SettingsScreen), pilot)
        assert app.settings.web.enabled
        assert [b.kind for b in app.settings.web.configured_backends()] == ["searxng"]
