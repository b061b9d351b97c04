from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tools import (
    CorpusSearchTool,
    Observation,
    ReadDocumentTool,
    ToolError,
    ToolRegistry,
)

DOCS = [
    Document("paris", "Paris is the capital of France.", "https://x/paris", "Paris"),
    Document("berlin", "Berlin is the capital of Germany.", "https://x/berlin", "Berlin"),
    Document("rome", "Rome is the capital of Italy.", "https://x/rome", "Rome"),
    Document(
        "long",
        "\n\n".join(
            [f"Section {i}: routine background text about topic {i}." * 5 for i in range(10)]
            + ["The treasure is buried under the old oak tree by the river."]
        ),
        "https://x/long",
        "Long report",
    ),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CorpusStore]:
    with CorpusStore(tmp_path / "c.db") as opened:
        opened.add_documents("demo", DOCS)
        opened.add_documents("more", [Document("madrid", "Madrid is the capital of Spain.")])
        yield opened


async def test_search_returns_citable_observations(store: CorpusStore) -> None:
    tool = CorpusSearchTool(store)
    observations = await tool({"query": "capital of France", "k": 2})
    assert len(observations) == 2
    first = observations[0]
    assert isinstance(first, Observation)
    assert first.source_id == "demo:paris"
    assert first.url == "https://x/paris" and first.title == "Paris"
    assert first.text == DOCS[0].text
    assert first.score is not None and first.score > 0
    assert (first.start, first.end) == (0, len(DOCS[0].text))


async def test_search_default_k_and_corpora(store: CorpusStore) -> None:
    everything = await CorpusSearchTool(store)({"query": "capital"})
    assert len(everything) == 4
    one = await CorpusSearchTool(store, default_k=1)({"query": "capital"})
    assert len(one) == 1
    explicit = await CorpusSearchTool(store, default_k=1)({"query": "capital", "k": 3})
    assert len(explicit) == 3
    only_more = await CorpusSearchTool(store, corpora=["more"])({"query": "capital"})
    assert [o.source_id for o in only_more] == ["more:madrid"]
    assert await CorpusSearchTool(store)({"query": "no-such-word-anywhere"}) == []


@pytest.mark.parametrize(
    "arguments",
    [{"query": ""}, {"query": "   "}, {"query": "x", "k": 0}, {"query": "x", "k": 21}, {"k": 3}],
)
async def test_search_rejects_bad_arguments(store: CorpusStore, arguments: dict) -> None:
    with pytest.raises(ToolError, match="bad arguments for tool 'search'"):
        await CorpusSearchTool(store)(arguments)


async def test_search_unknown_corpus_is_a_tool_error(store: CorpusStore) -> None:
    with pytest.raises(ToolError, match="unknown corpus 'nope'"):
        await CorpusSearchTool(store, corpora=["nope"])({"query": "capital"})


def test_default_k_must_be_in_range(store: CorpusStore) -> None:
    with pytest.raises(ValueError):
        CorpusSearchTool(store, default_k=0)


async def test_read_returns_passages_for_the_goal(store: CorpusStore) -> None:
    tool = ReadDocumentTool(store)
    observations = await tool({"doc_id": "demo:long", "goal": "where is the treasure buried"})
    assert 1 <= len(observations) <= 3
    assert "treasure" in observations[0].text
    assert all(o.source_id == "demo:long" and o.url == "https://x/long" for o in observations)
    text = DOCS[3].text
    assert all(text[o.start or 0 : o.end] == o.text for o in observations)
    bare = await tool({"doc_id": "madrid", "goal": "capital"})
    assert [o.source_id for o in bare] == ["more:madrid"]


async def test_read_unknown_document_is_a_tool_error(store: CorpusStore) -> None:
    tool = ReadDocumentTool(store)
    with pytest.raises(ToolError, match="no document"):
        await tool({"doc_id": "demo:atlantis", "goal": "anything"})
    with pytest.raises(ToolError, match="bad arguments"):
        await tool({"doc_id": "", "goal": "x"})


def test_cards_and_registry(store: CorpusStore) -> None:
    registry = ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)])
    assert registry.names() == ["search", "read"]
    search_card = registry.get("search").card()
    assert set(search_card.parameters["properties"]) == {"query", "k", "offset", "exact"}
    assert search_card.parameters["required"] == ["query"]
    assert search_card.examples and search_card.description
    assert search_card.source == "builtin"
    read_card = registry.get("read").card()
    assert set(read_card.parameters["required"]) == {"doc_id"}
    for tool in registry:
        for example in tool.examples:
            tool.validate_args(example)


# --- hybrid (BM25 + dense) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> Iterator[Any]:
    from retriever.encoder import MiniLMEncoder

    encoder = MiniLMEncoder()
    yield encoder
    encoder.close()


