"""The agent and the knowledge cache: stored answers, recalled facts, cached tool results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from agent import Researcher, ScriptedChatModel, load_settings
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tests.agent.test_graph import PLAN, SATISFIED
from tools.base import Observation, Tool, ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool

PLAN_ALWAYS = {"search.plan": "always"}  # these tests script the planner's reply

FRANCE = Document("fr", "The capital of France is Paris.", "https://x/fr", "France")
NOTED = {
    **SATISFIED,
    "facts": [
        {"subject": "France", "attribute": "capital", "value": "Paris", "result": 1},
        # not in the result's text: an invented value is never stored
        {"subject": "France", "attribute": "population", "value": "68 million", "result": 1},
        {"subject": "France", "attribute": "capital", "value": "Paris", "result": 7},
    ],
}
RELATED_PLAN = {
    "task_kind": "lookup",
    "sub_goals": [
        {
            "goal": "Find the capital city of France",
            "evidence_needed": "a sentence naming the capital",
            "query": "France capital city",
        }
    ],
    "columns": [],
}


def researcher(
    tmp_path: Path, store: CorpusStore, replies: list, tools: list[Tool] | None = None, **settings
) -> tuple[Researcher, ScriptedChatModel]:
    model = ScriptedChatModel(replies)
    overrides = {"knowledge.dense_facts": False, **settings}
    registry = ToolRegistry(
        tools if tools is not None else [CorpusSearchTool(store, ["c"]), ReadDocumentTool(store)]
    )
    return (
        Researcher(
            load_settings(**PLAN_ALWAYS, **overrides),
            models=model,
            tools=registry,
            checkpoint_path=tmp_path / "ckpt.db",
        ),
        model,
    )


def corpus(tmp_path: Path) -> CorpusStore:
    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents("c", [FRANCE])
    return store


def types(result: Any) -> list[str]:
    return [e.type for e in result.events]


async def test_same_question_again_returns_the_stored_answer(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    first_r, _ = researcher(tmp_path, store, [PLAN, NOTED, "Paris [1]."])
    first = await first_r.arun("Capital of France?")
    assert first.usage.tool_calls == 1 and first.reused_from is None
    assert types(first) == ["plan", "goal", "tool_call", "observation", "reflection", "fact",
                            "answer"]  # fmt: skip
    fact_event = next(e for e in first.events if e.type == "fact")
    assert [(f["subject"], f["value"], f["source_id"]) for f in fact_event.data["facts"]] == [
        ("France", "Paris", "c:fr")
    ]
    # asked again (spacing and case do not matter): no model call, no search
    second_r, silent = researcher(tmp_path, store, [])
    second = await second_r.arun("  capital of FRANCE? ")
    assert types(second) == ["cache_hit", "answer"]
    hit = second.events[0].data
    assert hit["kind"] == "answer" and hit["from_run"] == first.run_id
    assert hit["sources"][0]["source_id"] == "c:fr"
    assert second.answer == first.answer and second.citations == first.citations
    assert second.reused_from == first.run_id and second.usage.cache_hits == 1
    assert second.usage.tool_calls == 0 and second.usage.model_calls == 0 and silent.calls == []
    assert "answer from run" in second.events[0].summary()


async def test_changed_sources_invalidate_answers_and_tool_results(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    await researcher(tmp_path, store, [PLAN, SATISFIED, "Paris [1]."])[0].arun("Capital?")
    store.add_documents("c", [Document("fr", "France's capital city is Paris (since 987).",
                                       "https://x/fr", "France")])  # fmt: skip
    third_r, _ = researcher(tmp_path, store, [PLAN, SATISFIED, "Paris [1]."])
    third = await third_r.arun("Capital?")
    assert third.reused_from is None and third.usage.tool_calls == 1
    assert (
        "987"
        in next(e for e in third.events if e.type == "observation").data["items"][0]["snippet"]
    )


async def test_tool_results_are_reused_when_answers_are_not(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    replies = [PLAN, SATISFIED, "Paris [1]."]
    await researcher(tmp_path, store, list(replies))[0].arun("Capital of France?")
    again_r, _ = researcher(tmp_path, store, list(replies), **{"knowledge.reuse_answers": False})
    again = await again_r.arun("Capital of France?")
    observation = next(e for e in again.events if e.type == "observation")
    assert observation.data["cached"] is True and again.usage.tool_calls == 0
    assert again.usage.cache_hits == 1
    assert again.citations[0].source_id == "c:fr"  # cached results still carry their source
    cache = again_r.knowledge
    assert cache is not None and cache.get_document("c:fr") is not None
    assert cache.evidence_for("Find the capital of France")[0].source_id == "c:fr"


async def test_a_related_question_reuses_stored_facts(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    await researcher(tmp_path, store, [PLAN, NOTED, "Paris [1]."])[0].arun("Capital of France?")
    related_r, model = researcher(
        tmp_path, store, [RELATED_PLAN, SATISFIED, "France's capital is Paris [1]."]
    )
    related = await related_r.arun("Which city is the seat of the French government?")
    assert types(related) == ["plan", "goal", "cache_hit", "reflection", "answer"]
    hit = next(e for e in related.events if e.type == "cache_hit").data
    assert hit["kind"] == "facts" and hit["goal_id"] == 1
    assert [(f["subject"], f["attribute"], f["value"]) for f in hit["facts"]] == [
        ("France", "capital", "Paris")
    ]
    assert hit["facts"][0]["source_id"] == "c:fr" and hit["facts"][0]["url"] == "https://x/fr"
    assert related.usage.tool_calls == 0 and related.usage.cache_hits == 1
    assert related.citations[0].source_id == "c:fr" and related.citations[0].url == "https://x/fr"
    # the reflector saw the stored fact and the source passage it was read from, as data
    reflect_prompt = model.calls[1][1].content
    assert "France — capital: Paris" in reflect_prompt
    assert "The capital of France is Paris." in reflect_prompt
    assert "knowledge-cache recall" in reflect_prompt


async def test_facts_from_changed_or_removed_sources_are_not_recalled(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    store.add_documents("c", [Document("de", "The capital of Germany is Berlin.", "https://x/de",
                                       "Germany")])  # fmt: skip
    await researcher(tmp_path, store, [PLAN, NOTED, "Paris [1]."])[0].arun("Capital of France?")
    search = CorpusSearchTool(store, ["c"])
    fact = researcher(tmp_path, store, [])[0].recall("Find the capital city of France", "France")
    assert [f.value for f in fact] == ["Paris"]
    assert search.source_status("c:fr", fact[0].start, fact[0].end, fact[0].passage) is True
    assert search.source_status("web:https://x", 0, 5, "text") is None  # not a corpus source
    # re-ingested with other text: the stored passage is no longer what the source says
    store.add_documents("c", [Document("fr", "France moved its capital to Lyon in 2030.",
                                       "https://x/fr", "France")])  # fmt: skip
    assert search.source_status("c:fr", fact[0].start, fact[0].end, fact[0].passage) is False
    related_r, _ = researcher(tmp_path, store, [RELATED_PLAN, SATISFIED, "Lyon [1]."])
    related = await related_r.arun("Which city is the seat of the French government?")
    assert "cache_hit" not in types(related) and related.usage.tool_calls == 1
    assert (
        "Lyon"
        in next(e for e in related.events if e.type == "observation").data["items"][0]["snippet"]
    )
    # removed: gone from recall too
    store.remove_document("c", "fr")
    assert search.source_status("c:fr", None, None, None) is False
    assert researcher(tmp_path, store, [])[0].recall("Find the capital city of France") == []


async def test_unsettling_facts_lead_to_the_planned_search(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    await researcher(tmp_path, store, [PLAN, NOTED, "Paris [1]."])[0].arun("Capital of France?")
    unsure = {**SATISFIED, "verdict": "off_track", "next_action": "next_goal", "evidence": ""}
    related_r, _ = researcher(tmp_path, store, [RELATED_PLAN, unsure, SATISFIED, "Paris [1]."])
    related = await related_r.arun("Which city is the seat of the French government?")
    assert types(related) == ["plan", "goal", "cache_hit", "reflection", "tool_call",
                              "observation", "reflection", "answer"]  # fmt: skip
    call = next(e for e in related.events if e.type == "tool_call")
    assert call.data["arguments"]["query"] == "France capital city"  # the goal's own query
    assert related.usage.tool_calls == 1


async def test_fresh_runs_reuse_nothing_but_still_record(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    replies = [PLAN, NOTED, "Paris [1]."]
    await researcher(tmp_path, store, list(replies))[0].arun("Capital of France?")
    fresh = {
        "knowledge.reuse_answers": False,
        "knowledge.recall_facts": False,
        "knowledge.reuse_tool_results": False,
    }
    again_r, _ = researcher(tmp_path, store, list(replies), **fresh)
    again = await again_r.arun("Capital of France?")
    assert "cache_hit" not in types(again) and again.usage.tool_calls == 1
    assert again_r.knowledge is not None and again_r.knowledge.stats()["answers"] == 1


class ClockArgs(BaseModel):
    query: str = ""
    k: int = 5


class Clock(Tool):
    """A tool whose result depends on now: never cached, and neither is an answer using it."""

    name: ClassVar[str] = "search"
    description: ClassVar[str] = "the time"
    Args: ClassVar[type[BaseModel]] = ClockArgs
    cache_ttl: ClassVar[float | None] = 0.0

    async def run(self, args: BaseModel) -> list[Observation]:
        return [Observation(source_id="clock:now", title="Clock", text="It is noon.")]


async def test_answers_that_depend_on_now_are_not_stored(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    replies = [PLAN, SATISFIED, "It is noon [1]."]
    first_r, _ = researcher(tmp_path, store, list(replies), tools=[Clock()])
    await first_r.arun("What time is it?")
    assert first_r.knowledge is not None and first_r.knowledge.stats()["answers"] == 0
    again_r, _ = researcher(tmp_path, store, list(replies), tools=[Clock()])
    again = await again_r.arun("What time is it?")
    assert again.usage.tool_calls == 1 and again.reused_from is None


async def test_unfinished_answers_are_not_stored(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    partial = {**SATISFIED, "verdict": "partial", "next_action": "search", "query": "Paris city"}
    r, _ = researcher(
        tmp_path, store, [PLAN, partial, "Paris [1]."], **{"budget.max_tool_calls": 1}
    )
    result = await r.arun("Capital of France?")
    assert result.stop_reason.startswith("tool-call budget")
    assert r.knowledge is not None and r.knowledge.stats()["answers"] == 0


async def test_cache_can_be_disabled(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    for _ in range(2):
        r, _ = researcher(tmp_path, store, [PLAN, SATISFIED, "Paris [1]."], knowledge_cache=False)
        result = await r.arun("Capital of France?")
        assert result.usage.tool_calls == 1 and r.knowledge is None


async def test_facts_are_recalled_by_meaning(tmp_path: Path, minilm_encoder: Any) -> None:
    """The real path: MiniLM + FAISS find a stored fact whose attribute the goal words
    otherwise (it must still name the fact's subject)."""
    store = corpus(tmp_path)
    first_r, _ = researcher(
        tmp_path, store, [PLAN, NOTED, "Paris [1]."], **{"knowledge.dense_facts": True}
    )
    first_r._encoder = minilm_encoder
    await first_r.arun("Capital of France?")
    await first_r.aclose()
    plan = {
        **RELATED_PLAN,
        "sub_goals": [{"goal": "Which town hosts the seat of government of France",
                       "evidence_needed": "its name", "query": "seat government"}],
    }  # fmt: skip
    related_r, _ = researcher(
        tmp_path, store, [plan, SATISFIED, "Paris [1]."], **{"knowledge.dense_facts": True}
    )
    related_r._encoder = minilm_encoder
    related = await related_r.arun("Where does the French government sit?")
    hit = next(e for e in related.events if e.type == "cache_hit").data
    assert hit["facts"][0]["value"] == "Paris" and related.usage.tool_calls == 0
    await related_r.aclose()
    index = related_r.fact_index
    assert index is not None and index.path.is_file() and len(index) == 1  # saved beside the db


async def test_eight_concurrent_agents_share_one_cache_and_lose_nothing(tmp_path: Path) -> None:
    import asyncio

    store = CorpusStore(tmp_path / "corpus.db")
    cities = [f"City{i}" for i in range(8)]
    store.add_documents(
        "c",
        [
            Document(
                f"d{i}", f"The capital of Country{i} is {city}.", f"https://x/{i}", f"Country{i}"
            )
            for i, city in enumerate(cities)
        ],
    )

    def replies(i: int) -> list:
        plan = {**PLAN, "sub_goals": [{"goal": f"Find the capital of Country{i}",
                                       "evidence_needed": "its name",
                                       "query": f"capital Country{i}"}]}  # fmt: skip
        noted = {
            **SATISFIED,
            "evidence": f"The capital of Country{i} is City{i} [1]",
            "facts": [{"subject": f"Country{i}", "attribute": "capital", "value": f"City{i}",
                       "result": 1}],
        }  # fmt: skip
        return [plan, noted, f"City{i} [1]."]

    agents = [researcher(tmp_path, store, replies(i))[0] for i in range(8)]
    results = await asyncio.gather(
        *(agent.arun(f"What is the capital of Country{i}?") for i, agent in enumerate(agents))
    )
    assert all(r.stop_reason == "answered" and r.citations for r in results)
    cache = agents[0].knowledge
    assert cache is not None
    stats = cache.stats()
    assert stats["answers"] == 8 and stats["facts"] == 8 and stats["tool_cache"] == 8
    for i in range(8):
        (fact,) = cache.facts_about(f"Country{i}", "capital")
        assert fact.value == f"City{i}" and fact.source_id == f"c:d{i}"
    for agent in agents:
        await agent.aclose()


async def test_a_run_does_not_recall_its_own_facts(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    two_goals = {
        **PLAN,
        "sub_goals": [
            PLAN["sub_goals"][0],
            {"goal": "Find the capital city of France again", "evidence_needed": "its name",
             "query": "France capital city"},
        ],
    }  # fmt: skip
    r, _ = researcher(tmp_path, store, [two_goals, NOTED, SATISFIED, "Paris [1]."])
    result = await r.arun("Capital of France?")
    assert "cache_hit" not in types(result)  # its own fact is in its notes, not recalled
    assert result.usage.tool_calls == 2


async def test_an_answer_from_recalled_facts_expires_with_any_source(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    await researcher(tmp_path, store, [PLAN, NOTED, "Paris [1]."])[0].arun("Capital of France?")
    related_r, _ = researcher(tmp_path, store, [RELATED_PLAN, SATISFIED, "Paris [1]."])
    related = await related_r.arun("Which city is the seat of the French government?")
    assert related.usage.tool_calls == 0  # answered from recalled facts alone
    cache = related_r.knowledge
    assert cache is not None
    stored = cache.get_answer(related.question, related_r._answer_scope())
    assert stored is not None and set(stored.payload["tool_scopes"]) == {"search", "read"}
    store.add_documents("c", [Document("de", "Berlin is the capital of Germany.")])
    again_r, _ = researcher(tmp_path, store, [RELATED_PLAN, SATISFIED, "Paris [1]."])
    again = await again_r.arun("Which city is the seat of the French government?")
    assert again.reused_from is None  # the corpus changed: researched again


async def test_a_poisoned_fact_cannot_turn_a_right_answer_wrong(tmp_path: Path) -> None:
    store = corpus(tmp_path)
    germany = Document("de", "The capital of Germany is Berlin.", "https://x/de", "Germany")
    store.add_documents("c", [germany])
    agent, model = researcher(
        tmp_path, store, [RELATED_PLAN, SATISFIED, "The capital of France is Paris [1]."]
    )
    cache = agent.knowledge
    assert cache is not None
    # a wrong fact, citing a real passage that does not state it (value present, subject not)
    cache.add_document("c:de", "https://x/de", "Germany", "c")
    cache.add_passages("c:de", [(0, 33, germany.text)])
    cache.record_fact("France", "capital", "Berlin", "c:de", "old-run", start=0, end=33)
    assert [f.value for f in agent.recall("Find the capital city of France", "France")] == [
        "Berlin"
    ]  # the cache offers it ...
    result = await agent.arun("Which city is the seat of the French government?")
    # ... but its passage does not state it: it settles nothing, the run searches
    assert "cache_hit" not in types(result)
    assert result.usage.tool_calls == 1
    assert "Paris" in result.answer and "Berlin" not in result.answer
    assert "France — capital: Berlin" not in model.calls[1][1].content
