"""The tool retriever: BM25F over card fields, rewriting, API bonuses and the dense side."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retriever.encoder import Encoder
from retriever.tool_retriever import (
    ToolRetriever,
    ToolRetrieverConfig,
    card_fields,
    card_group,
    card_text,
)
from tools.cards import ToolCard, ToolExample


def params(**props: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {k: {"type": "string", "description": v} for k, v in props.items()},
    }


CARDS = [
    ToolCard(
        name="get_weather_forecast",
        description="Forecast temperature, rain and wind for a city over the next days.",
        parameters=params(city="city name", days="number of days"),
        tags=["Weather"],
    ),
    ToolCard(
        name="convert_currency",
        description="Convert an amount of money from one currency to another, such as US "
        "dollars to euros, at the current exchange rate.",
        parameters=params(
            amount="amount of money", source="code to convert from", target="code to convert to"
        ),
        tags=["Finance"],
    ),
    ToolCard(
        name="book_hotel",
        description="Reserve a room at a hotel for given check-in and check-out dates.",
        parameters=params(
            city="where to stay", check_in="arrival date", check_out="departure date"
        ),
        tags=["Travel"],
    ),
    ToolCard(
        name="search_flights",
        description="Find airline flights between two airports on a date, with prices.",
        parameters=params(
            origin="departure airport", destination="arrival airport", date="travel date"
        ),
        tags=["Travel"],
    ),
    ToolCard(
        name="get_stock_quote",
        description="Latest share price and trading volume of a company listed on a stock "
        "exchange.",
        parameters=params(symbol="ticker symbol"),
        tags=["Finance"],
    ),
    ToolCard(
        name="translate_text",
        description="Translate text from one language into another language.",
        parameters=params(text="the text", target_language="language to translate into"),
        tags=["Language"],
    ),
    ToolCard(
        name="generate_qr_code",
        description="Generate a QR code image that encodes a URL or text.",
        parameters=params(data="URL or text to encode"),
        tags=["Utilities"],
    ),
    ToolCard(
        name="validate_email",
        description="Check whether an email address is syntactically valid.",
        parameters=params(email="the address"),
        tags=["Utilities"],
    ),
]


def mail_tool(name: str, description: str, api: str) -> ToolCard:
    return ToolCard(name=name, description=description, tags=["Email", api])


MAIL = [
    mail_tool("send_email", "Send an email message to a recipient.", "Post Office"),
    mail_tool("list_email_folders", "List the folders of an email mailbox.", "Post Office"),
    mail_tool("compose", "Compose and deliver a new message to someone.", "Acme Mail"),
    mail_tool("inbox", "Show messages waiting in the inbox.", "Acme Mail"),
    mail_tool("contacts", "Look up a person in the address book.", "Acme Mail"),
]


def names(retriever: ToolRetriever, query: str, k: int = 3, **kwargs: Any) -> list[str]:
    return [hit.card.name for hit in retriever.search(query, k, **kwargs)]


@pytest.fixture(scope="module")
def bm25_only() -> ToolRetriever:
    return ToolRetriever(CARDS)


# --- card helpers -------------------------------------------------------------------------------


def test_card_group_and_fields() -> None:
    assert card_group(MAIL[2]) == "Acme Mail"
    assert (
        card_group(ToolCard(name="x", source="openapi:petstore.yaml", tags=["a"]))
        == "petstore.yaml"
    )
    assert card_group(ToolCard(name="lonely")) == "lonely"
    card = CARDS[0].model_copy(update={"examples": [ToolExample(query="rain in Oslo?")]})
    fields = card_fields(card)
    assert fields["name"] == "get_weather_forecast"
    assert fields["group"] == "Weather Weather"
    assert fields["parameters"] == "city city name days number of days"
    assert fields["examples"] == "rain in Oslo?"
    assert card_fields(card, max_examples=0)["examples"] == ""
    assert card_text(card) == (
        "get_weather_forecast: Forecast temperature, rain and wind for a city over the next days."
        " (Weather)"
    )


# --- BM25F only ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "tool"),
    [
        ("Will it rain in Oslo this weekend?", "get_weather_forecast"),
        ("How many euros do I get for 250 dollars?", "convert_currency"),
        ("I need a room in Lisbon from May 3 to May 6", "book_hotel"),
        ("any flights from Berlin to Madrid next Friday?", "search_flights"),
        ("what is the Apple share price right now", "get_stock_quote"),
        ("say good morning in the Japanese language", "translate_text"),
        ("make a QR code pointing to my blog", "generate_qr_code"),
        ("is john@@example.com a valid address?", "validate_email"),
    ],
)
def test_paraphrased_request_finds_the_right_tool_first(
    bm25_only: ToolRetriever, query: str, tool: str
) -> None:
    assert names(bm25_only, query, 1) == [tool]


def test_examples_make_an_unmatched_request_findable() -> None:
    query = "scannable square barcode for the restaurant menu"
    without = ToolRetriever(CARDS).search(query, 8)
    qr = next(h for h in without if h.card.name == "generate_qr_code")
    assert qr.parts["bm25"] == 0 and without[0].card.name != "generate_qr_code"
    example = ToolExample(
        query="make a scannable square barcode for our menu", arguments={"data": "x"}
    )
    cards = [
        c.model_copy(update={"examples": [example]}) if c.name == "generate_qr_code" else c
        for c in CARDS
    ]
    with_examples = ToolRetriever(cards).search(query, 3)
    assert with_examples[0].card.name == "generate_qr_code"
    assert with_examples[0].parts["bm25"] > 0


def test_naming_an_api_puts_its_tools_on_top() -> None:
    retriever = ToolRetriever(CARDS + MAIL)
    assert names(retriever, "send an email to Bob about the meeting", 1) == ["send_email"]
    hits = retriever.search("With Acme Mail, send an email to Bob about the meeting", 4)
    assert {h.card.name for h in hits[:3]} == {"compose", "inbox", "contacts"}
    assert all(h.parts["named"] == 1.0 for h in hits[:3])
    assert hits[3].card.name == "send_email" and hits[3].parts["named"] == 0.0


def test_name_bonus_arithmetic() -> None:
    config = ToolRetrieverConfig(group_weight=0.0)
    hits = ToolRetriever(CARDS + MAIL, config=config).search("Acme Mail: deliver a message", 10)
    for hit in hits:
        expected = config.bm25_weight * hit.parts["bm25"] + config.name_bonus * hit.parts["named"]
        assert hit.score == pytest.approx(expected, abs=1e-6)
    assert any(h.parts["named"] == 1.0 for h in hits)


def test_group_lifts_the_siblings_of_a_good_match() -> None:
    config = ToolRetrieverConfig(name_bonus=0.0)
    hits = ToolRetriever(CARDS + MAIL, config=config).search("deliver it to someone", 4)
    assert hits[0].card.name == "compose"
    assert {h.card.name for h in hits[1:3]} == {"inbox", "contacts"}
    for sibling in hits[1:3]:
        assert sibling.parts["bm25"] == 0
        assert sibling.score == pytest.approx(config.group_weight * config.bm25_weight * 1.0)
    no_groups = ToolRetriever(
        CARDS + MAIL, config=ToolRetrieverConfig(group_weight=0.0, name_bonus=0.0)
    )
    assert all(h.score == 0 for h in no_groups.search("deliver it to someone", 4)[1:])


def test_two_needs_find_both_tools(bm25_only: ToolRetriever) -> None:
    top = names(bm25_only, "convert 100 USD to EUR. Additionally, generate a QR code for my site")
    assert {"convert_currency", "generate_qr_code"} <= set(top)
    hits = bm25_only.search(
        "convert 100 USD to EUR. Additionally, generate a QR code for my site", 3
    )
    assert all("segment" in h.parts for h in hits)


def test_goal_counts_as_a_segment(bm25_only: ToolRetriever) -> None:
    hits = bm25_only.search("do it for Paris", 1, goal="reserve a hotel room")
    assert hits[0].card.name == "book_hotel" and hits[0].parts["segment"] > 0


def test_k_and_empty_catalogue(bm25_only: ToolRetriever) -> None:
    assert bm25_only.search("weather", 0) == []
    assert bm25_only.search("weather", -3) == []
    assert ToolRetriever([]).search("weather", 5) == []
    assert len(bm25_only.search("weather", 50)) == len(CARDS)


def test_hits_carry_their_parts(bm25_only: ToolRetriever) -> None:
    hits = bm25_only.search("weather forecast for Rome", 3)
    assert hits[0].card.name == "get_weather_forecast" and hits[0].index == 0
    for hit in hits:
        assert "bm25" in hit.parts and "named" in hit.parts
        assert "dense" not in hit.parts
    assert not bm25_only.dense
    assert bm25_only.encode_query("x") is None and bm25_only.card_vector(0) is None


def test_scores_are_descending(bm25_only: ToolRetriever) -> None:
    scores = [h.score for h in bm25_only.search("exchange rate of a stock", 8)]
    assert scores == sorted(scores, reverse=True)


VERBS = [
    "get",
    "list",
    "create",
    "delete",
    "update",
    "search",
    "convert",
    "validate",
    "send",
    "track",
]
NOUNS = [
    "invoice",
    "weather",
    "flight",
    "hotel",
    "stock",
    "email",
    "order",
    "user",
    "parcel",
    "song",
    "recipe",
    "movie",
    "ticket",
    "payment",
    "playlist",
    "contact",
    "calendar",
    "photo",
    "news",
    "car",
]


def synthetic_cards(n: int) -> list[ToolCard]:
    cards = []
    for i in range(n):
        verb, noun = VERBS[i % len(VERBS)], NOUNS[(i // len(VERBS)) % len(NOUNS)]
        api = f"api{i % 500}"
        cards.append(
            ToolCard(
                name=f"{verb}_{noun}_{i}",
                description=f"{verb.title()} a {noun} record in service {api} (variant {i}).",
                tags=["Synthetic", api],
            )
        )
    return cards


def test_ten_thousand_card_catalogue() -> None:
    cards = synthetic_cards(10_000)
    retriever = ToolRetriever(cards)
    assert len(retriever) == 10_000
    hits = retriever.search("track my parcel delivery", 10)
    assert len(hits) == 10
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert all(h.card.name.startswith("track_parcel") for h in hits[:3])
    assert [h.card for h in hits] == [cards[h.index] for h in hits]


# --- the dense side (real all-MiniLM-L6-v2 on ONNX Runtime) -----------------------------------


@pytest.mark.slow
def test_dense_matches_a_paraphrase_without_shared_words(encoder: Encoder, tmp_path: Path) -> None:
    cache = tmp_path / "v.sqlite"
    cards = [
        c.model_copy(update={"examples": [ToolExample(query="what is 5 pounds in yen")]})
        if c.name == "convert_currency"
        else c
        for c in CARDS
    ]
    retriever = ToolRetriever(cards, encoder, vector_cache=cache)
    assert retriever.dense and retriever.texts_to_encode() == len(CARDS) + 1
    query = "how hot will it be tomorrow"
    lexical = ToolRetriever(cards).search(query, len(cards))
    assert all(h.parts["bm25"] == 0 for h in lexical)  # no shared words at all
    hits = retriever.search(query, 3)
    assert hits[0].card.name == "get_weather_forecast"
    assert hits[0].parts["bm25"] == 0 and hits[0].parts["dense"] > hits[1].parts["dense"]
    retriever.close()
    with sqlite3.connect(cache) as db:
        stored = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    assert stored == len(CARDS) + 1  # cards and the example, not the query
    vector = ToolRetriever(cards, encoder, vector_cache=cache).card_vector(0)
    assert vector is not None and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