async def test_search_without_vectors_is_bm25(store: CorpusStore, minilm: Any) -> None:
    from retriever.vectors import CorpusVectors

    vectors = CorpusVectors(store, minilm)  # nothing built yet
    tool = CorpusSearchTool(store, vectors=vectors)
    plain = await CorpusSearchTool(store)({"query": "capital of France", "k": 3})
    assert await tool({"query": "capital of France", "k": 3}) == plain


async def test_hybrid_search_finds_meaning_and_keeps_one_hit_per_document(
    store: CorpusStore, minilm: Any
) -> None:
    from retriever.vectors import CorpusVectors

    store.add_documents(
        "demo", [Document("cat", "The feline dozed on the warm windowsill all afternoon.")]
    )
    vectors = CorpusVectors(store, minilm)
    tool = CorpusSearchTool(store, vectors=vectors)
    before = tool.cache_scope()
    assert vectors.build() == len(store.passage_ids())  # every passage, both corpora
    assert tool.cache_scope() != before

    assert await CorpusSearchTool(store)({"query": "kitty napping"}) == []
    found = await tool({"query": "kitty napping", "k": 3})
    assert found[0].source_id == "demo:cat"
    assert found[0].score is not None and found[0].score > 0

    mixed = await tool({"query": "where is the treasure buried", "k": 5})
    sources = [o.source_id for o in mixed]
    assert sources[0] == "demo:long" and "treasure" in mixed[0].text
    assert len(sources) == len(set(sources)) == 5  # one passage per document

    only_more = await CorpusSearchTool(store, corpora=["more"], vectors=vectors)(
        {"query": "kitty napping"}
    )
    assert [o.source_id for o in only_more] == ["more:madrid"]

    store.remove_document("demo", "cat")
    vectors.build()
    after = await tool({"query": "kitty napping", "k": 5})
    assert "demo:cat" not in [o.source_id for o in after]


async def test_search_pages_and_exact_phrases_and_full_reads(tmp_path: Path) -> None:
    from retriever.types import Document

    store = CorpusStore(tmp_path / "pages.db")
    store.add_documents(
        "p",
        [
            Document(f"d{i}", f"Homepage: http://www.bioinformatics.org/tool{i}/ and more", "",
                     f"tool {i}")
            for i in range(7)
        ]
        + [Document("x", "bioinformatics research at a university in org chart", "", "x")],
    )  # fmt: skip
    search = CorpusSearchTool(store)
    first = await search({"query": "bioinformatics.org", "k": 4, "exact": True})
    rest = await search({"query": "bioinformatics.org", "k": 4, "offset": 4, "exact": True})
    ids = [o.source_id for o in first + rest]
    assert len(first) == 4 and len(rest) == 3 and len(set(ids)) == 7
    assert "p:x" not in ids  # the words, but not as the phrase
    assert "p:x" in [o.source_id for o in await search({"query": "bioinformatics org", "k": 8})]
    assert store.phrase_share("bioinformatics.org") == (7, 8)
    read = ReadDocumentTool(store)
    (whole,) = await read({"doc_id": "p:d3", "goal": "", "full": True})
    assert whole.text.startswith("Homepage:") and (whole.start, whole.end) == (0, len(whole.text))


GUIDE = """# Field guide

Birds of the marsh, listed by size.

## Waders

Bird | Length (cm) | Call
Heron | 95 | harsh croak
Stilt | 35 | sharp yelp
Curlew | 55 | rising whistle

## Songbirds

### Warblers

Name: reed warbler
Habitat: reed beds

## Seasons

Spring | Autumn
arrive | leave
"""


@pytest.fixture
def guide_store(tmp_path: Path) -> Iterator[CorpusStore]:
    with CorpusStore(tmp_path / "g.db", passage_size=120, passage_overlap=20) as opened:
        opened.add_documents("birds", [Document("guide", GUIDE, "https://x/guide", "Field guide")])
        yield opened


