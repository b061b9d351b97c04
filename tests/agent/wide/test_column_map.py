"""Columns mapped to a document table's header by meaning (one model call per header), through
the real graph, real SQLite corpus and tools, with a scripted model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent import Researcher, ScriptedChatModel, load_settings
from agent.llm.base import Message
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool

PAGE = """## Tidyup options

Every option of the tidyup command, with the release that introduced it.

Option | Introduced | Notes
--dry-run | 0.9 | prints what would change
--recursive | 1.0 | walks into folders
--keep-empty | 1.3 | leaves empty folders
--archive | 2.0 | moves files into an archive
"""
QUESTION = """List every option of the tidyup command with the release that first had it.

For each entry, provide:
- Option: the option's name
- First Version: the tidyup release that first had the option

Please organize the results in one Markdown table with the following columns in order:
Option, First Version
"""
PLAN = {
    "entity": "tidyup option",
    "columns": [{"name": "Option", "type": "text"}, {"name": "First Version", "type": "text"}],
    "key_column": "Option",
    "conditions": [{"field": "", "test": "contains", "value": "tidyup"}],
    "queries": ["tidyup options release"],
}


def scripted(mapping_calls: list[str], answer: str) -> Any:
    def reply(messages: Sequence[Message]) -> str:
        system, user = messages[0].content, messages[-1].content
        if "You plan the research" in system:
            return json.dumps(PLAN)
        if "Say where the question says the items are listed" in system:
            return json.dumps({"listed_in": ""})
        if "You match the columns" in system:
            mapping_calls.append(user)
            name = user.split("Needed columns:\n- ", 1)[1].split(" ", 1)[0]
            return json.dumps({name: answer})
        if "You fill one row" in system:  # a value the row's text does not state
            return json.dumps({"first_version": "9.9"})
        raise AssertionError(f"unexpected prompt: {system[:80]} {user[:300]}")

    return reply


def run(tmp_path: Path, answer: str) -> tuple[Any, list[str]]:
    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents(
        "tidy",
        [
            Document("options", PAGE, "https://tidy.example/options", "Tidyup options"),
            Document(
                "intro", "## Tidyup\n\nTidyup sorts files.\n", "https://tidy.example/", "Tidyup"
            ),
        ],
    )
    calls: list[str] = []
    researcher = Researcher(
        load_settings(data_dir=tmp_path / "data"),
        models=ScriptedChatModel([scripted(calls, answer)] * 10),
        tools=ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    return researcher, calls


async def test_a_column_named_otherwise_is_mapped_by_meaning_once(tmp_path: Path) -> None:
    researcher, calls = run(tmp_path, "Introduced")
    result = await researcher.arun(QUESTION)
    assert {(r["Option"], r["First Version"]) for r in result.table} == {
        ("--dry-run", "0.9"), ("--recursive", "1.0"), ("--keep-empty", "1.3"), ("--archive", "2.0")
    }  # fmt: skip
    assert len(calls) == 1  # one call for the header, not one per row
    assert "Introduced" in calls[0] and "--dry-run" in calls[0]  # the header and sample rows
    assert "Tidyup options" not in {r["Option"] for r in result.table}


async def test_a_mapping_to_a_column_the_table_lacks_is_ignored(tmp_path: Path) -> None:
    researcher, calls = run(tmp_path, "Released")  # not a column of the table
    result = await researcher.arun(QUESTION)
    assert len(calls) == 1
    # the row's own text was read instead, and a value it does not state was not kept
    assert len(result.table) == 4
    assert {r["First Version"] for r in result.table} == {""}
