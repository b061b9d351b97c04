"""The `web_search` tool end to end over the fake APIs, and keys never leaking anywhere."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memory import KnowledgeCache
from tests.tools.web.fake_backends import KEYS, KINDS, MARK, Answer, FakeSearch, backend_settings
from tests.tools.web.fake_backends import serve as serve_fake
from tools.base import ToolError
from tools.web import MultiSearch, WebSearchTool, build_backend


@pytest.fixture
def fake() -> Iterator[FakeSearch]:
    yield from serve_fake()


def tool(fake: FakeSearch, kinds: tuple[str, ...] = KINDS, cache: Any = None, **kw: Any) -> Any:
    backends = [build_backend(backend_settings(fake, kind, **kw)) for kind in kinds]
    return WebSearchTool(MultiSearch(backends, cache=cache))


def test_tool_card_and_arguments() -> None:
    assert WebSearchTool.name == "web_search"
    assert WebSearchTool.cache_ttl == 0
    card = WebSearchTool.card()
    assert set(card.parameters["properties"]) == {"query", "k", "recency", "date_from", "date_to"}
    assert card.parameters["required"] == ["query"]
    assert "internet" in card.description and "recency" in card.description
    for example in WebSearchTool.examples:
        WebSearchTool.Args.model_validate(example)
    web = WebSearchTool(MultiSearch([]))
    with pytest.raises(ToolError, match="after date_to"):
        web.validate_args({"query": "x", "date_from": "2024-02-01", "date_to": "2024-01-01"})
    with pytest.raises(ToolError, match="bad arguments"):
        web.validate_args({"query": "x", "recency": "hour"})
    with pytest.raises(ToolError, match="bad arguments"):
        web.validate_args({"query": " "})


async def test_observations(fake: FakeSearch) -> None:
    web = tool(fake, ("brave", "serper"))
    observations = await web({"query": "alpha letters", "k": 2, "recency": "month"})
    assert len(observations) == 2
    first = observations[0]
    assert first.source_id == "web:https://example.org/alpha"
    assert first.url == "https://www.example.org/alpha/"
    assert first.title == "Alpha page"
    assert first.text == "Alpha is the first letter. (published 2024-03-05)"
    assert first.score is not None and first.score > observations[1].score
    assert observations[1].text == "Beta comes second."  # no date known: none shown
    assert fake.seen("brave")[0].query["freshness"] == ["pm"]
    assert fake.seen("serper")[0].body["tbs"] == "qdr:m"


async def test_some_backends_failing_still_answers(fake: FakeSearch) -> None:
    fake.down.add("tavily")
    observations = await tool(fake, ("tavily", "searxng"))({"query": "alpha"})
    assert len(observations) == 3


async def test_every_backend_failing_raises(fake: FakeSearch) -> None:
    fake.down.update({"brave", "tavily"})
    with pytest.raises(ToolError) as info:
        await tool(fake, ("brave", "tavily"))({"query": "alpha"})
    message = str(info.value)
    assert message.startswith("web_search: every backend failed: ")
    assert "brave: GET " in message and "tavily: POST " in message and "HTTP 500" in message
    with pytest.raises(ToolError, match="no web search backend is configured"):
        await WebSearchTool(MultiSearch([]))({"query": "alpha"})


async def test_no_results_is_not_an_error(fake: FakeSearch) -> None:
    fake.pages["serper"] = []
    assert await tool(fake, ("serper",))({"query": "nothing at all"}) == []


async def test_keys_never_leak(
    fake: FakeSearch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Distinctive keys for every backend; errors of every kind, a server echoing request
    headers, a result quoting the key: no message, log record, observation or cached byte
    holds any key (or the basic-auth form of one)."""
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    fake.searxng_key = KEYS["searxng"]
    basic = base64.b64encode(f"proxyuser:{KEYS['searxng']}".encode()).decode()
    cache = KnowledgeCache(tmp_path / "knowledge.sqlite")
    backends = [
        build_backend(backend_settings(fake, kind, max_retries=1, timeout=0.3))
        for kind in ("brave", "tavily", "serper")
    ] + [
        build_backend(
            backend_settings(
                fake, "searxng", api_key=KEYS["searxng"], auth="basic", username="proxyuser",
                max_retries=1, timeout=0.3,
            )
        )
    ]  # fmt: skip
    web = WebSearchTool(MultiSearch(backends, cache=cache))
    texts: list[str] = [repr(web), repr(web.search), *(repr(b) for b in backends)]

    # 1. every backend fails: echoed headers, a body quoting the key, a timeout, a 429 echo
    fake.plan["brave"] = [Answer(echo=True), Answer(echo=True)]
    fake.plan["tavily"] = [Answer(status=500, raw=f"boom {KEYS['tavily']}".encode())] * 2
    fake.plan["serper"] = [Answer(delay=1.0), Answer(status=200, raw=KEYS["serper"].encode())]
    fake.plan["searxng"] = [Answer(echo=True), Answer(status=429, raw=f"slow {basic}".encode())]
    with pytest.raises(ToolError) as info:
        await web({"query": "alpha"})
    texts.append(str(info.value))
    assert "internal error handling request" in str(info.value)
    retries = [r.getMessage() for r in caplog.records if r.name == "tools.web.limits"]
    assert any("serper" in r and "timed out after 0.3 s" in r for r in retries)

    # 2. a successful search whose results quote the key (cached, then served from the cache)
    for kind in KINDS:  # each service quotes its own key (SearxNG: also the basic-auth form)
        quoted = f"{KEYS[kind]} {basic}" if kind == "searxng" else KEYS[kind]
        fake.plan[kind] = []
        fake.pages[kind] = [
            {"title": f"Key {KEYS[kind]} in title", "url": "https://leak.example/page",
             "published": None, "snippet": f"token={quoted}; more text from {kind}"},
        ]  # fmt: skip
    observations = await web({"query": "beta"})
    again = await web({"query": "beta"})
    assert observations == again and len(observations) == 1
    texts += [o.model_dump_json() for o in observations]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    cache.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("knowledge.sqlite*"))
    assert b"leak.example" in stored  # the results were cached ...
    for secret in (*KEYS.values(), basic):
        assert secret.encode() not in stored  # ... without any key in them
    assert MARK.encode() not in stored
    for text in texts:
        assert MARK not in text, text
        assert basic not in text, text
