"""Tool cards: the builtin tools' cards and an imported tool's card."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tools import (
    ApiConfig,
    CorpusSearchTool,
    ReadDocumentTool,
    ToolCard,
    ToolExample,
    build_tool,
    import_openapi,
)

PETSTORE = Path(__file__).parent / "fixtures" / "petstore.json"


def test_builtin_cards_need_no_store_and_carry_the_examples() -> None:
    card = CorpusSearchTool.card()  # a class method: no corpus store is opened
    assert isinstance(card, ToolCard)
    assert card.name == "search" and card.source == "builtin" and card.tags == []
    assert card.parameters == CorpusSearchTool.Args.model_json_schema()
    assert [e.arguments for e in card.examples] == CorpusSearchTool.examples
    assert all(e.query == "" for e in card.examples)  # builtin examples are arguments only
    assert ReadDocumentTool.card().name == "read"


def test_a_card_round_trips_through_its_dict() -> None:
    card = CorpusSearchTool.card()
    data = card.model_dump()
    assert set(data) == {"name", "description", "parameters", "examples", "source", "tags"}
    assert data["examples"][0] == {"query": "", "arguments": {"query": "Mona Lisa painter", "k": 3}}
    assert ToolCard.model_validate(data) == card
    assert ToolCard.model_validate_json(card.model_dump_json()) == card


def test_cards_are_validated() -> None:
    with pytest.raises(ValidationError):
        ToolCard(name="")
    with pytest.raises(ValidationError):
        ToolCard(name="x" * 65)
    with pytest.raises(ValidationError):
        ToolCard.model_validate({"name": "x", "colour": "red"})
    with pytest.raises(ValidationError):
        ToolExample.model_validate({"query": "q", "arguments": "not a dict"})
    card = ToolCard(name="x")
    assert card.parameters == {"type": "object", "properties": {}} and card.source == "builtin"


def test_an_imported_tool_card_is_the_imported_one_and_a_copy() -> None:
    report = import_openapi(PETSTORE)
    spec = next(s for s in report.tools if s.card.name == "pets_find_by_tags")
    tool = build_tool(spec, ApiConfig(), {})
    card = tool.card()
    assert card == spec.card and card.source == "openapi:petstore.json"
    assert card.parameters["properties"]["tags"]["items"] == {"type": "string"}
    card.parameters["properties"].clear()  # a copy: the tool's own card is untouched
    assert tool.card().parameters["properties"]
    assert tool.name == "pets_find_by_tags" and tool.description == card.description
    assert tool.examples == [{"tags": ["cute"]}]
    tool.validate_args(tool.examples[0])
