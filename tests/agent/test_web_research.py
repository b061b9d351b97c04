"""The agent with web search on: search reaches a SearxNG-style backend and the corpus, read
fetches pages, a backend outage degrades the run, and the question's recency reaches the web.
Real HTTP on 127.0.0.1, real LangGraph and SQLite; the scripted model drives the control flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import Researcher, ResearchError, ScriptedChatModel, load_settings
from agent.researcher import web_tools
from tests.agent.fake_web import FakeWeb, page
from tests.agent.fakes import Read, WordSearch
from tools.base import ToolError, ToolRegistry

PLAN_ALWAYS = {"search.plan": "always"}  # these tests script the planner's reply

BRIDGE = page(
    "Harbour Bridge",
    "The Harbour Bridge is a steel arch bridge across the harbour of Port Elsewhere.",
    "The bridge was opened on 19 March 1932 by the premier of the state.",
)
FERRY = page("Harbour ferries", "Ferries cross the harbour every twenty minutes.")


@pytest.fixture
def web() -> Iterator[FakeWeb]:
    with FakeWeb({"/bridge": BRIDGE, "/ferry": FERRY}).running() as server:
        yield server


def web_settings(web: FakeWeb, **overrides: Any) -> Any:
    return load_settings(
        **PLAN_ALWAYS,
        **{
            "web.enabled": True,
            "web.backends": [{"kind": "searxng", "base_url": web.base_url}],
            "web.allow_hosts": ["127.0.0.1"],  # the test web lives on loopback
            **overrides,
        },
    )


def plan(query: str) -> dict[str, Any]:
    return {
        "task_kind": "lookup",
        "sub_goals": [
            {"goal": "Find when the Harbour Bridge opened", "evidence_needed": "its opening date",
             "query": query}
        ],
        "columns": [],
    }  # fmt: skip


def reflection(verdict: str, action: str, read: int = 0, evidence: str = "") -> dict[str, Any]:
    return {
        "evidence": evidence,
        "facts": [],
        "missing": "" if verdict == "satisfied" else "the date",
        "verdict": verdict,
        "next_action": action,
        "query": "",
        "read": read,
    }


def researcher(settings: Any, replies: list[Any], tools: ToolRegistry | None = None) -> Researcher:
    return Researcher(settings, models=ScriptedChatModel(replies), tools=tools)


async def test_search_finds_web_pages_and_read_fetches_the_page(web: FakeWeb) -> None:
    agent = researcher(
        web_settings(web),
        [
            plan("Harbour Bridge opened"),
            reflection("partial", "read", read=1, evidence="a steel arch bridge [1]"),
            reflection("satisfied", "next_goal", evidence="opened on 19 March 1932 [1]"),
            "The Harbour Bridge opened on 19 March 1932 [1].",
        ],
    )
    result = await agent.arun("When did the Harbour Bridge open?")
    calls = [e.data for e in result.events if e.type == "tool_call"]
    assert [c["tool"] for c in calls] == ["search", "read"]
    assert calls[1]["arguments"]["doc_id"].startswith("web:")
    observations = [e.data for e in result.events if e.type == "observation"]
    assert observations[0]["items"][0]["url"] == web.base_url + "/bridge"
    read_text = " ".join(i["snippet"] for i in observations[1]["items"])
    assert "19 March 1932" in read_text and "Home" not in read_text  # main text, no nav
    assert result.citations and result.citations[0].url == web.base_url + "/bridge"
    assert any(r.startswith("/search?") for r in web.requests) and "/bridge" in web.requests
    # the planner was told it searches the web, and today's date
    planner_prompt = agent.models()["planner"].calls[0]  # type: ignore[attr-defined]
    assert "the web" in planner_prompt[0].content and "Today's date" in planner_prompt[1].content
    await agent.aclose()


async def test_the_questions_recency_reaches_the_backend(web: FakeWeb) -> None:
    agent = researcher(
        web_settings(web),
        [plan("Harbour Bridge news"), reflection("satisfied", "next_goal", evidence="x [1]"),
         "Nothing new [1]."],
    )  # fmt: skip
    result = await agent.arun("What is the latest news about the Harbour Bridge this week?")
    call = next(e.data for e in result.events if e.type == "tool_call")
    assert call["arguments"]["recency"] == "week"
    search = next(r for r in web.requests if r.startswith("/search?"))
    assert "time_range=week" in search
    await agent.aclose()


async def test_a_backend_outage_degrades_to_the_corpus(web: FakeWeb) -> None:
    web.fail_search = True
    settings = web_settings(web, **{"web.backends": [
        {"kind": "searxng", "base_url": web.base_url, "max_retries": 0}]})  # fmt: skip
    tools = ToolRegistry(web_tools(settings, WordSearch(), Read()))
    agent = researcher(
        settings,
        [
            {**plan("capital France"), "sub_goals": [{"goal": "Find the capital of France",
             "evidence_needed": "its name", "query": "capital France"}]},
            reflection("satisfied", "next_goal", evidence="Paris is the capital of France [1]"),
            "Paris is the capital of France [1].",
        ],
        tools,
    )  # fmt: skip
    result = await agent.arun("What is the capital of France?")
    observation = next(e.data for e in result.events if e.type == "observation")
    assert observation["error"] is None
    assert observation["items"] and all(
        i["source_id"].startswith("wiki:") for i in observation["items"]
    )
    assert result.answer == "Paris is the capital of France [1]."
    await agent.aclose()


async def test_every_source_failing_is_a_tool_error_not_a_crash(web: FakeWeb) -> None:
    web.fail_search = True
    settings = web_settings(web, **{"web.backends": [
        {"kind": "searxng", "base_url": web.base_url, "max_retries": 0}]})  # fmt: skip
    agent = researcher(
        settings,
        [plan("Harbour Bridge opened"), reflection("off_track", "answer"), "No sources."],
    )
    result = await agent.arun("When did the Harbour Bridge open?")
    observation = next(e.data for e in result.events if e.type == "observation")
    assert "every backend failed" in observation["error"] and "500" in observation["error"]
    assert result.answer
    await agent.aclose()


async def test_web_without_a_backend_is_a_clear_error(tmp_path: Path) -> None:
    agent = Researcher(
        load_settings(**PLAN_ALWAYS, **{"web.enabled": True}), models=ScriptedChatModel([])
    )
    with pytest.raises(ResearchError, match="no backend is configured"):
        agent.tools()


async def test_web_without_a_corpus_searches_the_web_only(web: FakeWeb) -> None:
    agent = researcher(web_settings(web), [])
    search = agent.tools().get("search")
    assert search.corpus is None  # type: ignore[attr-defined]
    observations = await search({"query": "harbour ferries"})
    assert observations[0].url == web.base_url + "/ferry"


async def test_private_addresses_stay_refused_without_the_allow_list(web: FakeWeb) -> None:
    settings = web_settings(web, **{"web.allow_hosts": []})
    read = researcher(settings, []).tools().get("read")
    with pytest.raises(ToolError, match=r"(?i)private|loopback|refused"):
        await read({"doc_id": "web:" + web.base_url + "/bridge", "goal": "opening date"})
    assert "/bridge" not in web.requests
