"""What the run gathered, with sources: facts, noted evidence, recalled facts, table rows."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import DataTable

from tui.progress import EvidenceItem, RunProgress

_KIND = {"fact": "fact", "evidence": "noted", "recalled": "cache", "row": "row"}


class EvidenceTable(DataTable[str]):
    """One line per piece of evidence; Enter opens its source."""

    DEFAULT_CSS = """
    EvidenceTable { height: 1fr; }
    """

    class SourceRequested(Message):
        def __init__(self, source_id: str) -> None:
            super().__init__()
            self.source_id = source_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._items: list[EvidenceItem] = []

    def on_mount(self) -> None:
        self.add_column("kind", width=5, key="kind")
        self.add_column("evidence", width=44, key="text")
        self.add_column("source", width=22, key="source")

    def show(self, progress: RunProgress) -> None:
        if len(progress.evidence) < len(self._items):
            self.clear()
            self._items = []
        for item in progress.evidence[len(self._items) :]:
            self._items.append(item)
            self.add_row(
                _KIND[item.kind],
                item.text,
                item.title or item.source_id,
                key=str(len(self._items) - 1),
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if key is not None and self._items[int(key)].source_id:
            self.post_message(self.SourceRequested(self._items[int(key)].source_id))
