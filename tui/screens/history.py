"""Past runs, newest first; Enter reopens one."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from memory.run_store import RunRecord


def ago(started: float, now: float | None = None) -> str:
    seconds = max(0.0, (now if now is not None else time.time()) - started)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds // 3600:.0f} h ago"
    return time.strftime("%Y-%m-%d", time.localtime(started))


class HistoryScreen(Screen[str | None]):
    """Dismissed with the chosen run id (None: back without choosing)."""

    DEFAULT_CSS = """
    HistoryScreen #history-title { height: 1; padding: 0 1; background: $boost; }
    HistoryScreen DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, runs: list[RunRecord]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        yield Static("History: Enter reopens a run", id="history-title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.add_column("when", width=12)
        table.add_column("status", width=9)
        table.add_column("question", width=48)
        table.add_column("run", width=12)
        for record in self.runs:
            table.add_row(ago(record.started_at), record.status, record.question, record.run_id,
                          key=record.run_id)  # fmt: skip
        if not self.runs:
            self.query_one("#history-title", Static).update("History: no runs yet")
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)

    def action_back(self) -> None:
        self.dismiss(None)
