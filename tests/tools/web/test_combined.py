"""`search` / `read` over the web and the corpus: interleaving, degradation, read routing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from tests.agent.fake_web import FakeWeb, page
from tools.base import Observation, Tool, ToolError
from tools.web import MultiSearch, ReadUrlTool, UrlPolicy, WebSearchTool, build_backend
from tools.web.combined import WebAndCorpusReadTool, WebAndCorpusSearchTool


class Args(BaseModel):
    query: str = ""
    k: int = 5
    offset: int = 0
    exact: bool = False
    doc_id: str = ""
    goal: str = ""
    full: bool = False


class Corpus(Tool):
    """Records its calls; answers two local documents, or fails when told to."""

    name: ClassVar[str] = "corpus"
    description: ClassVar[str] = "local"
    Args: ClassVar[type[BaseModel]] = Args

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    async def run(self, args: Args) -> list[Observation]:
        self.calls.append(args.model_dump(exclude_defaults=True))
        if self.fail:
            raise ToolError("corpus index unreadable")
        if args.doc_id:
            return [Observation(source_id=args.doc_id, text=f"full text for {args.goal}")]
        return [
            Observation(source_id=f"wiki:{n}", url=f"https://example.org/{n}", text=f"local {n}")
            for n in ("a", "b")
        ]


@pytest.fixture
def web() -> Iterator[FakeWeb]:
    pages = {"/one": page("One", "harbour bridge one"), "/two": page("Two", "harbour bridge two"),
             "/three": page("Three", "harbour bridge three")}  # fmt: skip
    with FakeWeb(pages).running() as server:
        yield server


def tools(web: FakeWeb, corpus: Tool | None) -> tuple[WebAndCorpusSearchTool, WebAndCorpusReadTool]:
    backend = build_backend({"kind": "searxng", "base_url": web.base_url, "max_retries": 0})
    urls: dict[str, str] = {}
    search = WebAndCorpusSearchTool(WebSearchTool(MultiSearch([backend])), corpus, urls)
    reader = ReadUrlTool(UrlPolicy(allow_hosts=["127.0.0.1"]))
    return search, WebAndCorpusReadTool(reader, corpus, urls)


async def test_results_interleave_web_first_and_k_in_all(web: FakeWeb) -> None:
    search, _ = tools(web, Corpus())
    results = await search({"query": "harbour bridge", "k": 4})
    assert [r.source_id.split(":")[0] for r in results] == ["web", "wiki", "web", "wiki"]
    assert search.last_failures == []


async def test_a_failing_side_degrades_and_both_failing_is_an_error(web: FakeWeb) -> None:
    corpus = Corpus(fail=True)
    search, _ = tools(web, corpus)
    results = await search({"query": "harbour bridge", "k": 3})
    assert len(results) == 3 and all(r.source_id.startswith("web:") for r in results)
    assert search.last_failures == ["corpus index unreadable"]
    web.fail_search = True
    with pytest.raises(ToolError) as failure:
        await search({"query": "harbour bridge"})
    assert "corpus index unreadable" in str(failure.value)
    assert "every backend failed" in str(failure.value)


async def test_paging_and_exact_phrases_go_to_the_corpus_only(web: FakeWeb) -> None:
    corpus = Corpus()
    search, _ = tools(web, corpus)
    results = await search({"query": "harbour bridge", "k": 2, "offset": 5, "exact": True})
    assert all(r.source_id.startswith("wiki:") for r in results)
    assert corpus.calls == [{"query": "harbour bridge", "k": 2, "offset": 5, "exact": True}]
    assert not any(r.startswith("/search") for r in web.requests)


async def test_read_routes_web_ids_to_the_page_and_others_to_the_corpus(web: FakeWeb) -> None:
    corpus = Corpus()
    search, read = tools(web, corpus)
    first = (await search({"query": "harbour bridge one", "k": 1}))[0]
    assert first.source_id.startswith("web:https://")  # the normalised id...
    passages = await read({"doc_id": first.source_id, "goal": "bridge one"})
    assert passages[0].url == web.base_url + "/one"  # ...read at the URL the engine gave
    assert passages[0].source_id == first.source_id  # one id per page, search and read alike
    whole = await read({"doc_id": first.source_id, "full": True})  # as wide tasks read rows
    assert len(whole) == 1 and "bridge one" in whole[0].text
    assert whole[0].source_id == first.source_id and whole[0].start == 0
    untargeted = await read({"doc_id": first.source_id, "goal": ""})
    assert "bridge one" in untargeted[0].text
    local = await read({"doc_id": "wiki:a", "goal": "what a says"})
    assert local[0].text == "full text for what a says"
    web_only = tools(web, None)[1]
    with pytest.raises(ToolError, match="no corpus"):
        await web_only({"doc_id": "wiki:a", "goal": "x"})
