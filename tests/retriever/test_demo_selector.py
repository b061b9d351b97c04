"""Choosing few-shot demonstrations that tell the retrieved tools apart."""

from __future__ import annotations

import pytest

from retriever.demo_selector import select_demos
from retriever.encoder import Encoder
from retriever.tool_retriever import ToolRetriever
from tools.cards import ToolCard, ToolExample


def example(query: str, **arguments: object) -> ToolExample:
    return ToolExample(query=query, arguments=dict(arguments))


CARDS = [
    ToolCard(
        name="get_weather_forecast",
        description="Forecast temperature, rain and wind for a city.",
        examples=[
            example("will it rain in Oslo tomorrow", city="Oslo"),
            example("weather forecast for Rome this weekend", city="Rome"),
        ],
    ),
    ToolCard(
        name="convert_currency",
        description="Convert money between currencies at the current exchange rate.",
        examples=[
            example("convert 100 dollars to euros", amount=100, source="USD", target="EUR"),
            example("how many yen is 20 pounds", amount=20, source="GBP", target="JPY"),
        ],
    ),
    ToolCard(
        name="book_hotel",
        description="Reserve a hotel room for given dates.",
        examples=[example("book a hotel room in Lisbon for two nights", city="Lisbon")],
    ),
    ToolCard(
        name="search_flights",
        description="Find flights between two airports on a date.",
        examples=[example("flights from Berlin to Madrid on Friday"), example("")],
    ),
    ToolCard(
        name="translate_text",
        description="Translate text into another language.",
        examples=[example("", text="hello")],  # an example without a request: no demo
    ),
]


def own_examples(name: str) -> set[str]:
    card = next(c for c in CARDS if c.name == name)
    return {e.query for e in card.examples if e.query}


@pytest.fixture(scope="module")
def bm25_only() -> ToolRetriever:
    return ToolRetriever(CARDS)


def test_bm25_demos_are_capped_unique_and_from_their_tool(bm25_only: ToolRetriever) -> None:
    query = "weather in Paris, then convert 50 dollars to euros and book a hotel"
    hits = bm25_only.search(query, 5)
    assert len(hits) == 5
    for limit in (1, 2, 3, 10):
        demos = select_demos(bm25_only, hits, query, max_demos=limit)
        assert 0 < len(demos) <= limit
        tools = [d.tool for d in demos]
        assert len(tools) == len(set(tools))
        for demo in demos:
            assert demo.query in own_examples(demo.tool)
    everything = select_demos(bm25_only, hits, query, max_demos=10)
    # translate_text has no example request, so four tools at most
    assert {d.tool for d in everything} == {
        "get_weather_forecast",
        "convert_currency",
        "book_hotel",
        "search_flights",
    }


def test_bm25_demo_is_the_example_closest_in_words(bm25_only: ToolRetriever) -> None:
    query = "how many yen do I get for 300 pounds"
    hits = bm25_only.search(query, 1)
    assert hits[0].card.name == "convert_currency"
    (demo,) = select_demos(bm25_only, hits, query, max_demos=3)
    assert demo.query == "how many yen is 20 pounds"
    assert demo.arguments == {"amount": 20, "source": "GBP", "target": "JPY"}
    assert demo.score > 0


def test_no_demos_when_none_are_asked_for(bm25_only: ToolRetriever) -> None:
    hits = bm25_only.search("weather in Oslo", 3)
    assert select_demos(bm25_only, hits, "weather in Oslo", max_demos=0) == []
    assert select_demos(bm25_only, hits, "weather in Oslo", max_demos=-1) == []
    assert select_demos(bm25_only, [], "weather in Oslo") == []


# --- with the real encoder: examples that separate look-alike tools win ---------------------------

LOOK_ALIKES = [
    ToolCard(
        name="Email Validator",
        description="validate email syntax",
        examples=[
            example("look at this email address"),
            example("is john..doe@@example.com written in valid email syntax?"),
        ],
    ),
    ToolCard(
        name="Email Checker",
        description="check email deliverability",
        examples=[
            example("look at this email address"),
            example("can mail be delivered to bob@example.com or will it bounce?"),
        ],
    ),
]
CLEAR = {
    "Email Validator": "is john..doe@@example.com written in valid email syntax?",
    "Email Checker": "can mail be delivered to bob@example.com or will it bounce?",
}


@pytest.mark.slow
def test_demo_that_separates_look_alike_tools_is_chosen(encoder: Encoder) -> None:
    retriever = ToolRetriever(LOOK_ALIKES, encoder)
    query = "verify the email of our new customer"
    hits = retriever.search(query, 2)
    assert {h.card.name for h in hits} == set(CLEAR)
    demos = select_demos(retriever, hits, query, max_demos=2)
    assert {d.tool: d.query for d in demos} == CLEAR
    # the same vector given by the caller gives the same choice
    vector = retriever.encode_query(query)
    assert select_demos(retriever, hits, query, max_demos=2, vector=vector) == demos
    # without the separation term the generic request is closer to the query for the validator
    by_relevance = select_demos(retriever, hits, query, max_demos=2, separation_weight=0.0)
    assert {d.tool: d.query for d in by_relevance}[
        "Email Validator"
    ] == "look at this email address"
    retriever.close()
