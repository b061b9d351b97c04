"""The main screen: ask, watch the plan, the steps and the evidence, read the answer."""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, TabbedContent, TabPane

from agent.events import Event
from agent.result import ResearchResult
from tui.progress import RunProgress
from tui.widgets.activity import ActivityLog
from tui.widgets.answer import AnswerView, ResultTable
from tui.widgets.evidence import EvidenceTable
from tui.widgets.plan_tree import PlanTree
from tui.widgets.status import StatusLine

DRAFT_INTERVAL = 0.1
"""Seconds at least between two redraws of the answer as it is written (a Markdown update per
piece would fall behind the model); longer when a redraw itself takes long (a big table)."""


class ResearchScreen(Screen[None]):
    DEFAULT_CSS = """
    ResearchScreen #question { margin: 0 0; }
    ResearchScreen #body { height: 1fr; }
    ResearchScreen TabbedContent { width: 1fr; }
    ResearchScreen TabPane { padding: 0; }
    """
    BINDINGS = [
        Binding("escape", "app.cancel_run", "Cancel run"),
        Binding("f2", "app.history", "History"),
        Binding("f3", "app.knowledge", "Knowledge"),
        Binding("f4", "app.settings", "Settings"),
        Binding("ctrl+l", "focus_question", "Ask", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Ask a question, or a wide one: list every X with A, B, C",
                    id="question")  # fmt: skip
        with Horizontal(id="body"):
            yield PlanTree(id="plan")
            with TabbedContent(initial="tab-activity", id="tabs"):
                with TabPane("Activity", id="tab-activity"):
                    yield ActivityLog(id="activity")
                with TabPane("Evidence", id="tab-evidence"):
                    yield EvidenceTable(id="evidence")
                with TabPane("Answer", id="tab-answer"):
                    yield AnswerView(id="answer")
                with TabPane("Table", id="tab-table"):
                    yield ResultTable(id="table")
        yield StatusLine(id="status")
        yield Footer()

    _draft_timer: Timer | None = None
    _draft_interval = DRAFT_INTERVAL

    def on_mount(self) -> None:
        self.query_one("#tab-table", TabPane).display = False
        self.query_one("#tabs", TabbedContent).hide_tab("tab-table")
        self.query_one("#question", Input).focus()

    def action_focus_question(self) -> None:
        self.query_one("#question", Input).focus()

    @on(Input.Submitted, "#question")
    def _submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            self.notify("Type a question first.", severity="warning")
            return
        if self.app.ask(question):  # type: ignore[attr-defined]
            event.input.value = ""

    # -- what the app calls as a run goes --------------------------------------------------

    async def start(self, progress: RunProgress) -> None:
        self._stop_draft()
        self.query_one("#activity", ActivityLog).clear()
        self.query_one("#evidence", EvidenceTable).show(progress)
        await self.query_one("#answer", AnswerView).show(None)
        self._show_table(None)
        self.query_one("#plan", PlanTree).show(progress)
        self.query_one("#tabs", TabbedContent).active = "tab-activity"
        self.query_one("#question", Input).placeholder = f"Asked: {progress.question}"

    def event(self, progress: RunProgress, event: Event) -> None:
        if event.type == "answer_delta":  # `progress.draft` grew: redrawn at most so often
            if self._draft_timer is None:
                self._draft_timer = self.set_timer(
                    self._draft_interval, lambda: self._show_draft(progress)
                )
            return
        self.query_one("#activity", ActivityLog).add(event)
        if event.type in {"plan", "goal", "reflection", "table_plan", "enumerate", "coverage"}:
            self.query_one("#plan", PlanTree).show(progress)
        if event.type in {"fact", "reflection", "cache_hit", "row"}:
            self.query_one("#evidence", EvidenceTable).show(progress)

    async def _show_draft(self, progress: RunProgress) -> None:
        """Show the answer written so far, while the run goes on (when it has ended,
        `finished` shows the checked answer instead)."""
        self._draft_timer = None
        if not progress.running or not progress.draft:
            return
        view = self.query_one("#answer", AnswerView)
        tabs = self.query_one("#tabs", TabbedContent)
        if not view.drafting and tabs.active == "tab-activity":
            tabs.active = "tab-answer"  # the answer is being written: show it
        started = time.monotonic()
        await view.show_draft(progress.draft)
        self._draft_interval = max(DRAFT_INTERVAL, 2 * (time.monotonic() - started))

    def _stop_draft(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self._draft_interval = DRAFT_INTERVAL

    async def finished(self, progress: RunProgress) -> None:
        self._stop_draft()
        self.query_one("#plan", PlanTree).show(progress)
        self.query_one("#evidence", EvidenceTable).show(progress)
        await self.query_one("#answer", AnswerView).show(progress.result)
        self._show_table(progress.result)
        tabs = self.query_one("#tabs", TabbedContent)
        has_table = progress.result is not None and progress.result.table is not None
        tabs.active = "tab-table" if has_table else "tab-answer"
        self.query_one("#question", Input).placeholder = "Ask a follow-up question"
        self.query_one("#question", Input).focus()

    async def replay(self, progress: RunProgress) -> None:
        """Show a past run (history)."""
        await self.start(progress)
        log = self.query_one("#activity", ActivityLog)
        for event in progress.result.events if progress.result else []:
            log.add(event)
        await self.finished(progress)

    def _show_table(self, result: ResearchResult | None) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        has_table = result is not None and result.table is not None
        pane = self.query_one("#tab-table", TabPane)
        pane.display = has_table
        if has_table:
            tabs.show_tab("tab-table")
        else:
            tabs.hide_tab("tab-table")
        self.query_one("#table", ResultTable).show(result if has_table else None)

    def status(self, progress: RunProgress | None, model: str, facts: int | None) -> None:
        for line in self.query("#status").results(StatusLine):  # none while the app closes
            line.show(progress, model, facts)
