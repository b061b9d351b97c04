"""Each backend's request shape (path, parameters, headers, recency and date mapping) and
parsing, against the fake APIs on 127.0.0.1; configuration and key handling."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from tests.tools.web.fake_backends import KEYS, MARK, Answer, FakeSearch, backend_settings, serve
from tests.tools.web.fake_backends import client as new_client
from tools.web import (
    BackendConfigError,
    BackendError,
    BraveSettings,
    SearchBackend,
    SearchRequest,
    SearxNGSettings,
    build_backend,
    parse_backend_settings,
)
from tools.web.results import parse_published

TODAY = date(2024, 3, 10)


@pytest.fixture
def fake() -> Iterator[FakeSearch]:
    yield from serve()


def backend(fake: FakeSearch, kind: str, **overrides: Any) -> SearchBackend:
    return build_backend(backend_settings(fake, kind, **overrides), today=lambda: TODAY)


async def search(b: SearchBackend, **request: Any) -> list[Any]:
    async with new_client() as client:
        return await b.search(SearchRequest(**request), client)


# -- request shapes --------------------------------------------------------------------------


async def test_searxng_request_and_parsing(fake: FakeSearch) -> None:
    b = backend(fake, "searxng", categories="general,news", language="en")
    results = await search(b, query="  alpha   letters ", recency="week", k=2)
    (seen,) = fake.seen("searxng")
    assert seen.method == "GET" and seen.path == "/searxng/search"
    assert seen.query == {
        "q": ["alpha letters"],
        "format": ["json"],
        "time_range": ["week"],
        "categories": ["general,news"],
        "language": ["en"],
    }
    assert "authorization" not in seen.headers  # no key configured: none sent
    assert [r.url for r in results] == [
        "https://www.example.org/alpha/",
        "https://example.org/beta",
    ]
    first = results[0]
    assert (first.title, first.snippet, first.backend, first.rank) == (
        "Alpha page", "Alpha is the first letter.", "searxng", 1,
    )  # fmt: skip
    assert first.published == date(2024, 3, 5) and first.score == 1.0
    assert results[1].published is None and results[1].rank == 2


async def test_searxng_pages_until_k(fake: FakeSearch) -> None:
    b = backend(fake, "searxng", max_pages=3)
    delta = {"url": "https://delta.example.net/", "title": "Delta", "content": "Fourth."}
    fake.plan["searxng"] = [Answer(), Answer(body={"results": [delta]})]
    results = await search(b, query="letters", k=10)
    pages = [s.query.get("pageno") for s in fake.seen("searxng")]
    assert pages == [None, ["2"], ["3"]]  # page 3 repeats page 1: nothing new, stop
    assert [r.title for r in results] == ["Alpha page", "Beta page", "Gamma page", "Delta"]


async def test_searxng_date_range_maps_to_recency_and_filters(fake: FakeSearch) -> None:
    b = backend(fake, "searxng")
    results = await search(b, query="alpha", date_from="2024-03-04", date_to="2024-03-09")
    assert fake.seen("searxng")[0].query["time_range"] == ["week"]
    # Gamma (2023-11-20) is known to be outside the window; Beta has no date and stays
    assert [r.title for r in results] == ["Alpha page", "Beta page"]
    assert [r.rank for r in results] == [1, 2]

    await search(b, query="alpha", date_from="2024-02-15")
    assert fake.seen("searxng")[1].query["time_range"] == ["month"]
    await search(b, query="alpha", date_from="2020-01-01", date_to="2023-12-31")
    assert "time_range" not in fake.seen("searxng")[2].query  # older than a year: no range
    results = await search(b, query="alpha", date_to="2023-12-31")
    assert [r.title for r in results] == ["Beta page", "Gamma page"]


async def test_searxng_bearer_and_basic_auth(fake: FakeSearch) -> None:
    fake.searxng_key = KEYS["searxng"]
    b = backend(fake, "searxng", api_key=KEYS["searxng"])
    assert len(await search(b, query="alpha")) == 3
    assert fake.seen("searxng")[0].headers["authorization"] == f"Bearer {KEYS['searxng']}"
    b = backend(fake, "searxng", api_key=KEYS["searxng"], auth="basic", username="proxyuser")
    assert len(await search(b, query="alpha")) == 3
    token = base64.b64encode(f"proxyuser:{KEYS['searxng']}".encode()).decode()
    assert fake.seen("searxng")[1].headers["authorization"] == f"Basic {token}"


async def test_brave_request_and_parsing(fake: FakeSearch) -> None:
    b = backend(fake, "brave", country="us")
    results = await search(b, query="alpha", k=30, recency="day")
    (seen,) = fake.seen("brave")
    assert seen.method == "GET" and seen.path == "/brave/res/v1/web/search"
    assert seen.query == {"q": ["alpha"], "count": ["20"], "freshness": ["pd"], "country": ["us"]}
    assert seen.headers["x-subscription-token"] == KEYS["brave"]
    assert seen.headers["accept"] == "application/json"
    assert [(r.title, r.published) for r in results] == [
        ("Alpha page", date(2024, 3, 5)), ("Beta page", None), ("Gamma page", date(2023, 11, 20)),
    ]  # fmt: skip
    for recency, code in [("week", "pw"), ("month", "pm"), ("year", "py")]:
        await search(b, query="alpha", recency=recency)
        assert fake.seen("brave")[-1].query["freshness"] == [code]


async def test_brave_date_range(fake: FakeSearch) -> None:
    b = backend(fake, "brave")
    results = await search(b, query="alpha", date_from="2024-01-01", date_to="2024-03-31")
    assert fake.seen("brave")[0].query["freshness"] == ["2024-01-01to2024-03-31"]
    assert [r.title for r in results] == ["Alpha page", "Beta page"]
    await search(b, query="alpha", date_from="2024-02-01")
    assert fake.seen("brave")[1].query["freshness"] == ["2024-02-01to2024-03-10"]
    await search(b, query="alpha", date_to="2023-06-30", recency="year")
    assert fake.seen("brave")[2].query["freshness"] == ["2023-03-10to2023-06-30"]


async def test_brave_without_web_section_is_empty(fake: FakeSearch) -> None:
    b = backend(fake, "brave")
    fake.plan["brave"] = [Answer(body={"type": "search", "query": {"original": "zzz"}})]
    assert await search(b, query="zzz") == []


async def test_tavily_request_and_parsing(fake: FakeSearch) -> None:
    b = backend(fake, "tavily", search_depth="advanced")
    results = await search(b, query="alpha", k=25, recency="month")
    (seen,) = fake.seen("tavily")
    assert seen.method == "POST" and seen.path == "/tavily/search"
    assert seen.headers["authorization"] == f"Bearer {KEYS['tavily']}"
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == {
        "query": "alpha",
        "max_results": 20,
        "search_depth": "advanced",
        "topic": "general",
        "time_range": "month",
    }
    assert [(r.title, r.score, r.published) for r in results] == [
        ("Alpha page", 0.9, date(2024, 3, 5)),
        ("Beta page", 0.8, None),
        ("Gamma page", 0.7, date(2023, 11, 20)),
    ]
    await search(b, query="alpha", date_from="2023-01-01", date_to="2023-12-31")
    body = fake.seen("tavily")[1].body
    assert (body["start_date"], body["end_date"]) == ("2023-01-01", "2023-12-31")
    assert "time_range" not in body


async def test_serper_request_and_parsing(fake: FakeSearch) -> None:
    b = backend(fake, "serper", gl="us")
    fake.plan["serper"] = [Answer(body={"organic": [
        {"title": "Second", "link": "https://two.example/", "snippet": "2", "position": 2,
         "date": "3 days ago"},
        {"title": "First", "link": "https://one.example/", "snippet": "1", "position": 1,
         "date": "Mar 5, 2024"},
    ]})]  # fmt: skip
    results = await search(b, query="alpha", k=5, recency="day")
    (seen,) = fake.seen("serper")
    assert seen.method == "POST" and seen.path == "/serper/search"
    assert seen.headers["x-api-key"] == KEYS["serper"]
    assert seen.body == {"q": "alpha", "num": 10, "tbs": "qdr:d", "gl": "us"}
    assert [(r.title, r.rank, r.published) for r in results] == [
        ("First", 1, date(2024, 3, 5)),
        ("Second", 2, date(2024, 3, 7)),
    ]
    await search(b, query="alpha", k=25, date_from="2024-01-05", date_to="2024-02-29")
    assert fake.seen("serper")[1].body["tbs"] == "cdr:1,cd_min:01/05/2024,cd_max:02/29/2024"
    assert fake.seen("serper")[1].body["num"] == 30
    await search(b, query="alpha", date_to="2023-12-31")
    assert fake.seen("serper")[2].body["tbs"] == "cdr:1,cd_max:12/31/2023"


# -- defensive parsing -----------------------------------------------------------------------


async def test_malformed_items_are_skipped(fake: FakeSearch) -> None:
    b = backend(fake, "searxng")
    fake.plan["searxng"] = [Answer(body={"results": [
        {"url": "javascript:alert(1)", "title": "bad scheme"},
        {"url": "ftp://files.example/x", "title": "ftp"},
        {"title": "no url"},
        {"url": 42, "title": "url not a string"},
        "not an object",
        None,
        {"url": "https://ok.example/a", "title": ["not", "text"], "content": {"x": 1},
         "publishedDate": 12345, "score": "high"},
        {"url": "https://ok.example/a#dup", "title": "same page again"},
        {"url": "http://ok.example/b", "title": "  spaced\n title ", "publishedDate": "garbage"},
    ]})]  # fmt: skip
    results = await search(b, query="x")
    assert [(r.url, r.title, r.snippet, r.published, r.score) for r in results] == [
        ("https://ok.example/a", "", "", None, None),
        ("http://ok.example/b", "spaced title", "", None, None),
    ]


@pytest.mark.parametrize(
    ("kind", "answer", "expected"),
    [
        ("searxng", Answer(raw=b"<html>JSON is not enabled</html>"), "not JSON"),
        ("brave", Answer(raw=b'{"web": {"results": [}'), "not JSON"),
        ("tavily", Answer(body=[1, 2, 3]), "JSON list, not an object"),
        ("searxng", Answer(body={"query": "x"}), "no 'results' list"),
        ("brave", Answer(body={"web": {"results": "none"}}), "no 'results' list"),
        ("tavily", Answer(body={"detail": "quota exceeded"}), "no 'results' list: quota"),
        ("serper", Answer(body={"organic": {"a": 1}}), "'organic' is not a list"),
        ("serper", Answer(body={"message": "Not enough credits"}), "Not enough credits"),
    ],
)
async def test_malformed_replies_are_backend_errors(
    fake: FakeSearch, kind: str, answer: Answer, expected: str
) -> None:
    b = backend(fake, kind)
    fake.plan[kind] = [answer]
    with pytest.raises(BackendError) as info:
        await search(b, query="x")
    assert info.value.backend == kind
    assert str(info.value).startswith(f"web backend {kind!r}: ")
    assert expected in str(info.value)
    assert info.value.__cause__ is None


async def test_wrong_key_is_a_clear_error(fake: FakeSearch) -> None:
    b = backend(fake, "brave", api_key="wrong-key", max_retries=3)
    with pytest.raises(BackendError, match=r"HTTP 401: The provided subscription token"):
        await search(b, query="x")
    assert len(fake.seen("brave")) == 1  # 401 is not retried


# -- configuration and keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "variables"),
    [
        ("brave", "WIDESEEK_BRAVE_API_KEY or BRAVE_API_KEY or BRAVE_SEARCH_API_KEY"),
        ("tavily", "WIDESEEK_TAVILY_API_KEY or TAVILY_API_KEY"),
        ("serper", "WIDESEEK_SERPER_API_KEY or SERPER_API_KEY"),
    ],
)
def test_missing_key_is_a_clear_error(kind: str, variables: str) -> None:
    with pytest.raises(BackendConfigError) as info:
        build_backend({"kind": kind}, environ={})
    assert str(info.value) == (
        f"web backend {kind!r} ({kind}) needs an API key: set {variables}, "
        "or api_key in its settings"
    )
    with pytest.raises(BackendConfigError, match="set MY_KEY, or api_key"):
        build_backend({"kind": kind, "api_key_env": "MY_KEY"}, environ={"BRAVE_API_KEY": "x"})


def test_keys_from_settings_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_backend({"kind": "searxng", "base_url": "http://127.0.0.1:9"}, environ={})
    b = build_backend({"kind": "brave"}, environ={"BRAVE_API_KEY": "from-env"})
    assert b.auth_headers() == {"X-Subscription-Token": "from-env"}
    env = {"WIDESEEK_BRAVE_API_KEY": "wideseek-first", "BRAVE_API_KEY": "second"}
    assert build_backend({"kind": "brave"}, environ=env).auth_headers() == {
        "X-Subscription-Token": "wideseek-first"
    }
    b = build_backend({"kind": "serper", "api_key": "in-config"}, environ={"SERPER_API_KEY": "e"})
    assert b.auth_headers() == {"X-API-KEY": "in-config"}
    monkeypatch.setenv("WIDESEEK_TAVILY_KEY_CUSTOM", "custom")
    b = build_backend({"kind": "tavily", "api_key_env": "WIDESEEK_TAVILY_KEY_CUSTOM"})
    assert b.auth_headers() == {"Authorization": "Bearer custom"}
    assert b.base_url == "https://api.tavily.com"
    assert build_backend({"kind": "brave", "api_key": "k"}).base_url == (
        "https://api.search.brave.com"
    )
    assert build_backend({"kind": "serper", "api_key": "k"}).base_url == (
        "https://google.serper.dev"
    )


def test_settings_validation() -> None:
    with pytest.raises(ValidationError, match="http:// or https://"):
        BraveSettings(base_url="file:///etc/passwd")
    with pytest.raises(ValidationError):
        parse_backend_settings({"kind": "bing"})
    with pytest.raises(ValidationError):
        parse_backend_settings({"kind": "brave", "bogus": 1})
    with pytest.raises(ValidationError):
        parse_backend_settings({"kind": "brave", "requests_per_second": 0})
    typed = parse_backend_settings({"kind": "searxng", "base_url": "https://sx.example/"})
    assert isinstance(typed, SearxNGSettings) and typed.base_url == "https://sx.example"
    with pytest.raises(BackendConfigError, match="needs a base_url"):
        build_backend({"kind": "searxng"})


def test_keys_stay_out_of_repr_and_dumps() -> None:
    key = KEYS["brave"]
    settings = BraveSettings(api_key=SecretStr(key), name="brave-main")
    b = build_backend(settings)
    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(b), str(b),
                 repr(b.__dict__), str(b.cache_scope())):  # fmt: skip
        assert MARK not in text, text


async def test_error_bodies_echoing_keys_are_masked(
    fake: FakeSearch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.searxng_key = KEYS["searxng"]
    cases = [
        backend(fake, "brave"),
        backend(fake, "tavily"),
        backend(fake, "serper"),
        backend(fake, "searxng", api_key=KEYS["searxng"]),
        backend(fake, "searxng", api_key=KEYS["searxng"], auth="basic", username="proxyuser"),
    ]
    messages: list[str] = []
    for b in cases:
        kind = b.kind
        fake.plan[kind] = [Answer(echo=True), Answer(raw=f"oops {b.secrets()[-1]} oops".encode())]
        for _ in range(2):
            with pytest.raises(BackendError) as info:
                await search(b, query="x")
            messages.append(str(info.value))
    assert any("internal error handling request" in m for m in messages)
    assert any('"x-subscription-token": "***"' in m for m in messages)
    assert any('"authorization": "Basic ***"' in m for m in messages)
    for text in messages + [record.getMessage() for record in caplog.records]:
        assert MARK not in text, text
        assert base64.b64encode(f"proxyuser:{KEYS['searxng']}".encode()).decode() not in text


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024-03-05T10:00:00", date(2024, 3, 5)),
        ("2024-03-05T23:59:59Z", date(2024, 3, 5)),
        ("2024-03-05 10:00:00+02:00", date(2024, 3, 5)),
        ("Mar 5, 2024", date(2024, 3, 5)),
        ("March 5, 2024", date(2024, 3, 5)),
        ("Sept. 5, 2024", date(2024, 9, 5)),
        ("5 March 2024", date(2024, 3, 5)),
        ("03/05/2024", date(2024, 3, 5)),
        ("Wed, 06 Mar 2024 15:31:02 GMT", date(2024, 3, 6)),
        ("3 days ago", date(2024, 3, 7)),
        ("an hour ago", date(2024, 3, 10)),
        ("2 weeks ago", date(2024, 2, 25)),
        ("1 month ago", date(2024, 2, 9)),
        ("2024-02-30", None),
        ("yesterday-ish", None),
        ("", None),
        (None, None),
        (20240305, None),
    ],
)
def test_parse_published(text: Any, expected: date | None) -> None:
    assert parse_published(text, TODAY) == expected


def test_request_validation() -> None:
    with pytest.raises(ValidationError, match="after date_to"):
        SearchRequest(query="x", date_from=date(2024, 2, 1), date_to=date(2024, 1, 1))
    with pytest.raises(ValidationError):
        SearchRequest(query="   ")
    with pytest.raises(ValidationError):
        SearchRequest(query="x" * 501)
    with pytest.raises(ValidationError):
        SearchRequest(query="x", k=51)
    with pytest.raises(ValidationError):
        SearchRequest(query="x", recency="hour")
    request = SearchRequest(query="x", recency="week", date_from=date(2024, 1, 1))
    assert request.window(TODAY) == (date(2024, 3, 3), None)
    assert request.nearest_recency(TODAY) == "week"
