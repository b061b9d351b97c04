"""Rich rendering of runs for the terminal: live progress lines, the answer as it is written,
the answer, its sources."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from agent.events import EVENT_LOOK, Event
from agent.result import ResearchResult


def event_line(event: Event) -> str:
    label, style = EVENT_LOOK.get(event.type, (event.type, ""))
    summary = event.summary().replace("[", r"\[")
    return f"[{style}]{label:>6}[/] {summary}"


DRAFT_HEADER = "[bold]Answer[/] [dim](draft, checking sources…)[/]"


class AnswerDraft:
    """The writer's text printed as it streams (`answer_delta` events), under a header.

    Pieces are written as they are, with no markup, highlighting or wrapping of rich's own
    (the text holds "[1]" and breaks mid-word; the terminal wraps it). `close` ends the draft's
    line: call it before printing anything else.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.open = False

    def add(self, piece: str) -> None:
        if not piece:
            return
        if not self.open:
            self.console.print(DRAFT_HEADER)
            self.open = True
        self.console.out(piece, end="", highlight=False)

    def close(self) -> None:
        if self.open:
            self.console.out("", highlight=False)
            self.open = False


def print_result(console: Console, result: ResearchResult) -> None:
    console.print(Panel(Markdown(result.answer), title="Answer", border_style="green"))
    if result.citations:
        table = Table(title="Sources", show_lines=False, expand=False)
        table.add_column("#", justify="right")
        table.add_column("title")
        table.add_column("url", overflow="fold")
        for c in result.citations:
            table.add_row(str(c.n), c.title or c.source_id, c.url)
        console.print(table)
    t, u = result.timings, result.usage
    reused = f" · stored answer of run {result.reused_from}" if result.reused_from else ""
    console.print(
        f"[dim]{t.wall_seconds:.1f} s ({t.model_seconds:.1f} s model, {t.tool_seconds:.2f} s tools)"
        f" · {u.model_calls} model calls · {u.tool_calls} tool calls · {u.cache_hits} cache hits"
        f" · {u.total_tokens} tokens · stop: {result.stop_reason}{reused} · run {result.run_id}[/]"
    )


def table_csv(result: ResearchResult) -> str:
    """The result's table as CSV (header: the table's columns)."""
    return result.table_csv()
