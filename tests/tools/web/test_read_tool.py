"""`ReadUrlTool` end to end against the fake pages on 127.0.0.1: the passage answering the goal
comes first and cites the final URL; every fetch/extract/safety failure is a clear `ToolError`."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import numpy as np
import pytest

from retriever.chunking import chunk_text
from retriever.encoder import Encoder, EncoderError
from tests.tools.web.fake_pages import FakePages
from tools.base import ToolError
from tools.web import ReadUrlTool as ExportedReadUrlTool
from tools.web.extract import extract_text
from tools.web.fetch import FetchLimits, fetch_url
from tools.web.read_tool import ReadUrlArgs, ReadUrlTool, rank_passages
from tools.web.safety import UrlPolicy
from tools.web.search_tool import web_source_id

LOCAL = UrlPolicy(allow_hosts=["127.0.0.1"])


@pytest.fixture(scope="module")
def pages() -> Iterator[FakePages]:
    with FakePages() as server:
        yield server


def tool(**kwargs: object) -> ReadUrlTool:
    return ReadUrlTool(LOCAL, FetchLimits(timeout=1.0), **kwargs)  # type: ignore[arg-type]


class HashingEncoder(Encoder):
    """A deterministic bag-of-words encoder (no model download)."""

    @property
    def name(self) -> str:
        return "test-hashing"

    @property
    def dim(self) -> int:
        return 64

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.strip(".,").encode()) % self.dim] += 1.0
        return out


class BrokenEncoder(HashingEncoder):
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        raise EncoderError("embeddings endpoint down")


async def test_the_passage_answering_the_goal_comes_first_and_cites_the_url(
    pages: FakePages,
) -> None:
    url = pages.url("/article")
    reader = tool(passage_size=300, passage_overlap=50)
    observations = await reader({"url": url, "goal": "when was the bridge opened"})
    assert 1 <= len(observations) <= 4
    best = observations[0]
    assert "19 March 1932" in best.text
    assert best.url == url and best.source_id == web_source_id(url)
    assert best.title == "The Harbour Bridge"
    assert best.score is not None and best.score > 0
    scores = [o.score or 0.0 for o in observations]
    assert scores == sorted(scores, reverse=True)
    # offsets point into the extracted text
    document = extract_text(await fetch_url(url, LOCAL))
    for observation in observations:
        assert observation.start is not None and observation.end is not None
        assert document.text[observation.start : observation.end] == observation.text
        assert "SCRIPT_MARKER" not in observation.text and "NAV_MARKER" not in observation.text


async def test_default_passages_and_k(pages: FakePages) -> None:
    observations = await tool()({"url": pages.url("/article"), "goal": "arch span metres", "k": 1})
    assert len(observations) == 1 and "503 metres" in observations[0].text


async def test_redirects_cite_the_final_url(pages: FakePages) -> None:
    observations = await tool()({"url": pages.url("/hop/2"), "goal": "bridge opened"})
    assert observations[0].url == pages.url("/article")
    assert observations[0].source_id == web_source_id(pages.url("/article"))


async def test_unmatched_goals_get_the_opening_passages(pages: FakePages) -> None:
    reader = tool(passage_size=300, passage_overlap=50)
    observations = await reader({"url": pages.url("/article"), "goal": "zeppelin", "k": 2})
    assert [o.score for o in observations] == [0.0, 0.0]
    assert observations[0].start == 0
    assert observations[0].start is not None and observations[1].start is not None
    assert observations[0].start < observations[1].start


async def test_reads_a_pdf(pages: FakePages) -> None:
    observations = await tool()({"url": pages.url("/pdf"), "goal": "when was it automated"})
    assert "automated in 1998" in observations[0].text
    assert observations[0].title == "Lighthouse report"


async def test_a_page_without_title_is_titled_by_its_url(pages: FakePages) -> None:
    observations = await tool()({"url": pages.url("/text"), "goal": "line two"})
    assert observations[0].title == pages.url("/text")


async def test_dense_encoder_is_fused_and_a_broken_one_falls_back(pages: FakePages) -> None:
    args = {"url": pages.url("/article"), "goal": "when was the bridge opened"}
    for encoder in (HashingEncoder(), BrokenEncoder()):
        reader = tool(encoder=encoder, passage_size=300, passage_overlap=50)
        observations = await reader(args)
        assert "19 March 1932" in observations[0].text
    assert "dense=test-hashing" in tool(encoder=HashingEncoder()).cache_scope()
    assert tool().cache_scope() != ReadUrlTool().cache_scope()  # the allow-list counts


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/redirect-private", "refused to read"),
        ("/redirect-metadata", "cloud metadata"),
        ("/404", "HTTP 404"),
        ("/500", "HTTP 500"),
        ("/png", "binary content type image/png"),
        ("/png-as-html", "labelled text/html but the bytes are image/png"),
        ("/huge-declared", "over the 5,000,000-byte limit"),
        ("/huge-chunked", "over the 5,000,000-byte limit"),
        ("/slow", "timed out after 1 s"),
        ("/hop/9", "too many redirects"),
        ("/empty", "empty page"),
        ("/pdf-encrypted", "encrypted"),
        ("/pdf-broken", "broken PDF"),
    ],
)
async def test_failures_are_clear_tool_errors(pages: FakePages, path: str, reason: str) -> None:
    with pytest.raises(ToolError) as caught:
        await tool()({"url": pages.url(path), "goal": "anything"})
    message = str(caught.value)
    assert reason in message and pages.url(path) in message
    assert "\n" not in message


async def test_the_test_server_is_refused_without_an_allow_list(pages: FakePages) -> None:
    with pytest.raises(ToolError, match=r"refused to read .*loopback"):
        await ReadUrlTool()({"url": pages.url("/article"), "goal": "bridge"})
    with pytest.raises(ToolError, match="cloud metadata"):
        await ReadUrlTool()({"url": "http://169.254.169.254/latest/meta-data/", "goal": "keys"})


async def test_an_injected_resolver_pointing_inside_is_refused() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(ToolError, match=r"public\.example: it resolves to 10\.0\.0\.5"):
        await ReadUrlTool(resolver=resolve)({"url": "http://public.example/", "goal": "x"})


@pytest.mark.parametrize(
    "arguments",
    [
        {"url": "ftp://example.org/file", "goal": "x"},
        {"url": "file:///etc/passwd", "goal": "x"},
        {"url": "example.org/page", "goal": "x"},
        {"url": "https://example.org/" + "a" * 2000, "goal": "x"},
        {"url": "https://example.org/", "goal": ""},
        {"url": "https://example.org/", "goal": "   "},
        {"url": "https://example.org/", "goal": "g" * 501},
        {"url": "https://example.org/", "goal": "x", "k": 0},
        {"url": "https://example.org/", "goal": "x", "k": 11},
    ],
)
async def test_bad_arguments_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(ToolError, match="bad arguments for tool 'read_url'"):
        await ReadUrlTool()(arguments)


def test_card_and_settings() -> None:
    card = ReadUrlTool.card()
    assert card.name == "read_url"
    assert card.description.startswith(
        "Read a web page or PDF at a URL and return the passages most relevant to a goal"
    )
    assert set(card.parameters["properties"]) == {"url", "goal", "k", "outline", "section", "table"}
    for example in ReadUrlTool.examples:
        ReadUrlArgs.model_validate(example)
    assert ReadUrlTool.cache_ttl == 24 * 3600
    assert ExportedReadUrlTool is ReadUrlTool


def test_rank_passages_prefers_passages_covering_the_whole_goal() -> None:
    text = (
        "Bridge bridge bridge bridge bridge.\n\n"
        "The bridge was opened in 1932 after years of work.\n\n"
        "Unrelated words about the weather and the sea."
    )
    passages = chunk_text("doc", text, size=60, overlap=0)
    ranked = rank_passages(passages, "when was the bridge opened", k=3)
    assert "opened in 1932" in ranked[0][0].text
    assert [p.ordinal for p, _ in ranked][-1] == 2 and ranked[-1][1] == 0.0
    assert rank_passages([], "goal", 3) == []


async def test_an_unresolvable_host_is_not_called_unsafe() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(ToolError, match=r"cannot read .*cannot resolve host 'gone\.example'"):
        await ReadUrlTool(resolver=resolve)({"url": "https://gone.example/", "goal": "x"})


async def test_a_page_is_read_by_its_structure(pages: FakePages) -> None:
    url = pages.url("/listing")
    reader = tool()
    [outline] = await reader({"url": url, "outline": True})
    assert "- Routes [#routes]" in outline.text
    assert (
        "table 1 'Table 1. Weekday departures': Route | Departures / First | Departures / Last "
        "(3 rows)" in outline.text
    )
    assert "Home" not in outline.text
    [table] = await reader({"url": url, "table": "departures"})
    assert table.text.splitlines()[-1] == "F3 Old Mill | 07:05 | 19:50"
    assert table.context == "Ferry timetable > Routes\nTable 1. Weekday departures"
    document = extract_text(await fetch_url(url, LOCAL))
    assert document.text[table.start : table.end] == table.text  # type: ignore[index]
    assert document.structure is not None
    [(_, parsed)] = document.structure.tables()
    assert parsed.header == [["Route", "Departures", "Departures"], ["Route", "First", "Last"]]
    assert parsed.rows[1] == ["F2 Pine Island", "06:45", "21:15"]
    [section] = await reader({"url": url, "section": "rules"})
    assert section.text == (
        "## Rules\n\nBicycles: Allowed on F1 and F2 outside peak hours.\nDogs: Allowed on a lead."
    )
    best = (await reader({"url": url, "goal": "can I take my bicycle"}))[0]
    assert "Bicycles" in best.text and best.context.startswith("Ferry timetable")
    with pytest.raises(ToolError, match="no table"):
        await reader({"url": url, "table": "9"})


async def test_goal_or_structure_is_required() -> None:
    with pytest.raises(ToolError, match="goal"):
        await tool()({"url": "http://127.0.0.1:1/x"})
