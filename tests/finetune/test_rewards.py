"""ToolRL-style rewards: each part, and the weighted combination."""

from __future__ import annotations

import json

import pytest

from finetune.rewards import (
    RewardWeights,
    ToolCall,
    answer_reward,
    argument_name_reward,
    argument_value_reward,
    combined_reward,
    format_reward,
    parse_tool_call,
    reward_function,
    score_output,
    tool_name_reward,
)

REF = json.dumps({"tool": "weather_lookup", "arguments": {"city": "Paris", "days": 3}})
REF_CALL = ToolCall("weather_lookup", {"city": "Paris", "days": 3})


def call(name: str = "weather_lookup", **arguments: object) -> ToolCall:
    return ToolCall(name, dict(arguments))


# --- parsing / format --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"tool": "weather_lookup", "arguments": {"city": "Paris", "days": 3}}',
        '```json\n{"tool": "weather_lookup", "arguments": {"city": "Paris", "days": 3}}\n```',
        '<think>the user wants weather</think>{"tool": "weather_lookup", "arguments": '
        '{"city": "Paris", "days": 3}}',
        'Call: {"name": "weather_lookup", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 3}"}',
        '{"function": {"name": "weather_lookup", "arguments": {"city": "Paris", "days": 3}}}',
    ],
)
def test_tool_call_shapes_parse(text: str) -> None:
    assert parse_tool_call(text) == REF_CALL
    assert format_reward(text, REF) == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "weather_lookup(city='Paris')",
        '{"tool": "weather_lookup", "arguments": {"city": "Paris"',  # truncated
        '{"arguments": {"city": "Paris"}}',  # no tool name
        '{"tool": "weather_lookup", "arguments": ["Paris"]}',  # arguments not an object
        '{"tool": "weather_lookup", "arguments": "{not json"}',
        '["weather_lookup"]',
    ],
)
def test_malformed_output_scores_zero_everywhere(text: str) -> None:
    assert format_reward(text, REF) == 0.0
    parts = score_output(text, REF)
    assert parts.total == 0.0
    assert parts.tool_name == parts.argument_names == parts.argument_values == 0.0


def test_format_of_structured_replies_needs_the_reference_fields() -> None:
    reference = json.dumps({"quote": "Paris is in France", "holds": True})
    assert format_reward('{"quote": "x", "holds": false}', reference) == 1.0
    assert format_reward('{"quote": "x"}', reference) == 0.0
    assert format_reward("not json", reference) == 0.0
    # free-text references want any non-empty text
    assert format_reward("Paris.", "The capital is Paris.") == 1.0
    assert format_reward("<think>...</think>  ", "The capital is Paris.") == 0.0


# --- names and values --------------------------------------------------------------------------


def test_tool_name_match_ignores_case_spaces_and_separators() -> None:
    assert tool_name_reward(call("Weather-Lookup "), REF_CALL) == 1.0
    assert tool_name_reward(call("weather lookup"), REF_CALL) == 1.0
    assert tool_name_reward(call("currency_rate"), REF_CALL) == 0.0
    assert tool_name_reward(None, REF_CALL) == 0.0


def test_argument_names_are_jaccard() -> None:
    assert argument_name_reward(call(city="x", days=1), REF_CALL) == 1.0
    assert argument_name_reward(call(city="x"), REF_CALL) == 0.5  # missing one
    assert argument_name_reward(call(city="x", days=1, units="c"), REF_CALL) == pytest.approx(
        2 / 3
    )  # an extra one
    assert argument_name_reward(call(town="x"), REF_CALL) == 0.0
    assert argument_name_reward(call(CITY="x", Days=1), REF_CALL) == 1.0  # case
    assert argument_name_reward(call(), ToolCall("now", {})) == 1.0  # none wanted, none given
    assert argument_name_reward(call(x=1), ToolCall("now", {})) == 0.0


