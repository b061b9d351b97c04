"""The table plan node's corpus checks (agent/wide/planning.py), on a real corpus store."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from agent.wide.planning import _scope_words
from agent.wide.table_plan import Column, TablePlan, place_words
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool


async def test_scope_words_leave_out_words_most_documents_state(tmp_path: Path) -> None:
    """Every page of the Quill manual says "Quill": it names no place in it; "plugins" does."""
    store = CorpusStore(tmp_path / "corpus.db")
    pages = [("Quill plugins", "The plugins bundled with Quill.")] + [
        (f"Quill topic {i}", f"Quill handles topic {i}.") for i in range(4)
    ]
    store.add_documents("manual", [Document(f"d{i}", text, "", title)
                                   for i, (title, text) in enumerate(pages)])  # fmt: skip

    def plan() -> TablePlan:
        scope = "the Quill manual's plugin list"
        return TablePlan("plugin", [Column("Plugin")], "Plugin", [], ["plugin"], scope=scope,
                         scope_words=place_words(scope))  # fmt: skip

    context = SimpleNamespace(tools=ToolRegistry([CorpusSearchTool(store)]))
    assert (await _scope_words(context, plan())).scope_words == ["plugin"]  # type: ignore[arg-type]
    # without a corpus to ask (the web), every distinctive word stays
    web = SimpleNamespace(tools=ToolRegistry([]))
    assert (await _scope_words(web, plan())).scope_words == ["quill", "plugin"]  # type: ignore[arg-type]
