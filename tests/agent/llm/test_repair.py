from __future__ import annotations

import pytest
from pydantic import BaseModel

from agent.llm import (
    CutOff,
    ScriptedChatModel,
    StructuredOutputError,
    extract_json,
    partial_object,
    repeats_itself,
    strip_think,
)
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


async def test_a_cut_off_reply_is_not_asked_again() -> None:
    # asked again with the same budget it would be cut again: one call, and what it held
    model = ScriptedChatModel([CutOff('{"x": 1, "y": [2, 3, 4, 5'), '{"x": 1, "y": 2}'])
    with pytest.raises(StructuredOutputError, match="cut off") as caught:
        await model.parse([], Point)
    assert caught.value.cut_off and caught.value.raw.startswith('{"x": 1')
    assert len(model.calls) == 1 and model.remaining == 1


def test_partial_object_keeps_the_fields_written_before_the_cut() -> None:
    assert partial_object('{"a": [1, 2], "b": "two words, then cut \\u00e9 he') == {
        "a": [1, 2],
        "b": "two words, then cut é he",
    }
    assert partial_object('{"a": 1, "b": {"c": [1,') == {"a": 1}  # a nested value cut: dropped
    assert partial_object('{"a": "x\\') == {"a": "x"}  # an escape cut in half
    assert partial_object('{"a": 1}') == {"a": 1}
    assert partial_object("[1, 2]") == {} and partial_object("no json") == {}


def test_a_reply_repeating_itself_is_recognised() -> None:
    sentence = "The lake lies on the border of two countries and is fed by many rivers. [1] "
    assert repeats_itself(sentence * 4)
    assert not repeats_itself(sentence)
    varied = " ".join(
        f"Row {i}: a value of {i * 7} units, measured in the spring." for i in range(40)
    )
    assert not repeats_itself(varied)
    # rows sharing a constant part longer than the span differ elsewhere: a table, no loop
    url = "https://archive.example.org/records/lighthouses/northern-coast/annual-reports/" * 2
    rows = "".join(
        f'{{"name": "Keeper {n}", "source": "{url}", "year": 19{n:02d}}}, ' for n in range(9)
    )
    assert not any(repeats_itself(rows[:end]) for end in range(len(rows)))
