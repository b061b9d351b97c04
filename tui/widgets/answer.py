"""The answer as Markdown with numbered citations that open the cited passage, and for wide
questions the table as a DataTable with export."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Markdown, Static

from agent.result import ResearchResult

_FENCE = re.compile(r"```(?:markdown|md)?\n(.*?)\n```", re.S)
_CITE = re.compile(r"\[(\d+)\]")
CITE_SCHEME = "cite:"


def answer_markdown(result: ResearchResult) -> str:
    """The answer with each [n] a link to its citation, then the sources (a table answer: its
    sources list; the table itself is in the Table tab)."""
    numbers = {c.n for c in result.citations}
    if result.table is not None:  # the Table tab shows it; a markdown table of 80 rows is slow
        rows = len(result.table)
        text = _FENCE.sub(
            f"*A table of {rows} row{'s' * (rows != 1)}: see the **Table** tab.*", result.answer
        )
    else:
        text = _FENCE.sub(lambda m: m.group(1), result.answer)

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[\\[{n}\\]]({CITE_SCHEME}{n})" if n in numbers else match.group(0)

    body = _CITE.sub(link, text)
    if not result.citations or result.table is not None:
        return body  # a table answer lists its own sources
    sources = "\n".join(
        f"{c.n}. [{_escape(c.title or c.source_id)}]({CITE_SCHEME}{c.n})"
        + (f" — {c.url}" if c.url else "")
        for c in result.citations
    )
    return f"{body}\n\n**Sources**\n\n{sources}"


DRAFT_NOTE = "*Draft, being written; the sources are checked when it is done…*"
_ANY_FENCE = re.compile(r"^```(?:markdown|md)?[ \t]*\n?", re.M)


def draft_markdown(draft: str) -> str:
    """The answer as the writer writes it, under a note that it is a draft (no links yet: the
    citations resolve only when the run ends; a table's fence is dropped, open or closed)."""
    return f"{DRAFT_NOTE}\n\n{_ANY_FENCE.sub('', draft)}"


def _escape(text: str) -> str:
    return re.sub(r"([\[\]\\])", r"\\\1", text)


class AnswerView(VerticalScroll):
    """The answer; a click on [n] (or Enter on a focused citation) asks for the passage."""

    DEFAULT_CSS = """
    AnswerView { height: 1fr; padding: 0 1; }
    AnswerView > #answer-empty { color: $text-muted; padding: 1; }
    """

    class CitationSelected(Message):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

    drafting = False
    """True while the view shows a draft (`show_draft`), not a run's result."""

    def compose(self) -> ComposeResult:
        yield Static("The answer appears here as the run writes it.", id="answer-empty")
        yield Markdown("", id="answer-text", open_links=False)

    async def show(self, result: ResearchResult | None) -> None:
        self.drafting = False
        self.query_one("#answer-empty").display = result is None
        await self.query_one("#answer-text", Markdown).update(
            answer_markdown(result) if result is not None else ""
        )

    async def show_draft(self, draft: str) -> None:
        """The answer as it is being written; `show` replaces it with the checked answer."""
        self.drafting = True
        self.query_one("#answer-empty").display = False
        await self.query_one("#answer-text", Markdown).update(draft_markdown(draft))
        self.scroll_end(animate=False)  # follow the text as it grows

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        if event.href.startswith(CITE_SCHEME) and event.href[len(CITE_SCHEME) :].isdigit():
            self.post_message(self.CitationSelected(int(event.href[len(CITE_SCHEME) :])))
        else:
            self.notify(event.href, title="link")


class ResultTable(Vertical):
    """A wide answer's table: one row per entity, exportable to CSV or Markdown."""

    DEFAULT_CSS = """
    ResultTable { height: 1fr; }
    ResultTable > DataTable { height: 1fr; }
    ResultTable > Horizontal { height: 3; }
    ResultTable Button { margin: 0 1 0 0; }
    """

    class ExportRequested(Message):
        def __init__(self, fmt: str) -> None:
            super().__init__()
            self.fmt = fmt

    def compose(self) -> ComposeResult:
        yield DataTable(id="result-table", cursor_type="row", zebra_stripes=True)
        with Horizontal():
            yield Button("Export CSV", id="export-csv", variant="primary")
            yield Button("Export Markdown", id="export-md")

    def show(self, result: ResearchResult | None) -> None:
        table = self.query_one("#result-table", DataTable)
        table.clear(columns=True)
        columns = result.table_header() if result else []
        for column in columns:
            table.add_column(column, key=column)
        for row in (result.table or []) if result else []:
            table.add_row(*(str(row.get(c, "")) for c in columns))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.ExportRequested("csv" if event.button.id == "export-csv" else "md"))
