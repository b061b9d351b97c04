from __future__ import annotations

import pytest
from pydantic import BaseModel

from agent.llm import ScriptedChatModel, StructuredOutputError, extract_json, strip_think
from agent.llm.repair import json_schema_for
from agent.schemas import Plan, Reflection


class Point(BaseModel):
    x: int
    y: int


@pytest.mark.parametrize(
    "text",
    [
        '{"x": 1, "y": 2}',
        '<think>hmm {"x": 0}</think>{"x": 1, "y": 2}',
        'Sure! ```json\n{"x": 1, "y": 2}\n``` hope this helps',
        'Here: {"x": 1, "y": 2} and some trailing words {',
    ],
)
def test_extract_json_variants(text: str) -> None:
    assert Point.model_validate(extract_json(text)) == Point(x=1, y=2)


def test_strip_think_unclosed() -> None:
    assert strip_think("<think>never closed") == ""


async def test_one_retry_shows_validation_error() -> None:
    model = ScriptedChatModel(['{"x": "one"}', '{"x": 1, "y": 2}'])
    point, usage = await model.parse([], Point)
    assert point == Point(x=1, y=2) and usage.calls == 2
    assert "x: Input should be a valid integer" in model.calls[1][-1].content


async def test_clear_error_after_two_failures() -> None:
    model = ScriptedChatModel(["nothing", "still nothing"])
    with pytest.raises(StructuredOutputError, match="Point after a retry"):
        await model.parse([], Point)


def test_schemas_have_no_refs() -> None:
    for schema in (Plan, Reflection):
        assert "$ref" not in str(json_schema_for(schema))
