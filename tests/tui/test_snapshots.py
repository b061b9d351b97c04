"""SVG snapshots of the main screens at 80x24 (pytest-textual-snapshot). After an intended
change of the look: `pytest tests/tui/test_snapshots.py --snapshot-update`, then review the SVGs
under __snapshots__/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui.harness import ask, make_app

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Elapsed times read 0 s: a snapshot must not depend on how fast the machine is."""
    monkeypatch.setattr("tui.progress.clock", lambda: 1000.0)


async def steady(pilot: Any) -> None:
    """Input cursors stop blinking: a blink caught mid-way would differ from run to run."""
    from textual.widgets import Input

    for screen in pilot.app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False
    await pilot.pause()


def test_idle(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=steady)


def test_answered_lookup(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await ask(pilot)
        await steady(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_plan_and_activity(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await ask(pilot)
        pilot.app.screen.query_one("#tabs").active = "tab-activity"
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_wide_table(snap_compare: Any, tmp_path: Path) -> None:
    from tests.agent.wide.test_nodes import PLAN, QUESTION, oracle

    async def run_before(pilot: Any) -> None:
        await ask(pilot, QUESTION)
        await steady(pilot)

    app = make_app(tmp_path, [oracle(PLAN)] * 40)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_cited_passage(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await ask(pilot)
        from textual.widgets import Markdown

        from tests.tui.harness import until
        from tui.screens.passage import PassageScreen

        markdown = pilot.app.screen.query_one("#answer-text", Markdown)
        markdown.post_message(Markdown.LinkClicked(markdown, "cite:1"))
        await until(lambda: isinstance(pilot.app.screen, PassageScreen), pilot)
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_history(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await ask(pilot)
        await pilot.press("f2")
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_knowledge(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await ask(pilot)
        await pilot.press("f3")
        await pilot.pause()
        pilot.app.screen.query_one("#facts").focus()
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_settings(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f4")
        await steady(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SIZE, run_before=run_before)
