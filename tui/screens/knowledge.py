"""The knowledge cache: search the stored facts, see each one's source passage."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from memory.knowledge import FactRecord, KnowledgeCache, KnowledgeCacheError

LIMIT = 200


class KnowledgeScreen(Screen[None]):
    DEFAULT_CSS = """
    KnowledgeScreen #facts { height: 1fr; }
    KnowledgeScreen #fact-source {
        height: 8;
        border-top: solid $primary-background;
        padding: 0 1;
    }
    KnowledgeScreen #knowledge-stats { height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, cache: KnowledgeCache | None) -> None:
        super().__init__()
        self.cache = cache
        self._facts: dict[str, FactRecord] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="knowledge-stats")
        yield Input(placeholder="Search stored facts (empty: the newest)", id="fact-query")
        yield DataTable(id="facts", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="fact-source"):
            yield Static("Select a fact to see its source.", id="fact-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#facts", DataTable)
        for name, width in (("subject", 18), ("attribute", 14), ("value", 22), ("source", 18)):
            table.add_column(name, width=width)
        if self.cache is None:
            self.query_one("#knowledge-stats", Static).update(
                "The knowledge cache is off (knowledge_cache = false)."
            )
            return
        self._refresh("")
        self.query_one("#fact-query", Input).focus()

    @on(Input.Submitted, "#fact-query")
    def _search(self, event: Input.Submitted) -> None:
        self._refresh(event.value.strip())

    def _refresh(self, text: str) -> None:
        if self.cache is None:
            return
        try:
            stats = self.cache.stats()
            if text:
                facts = self.cache.search_facts(text, limit=LIMIT)
            else:
                newest = max(0, int(stats["last_fact_id"]) - LIMIT)
                facts = list(reversed(self.cache.all_facts(since_id=newest, limit=LIMIT)))
        except KnowledgeCacheError as error:
            self.notify(str(error), title="knowledge cache", severity="error")
            return
        self.query_one("#knowledge-stats", Static).update(
            " · ".join(
                f"{stats[key]:,} {noun}{'s' * (stats[key] != 1)}"
                for key, noun in (
                    ("facts", "fact"),
                    ("documents", "document"),
                    ("answers", "answer"),
                    ("tool_cache", "cached tool result"),
                )
            )
            + (f" · {len(facts)} match {text!r}" if text else "")
        )
        table = self.query_one("#facts", DataTable)
        table.clear()
        self._facts = {}
        for fact in facts:
            key = str(fact.id)
            self._facts[key] = fact
            table.add_row(fact.subject, fact.attribute, fact.value, fact.title or fact.source_id,
                          key=key)  # fmt: skip

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        fact = self._facts.get(str(event.row_key.value))
        if fact is None:
            return
        detail = Text.assemble(
            (fact.text(), "bold"),
            f"\nsource: {fact.title or fact.source_id}  {fact.url}\n",
            (f"run {fact.run_id} · confidence {fact.confidence:.2f}\n", "dim"),
            fact.passage or "(no stored passage)",
        )
        self.query_one("#fact-detail", Static).update(detail)

    def action_back(self) -> None:
        self.dismiss(None)