async def test_read_by_structure_outline_section_and_table(guide_store: CorpusStore) -> None:
    tool = ReadDocumentTool(guide_store)
    [outline] = await tool({"doc_id": "birds:guide", "outline": True})
    assert outline.start is None and outline.context == "outline"
    assert outline.text.splitlines() == [
        "Outline of Field guide:",
        "- Field guide [#field-guide]",
        "  - Waders [#waders]",
        "    table 1: Bird | Length (cm) | Call (3 rows)",
        "  - Songbirds [#songbirds]",
        "    - Warblers [#warblers]",
        "      definitions (2): Name, Habitat",
        "  - Seasons [#seasons]",
        "    table 2: Spring | Autumn (1 rows)",
    ]
    [table] = await tool({"doc_id": "birds:guide", "table": "length call"})
    assert table.text == (
        "Bird | Length (cm) | Call\nHeron | 95 | harsh croak\nStilt | 35 | sharp yelp\n"
        "Curlew | 55 | rising whistle"
    )
    assert GUIDE[table.start : table.end] == table.text  # type: ignore[index]
    assert table.context == "Field guide > Waders"
    [second] = await tool({"doc_id": "birds:guide", "table": 2})
    assert second.text.startswith("Spring | Autumn")
    [section] = await tool({"doc_id": "birds:guide", "section": "Songbirds"})
    assert section.text == "## Songbirds\n\n### Warblers\n\nName: reed warbler\nHabitat: reed beds"
    assert section.context == "Field guide"
    [nested] = await tool({"doc_id": "birds:guide", "section": "songbirds > warblers"})
    assert nested.text.startswith("### Warblers")
    with pytest.raises(ToolError, match=r"no table '7'.*2 tables"):
        await tool({"doc_id": "birds:guide", "table": "7"})
    with pytest.raises(ToolError, match=r"no section 'Mammals'.*Waders"):
        await tool({"doc_id": "birds:guide", "section": "Mammals"})
    passages = await tool({"doc_id": "birds:guide", "goal": "curlew call"})
    assert "Curlew" in passages[0].text and passages[0].context.startswith("Field guide > Waders")


def test_read_card_tells_models_about_structure() -> None:
    card = ReadDocumentTool.card()
    assert "outline" in card.description and "table" in card.description
    properties = card.parameters["properties"]
    assert {"outline", "section", "table", "goal", "full"} <= set(properties)


async def test_html_pages_round_trip_through_the_store_and_read(tmp_path: Path) -> None:
    from retriever.ingest import load_documents
    from retriever.parse_html import parse_html

    fixtures = Path(__file__).resolve().parents[1] / "retriever" / "fixtures" / "html"
    with CorpusStore(tmp_path / "h.db") as store:
        store.add_documents("pages", load_documents(fixtures / "tables.html"))
        store.add_documents("pages", load_documents(fixtures / "api.html"))
        tool = ReadDocumentTool(store)
        parsed = parse_html((fixtures / "tables.html").read_text(encoding="utf-8"))
        section, table = parsed.document.structure.tables()[1]
        [read] = await tool({"doc_id": "pages:tables.html", "table": "ferry departures"})
        assert read.text == parsed.document.text[table.start : table.end]
        assert read.context == f"{section.path_text}\n{table.caption}"
        [outline] = await tool({"doc_id": "pages:api.html", "outline": True})
        assert "shapekit.geometry.rotate(shape, degrees)" in outline.text
        [functions] = await tool({"doc_id": "pages:api.html", "section": "#functions"})
        assert functions.text.startswith("## Functions")
        assert "New in version" in functions.text
        assert "shapekit.geometry.Circle" not in functions.text  # the next section's entry


def _headed(doc_id: str, title: str, body: list[str]) -> Document:
    """A document that opens with a title block (a heading and a one-line description), as
    encyclopedia and manual pages do, then paragraphs long enough to be passages of their own."""
    return Document(
        doc_id, f"{title}\nShort description: a page\n\n" + "\n\n".join(body), "", title
    )


async def test_a_bare_opening_passage_reads_on_into_the_text(tmp_path: Path) -> None:
    filler = "The harbour town has a fish market, two churches and a small museum. " * 10
    doc = _headed(
        "vell",
        "Vellmar Lighthouse",
        [
            "The Vellmar Lighthouse stands on the northern cape. It was designed by the "
            "engineer Odile Brant and first lit in 1871. " + filler,
            "Later history. " + filler,
        ],
    )
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("demo", [doc])
        ranked = CorpusSearchTool(store).search("Vellmar Lighthouse", 1)
        assert ranked[0].text.startswith("Vellmar Lighthouse") and len(ranked[0].text) < 60
        (found,) = await CorpusSearchTool(store)({"query": "Vellmar Lighthouse", "k": 1})
    assert found.text.startswith("Vellmar Lighthouse\nShort description")
    assert "designed by the engineer Odile Brant" in found.text  # the passage after it
    assert found.start == 0 and doc.text[found.start : found.end] == found.text  # citable
    assert "Later history" not in found.text  # one passage on, not the whole document


async def test_a_short_passage_inside_a_document_is_left_as_it_is(tmp_path: Path) -> None:
    filler = "Routine notes about the weather on the cape and the ships that passed. " * 12
    doc = _headed("vell", "Vellmar Lighthouse", [filler, "Keeper: Odile Brant.", filler])
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("demo", [doc])
        found = store.search("keeper Odile Brant", 1)
        assert found[0].text == "Keeper: Odile Brant."  # short, but not the opening
        assert store.with_opening_read_on(found, 240) == found