def test_argument_values_are_normalised_and_extra_or_missing_ones_cost() -> None:
    assert argument_value_reward(call(city="  paris ", days="3"), REF_CALL) == 1.0
    assert argument_value_reward(call(city="PARIS", days=3.0), REF_CALL) == 1.0
    assert argument_value_reward(call(city="Lyon", days=3), REF_CALL) == 0.5
    assert argument_value_reward(call(city="Paris"), REF_CALL) == 0.5  # missing days
    assert argument_value_reward(call(city="Paris", days=3, units="c"), REF_CALL) == pytest.approx(
        2 / 3
    )
    listed = ToolCall("t", {"tags": ["b", "a"], "deep": {"K": " V "}, "flag": True})
    assert argument_value_reward(call("t", tags=["A", "b"], deep={"k": "v"}, flag="true"),
                                 listed) == 1.0  # fmt: skip
    assert argument_value_reward(call("t", tags=["a"], deep={"k": "v"}, flag=False),
                                 listed) == pytest.approx(1 / 3)  # fmt: skip
    assert argument_value_reward(None, REF_CALL) == 0.0


def test_answer_reward_exact_or_token_f1() -> None:
    assert answer_reward("Paris.", "paris") == 1.0
    assert answer_reward("The  Eiffel Tower", "eiffel tower") == 1.0  # articles, spaces
    assert answer_reward("<think>x</think>Paris", "Paris") == 1.0
    assert answer_reward("Paris, France", "Paris") == pytest.approx(2 / 3)
    assert answer_reward("Berlin", "Paris") == 0.0
    assert answer_reward("", "Paris") == 0.0


# --- combined ----------------------------------------------------------------------------------


def test_combined_reward_weights_the_parts() -> None:
    perfect = '{"tool": "weather_lookup", "arguments": {"city": "paris", "days": 3}}'
    assert combined_reward(perfect, REF) == 1.0
    wrong_value = '{"tool": "weather_lookup", "arguments": {"city": "Rome", "days": 3}}'
    parts = score_output(wrong_value, REF)
    assert (parts.format, parts.tool_name, parts.argument_names) == (1.0, 1.0, 1.0)
    assert parts.argument_values == 0.5
    assert parts.total == pytest.approx(3.5 / 4)
    heavy = RewardWeights(format=0.0, tool_name=0.0, argument_names=0.0, argument_values=1.0)
    assert combined_reward(wrong_value, REF, heavy) == 0.5
    other_tool = '{"tool": "currency_rate", "arguments": {}}'
    assert combined_reward(other_tool, REF) == pytest.approx(1 / 4)  # only the format holds
    assert combined_reward("garbage", REF) == 0.0
    # answers: format + answer match
    assert combined_reward("Paris", "Paris") == 1.0
    assert combined_reward("Berlin", "Paris") == 0.5
    # a structured reply: its fields are compared like arguments
    verdict = json.dumps({"quote": "Paris is in France", "holds": True})
    assert combined_reward('{"quote": "paris is in france", "holds": true}', verdict) == 1.0
    assert combined_reward('{"quote": "", "holds": false}', verdict) == pytest.approx(2 / 3)


def test_weights_parse_from_the_command_line_form() -> None:
    assert RewardWeights.parse("") == RewardWeights()
    assert RewardWeights.parse("format=0.5, answer=2") == RewardWeights(format=0.5, answer=2.0)
    with pytest.raises(ValueError, match="unknown reward weight"):
        RewardWeights.parse("speed=1")
    with pytest.raises(ValueError, match="must be a number"):
        RewardWeights.parse("format=high")


def test_reward_function_takes_trl_completions() -> None:
    reward = reward_function()
    completions = [
        [{"role": "assistant", "content": '{"tool": "weather_lookup", "arguments": '
                                          '{"city": "Paris", "days": 3}}'}],
        [{"role": "assistant", "content": "no idea"}],
        "Paris",
    ]  # fmt: skip
    got = reward(prompts=[[], [], []], completions=completions,
                 reference=[REF, REF, "Paris"], task=["tool_choice"] * 3)  # fmt: skip
    assert got == [1.0, 0.0, 1.0]
