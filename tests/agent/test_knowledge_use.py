"""The agent consults the knowledge cache before a tool and records what it read."""

from __future__ import annotations

from pathlib import Path

from agent import Researcher, ScriptedChatModel, load_settings
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tests.agent.test_graph import PLAN, SATISFIED
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool


def researcher(tmp_path: Path, store: CorpusStore, replies: list) -> Researcher:
    return Researcher(
        load_settings(),
        models=ScriptedChatModel(replies),
        tools=ToolRegistry([CorpusSearchTool(store, ["c"]), ReadDocumentTool(store)]),
        checkpoint_path=tmp_path / "ckpt.db",
    )


async def test_second_run_uses_the_cache_and_reindexing_invalidates_it(tmp_path: Path) -> None:
    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents("c", [Document("fr", "The capital of France is Paris.", "https://x/fr",
                                       "France")])  # fmt: skip
    replies = [PLAN, SATISFIED, "Paris [1]."]
    first = await researcher(tmp_path, store, list(replies)).arun("Capital of France?")
    assert first.usage.tool_calls == 1
    second_r = researcher(tmp_path, store, list(replies))
    second = await second_r.arun("Capital of France?")
    observation = next(e for e in second.events if e.type == "observation")
    assert observation.data["cached"] is True and second.usage.tool_calls == 0
    assert second.citations[0].source_id == "c:fr"  # cached results still carry their source
    # what the runs read and noted is in the knowledge cache
    cache = second_r.knowledge
    assert cache is not None
    assert cache.get_document("c:fr") is not None
    assert cache.evidence_for("Find the capital of France")[0].source_id == "c:fr"
    # re-indexing the corpus changes the results' scope: no stale hit
    store.add_documents("c", [Document("fr", "France's capital city is Paris (since 987).",
                                       "https://x/fr", "France")])  # fmt: skip
    third = await researcher(tmp_path, store, list(replies)).arun("Capital of France?")
    assert third.usage.tool_calls == 1
    assert (
        "987"
        in next(e for e in third.events if e.type == "observation").data["items"][0]["snippet"]
    )


async def test_cache_can_be_disabled(tmp_path: Path) -> None:
    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents("c", [Document("fr", "The capital of France is Paris.")])
    settings = load_settings(knowledge_cache=False)
    for _ in range(2):
        r = Researcher(
            settings,
            models=ScriptedChatModel([PLAN, SATISFIED, "Paris [1]."]),
            tools=ToolRegistry([CorpusSearchTool(store, ["c"]), ReadDocumentTool(store)]),
            checkpoint_path=tmp_path / "ckpt.db",
        )
        result = await r.arun("Capital of France?")
        assert result.usage.tool_calls == 1 and r.knowledge is None
