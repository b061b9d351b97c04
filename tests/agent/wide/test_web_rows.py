"""Wide research over the web: a listing page read whole gives its table's rows (structure from
the HTML, not one row per page), through the real graph, a real HTTP server on 127.0.0.1 (a
SearxNG-style search and the pages), the real web reader and a scripted model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent import Researcher, ScriptedChatModel, load_settings
from agent.llm.base import Message
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tests.agent.fake_web import FakeWeb, page
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool

ROWS = [
    ("spellcheck", "editing", "1.2"),
    ("autosave", "files", "1.0"),
    ("linter", "editing", "2.1"),
    ("backup", "files", "2.3"),
    ("snippets", "editing", "1.7"),
]
TABLE = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in ROWS)
PLUGINS_PAGE = (
    "Quill plugins",
    "<!DOCTYPE html><html><head><title>Quill plugins</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/docs'>Docs</a></nav><main><h1>Quill plugins</h1>"
    "<p>Quill plugins ship with the editor; each has a category.</p>"
    "<table><caption>Bundled plugins</caption><thead><tr><th>Plugin</th><th>Category</th>"
    f"<th>Since</th></tr></thead><tbody>{TABLE}</tbody></table></main></body></html>",
    "2026-11-20",
)
QUESTION = """Which plugins bundled with the Quill editor belong to the editing category?

For each entry, provide:
- Plugin: the plugin's name
- Since: the Quill release that added it

Please organize the results in one Markdown table with the following columns in order:
Plugin, Since
"""
PLAN = {
    "entity": "Quill plugin",
    "columns": [{"name": "Plugin", "type": "text"}, {"name": "Since", "type": "text"}],
    "key_column": "Plugin",
    "conditions": [{"field": "Category", "test": "equals", "value": "editing"}],
    "queries": ["Quill plugins category"],
}


def reply(messages: Sequence[Message]) -> str:
    system = messages[0].content
    if "You plan the research" in system:
        return json.dumps(PLAN)
    if "Say where the question says the items are listed" in system:
        return json.dumps({"listed_in": ""})
    raise AssertionError(f"no other model call is needed: {system[:80]}")


async def test_a_web_listing_page_gives_its_table_rows(tmp_path: Path) -> None:
    from agent.researcher import web_tools

    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents("notes", [Document("n", "Unrelated notes about tea.", "", "Tea")])
    pages: dict[str, Any] = {
        "/plugins": PLUGINS_PAGE,
        "/about": page("About Quill", "Quill is a small editor for writers and its plugins."),
    }
    with FakeWeb(pages).running() as web:
        settings = load_settings(
            data_dir=tmp_path / "data",
            **{"web.enabled": True, "web.allow_hosts": ["127.0.0.1"],
               "web.backends": [{"kind": "searxng", "base_url": web.base_url}]},
        )  # fmt: skip
        tools = ToolRegistry(web_tools(settings, CorpusSearchTool(store), ReadDocumentTool(store)))
        researcher = Researcher(settings, models=ScriptedChatModel([reply] * 5), tools=tools,
                                checkpoint_path=tmp_path / "ckpt.db")  # fmt: skip
        result = await researcher.arun(QUESTION)
        fetched = [r for r in web.requests if r.startswith("/plugins")]
    assert {(r["Plugin"], r["Since"]) for r in result.table or []} == {
        ("spellcheck", "1.2"), ("linter", "2.1"), ("snippets", "1.7")
    }  # fmt: skip
    assert len(fetched) == 1  # the listing page was read once for all its rows
    assert all(c.url.endswith("/plugins") for c in result.citations)
    assert "Quill plugins" not in {r["Plugin"] for r in result.table or []}
