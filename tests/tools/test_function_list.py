"""OpenAI function-calling lists: cards without endpoints, unless one is configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.fake_openai import FakeOpenAI, Reply
from tools import ApiConfig, ToolError, ToolImportError, build_tool, import_function_list

FUNCTIONS = Path(__file__).parent / "fixtures" / "functions.json"


def test_both_shapes_are_imported_and_bad_entries_reported() -> None:
    report = import_function_list(FUNCTIONS)
    assert report.kind == "functions" and report.api == "functions"
    assert report.names == ["get_weather", "book_flight", "now", "get_weather_2"]
    assert {p.where: p.reason for p in report.problems} == {
        "#3": "type 'code_interpreter' is not a function",
        "#4": "the function has no name",
        "#5": "entry is not an object",
        "#6 bad_params": "'parameters' must be an object schema, not 'array'",
    }
    cards = {spec.card.name: spec.card for spec in report.tools}
    weather = cards["get_weather"]
    assert weather.description == "Current weather for a city."
    assert weather.source == "functions:functions.json"
    assert weather.parameters["required"] == ["city"]
    flight = cards["book_flight"].parameters
    assert flight["properties"]["route"]["required"] == ["from", "to"]  # $defs resolved
    assert "$defs" not in flight
    assert cards["book_flight"].examples[0].query == "fly me from OSL to CDG"
    assert cards["now"].parameters == {"type": "object", "properties": {}}
    assert all(spec.call is None for spec in report.tools)


@pytest.mark.parametrize("key", ["tools", "functions"])
def test_a_list_under_tools_or_functions(tmp_path: Path, key: str) -> None:
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({key: [{"name": "ping", "description": "Ping."}]}))
    assert import_function_list(path).names == ["ping"]


@pytest.mark.parametrize("content", ['{"name": "alone"}', "[1, 2, 3]", '{"tools": "none"}', "[]"])
def test_what_is_no_function_list_is_one_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content)
    with pytest.raises(ToolImportError, match=r"other.json: not an OpenAI function list"):
        import_function_list(path)


async def test_calling_a_function_without_endpoint_is_a_tool_error() -> None:
    report = import_function_list(FUNCTIONS)
    weather = build_tool(report.tools[0], report.config, {})
    with pytest.raises(ToolError, match="'get_weather' has no endpoint"):
        await weather({"city": "Oslo"})
    with pytest.raises(ToolError, match="bad arguments"):
        await weather({"city": "Oslo", "units": "kelvin"})
    flight = build_tool(report.tools[1], report.config, {})
    with pytest.raises(ToolError, match=r"(?s)bad arguments.*arguments.route: missing required"):
        await flight({"route": {"from": "OSL"}})


async def test_a_configured_endpoint_gets_the_arguments_posted(server: FakeOpenAI) -> None:
    server.script = lambda req: Reply(body={"temperature": 21, "city": req.body.get("city")})
    report = import_function_list(FUNCTIONS)
    config = ApiConfig(
        endpoints={"get_weather": f"{server.url}/weather"}, token=SecretStr("fn-secret-1")
    )
    weather = build_tool(report.tools[0], config, {})
    [observation] = await weather({"city": "Oslo", "units": "metric"})
    request = server.requests[-1]
    assert request.method == "POST" and request.path == "/v1/weather"
    assert request.body == {"city": "Oslo", "units": "metric"}
    assert request.headers["authorization"] == "Bearer fn-secret-1"
    assert json.loads(observation.text) == {"temperature": 21, "city": "Oslo"}
    assert observation.url == f"{server.url}/weather"
    assert observation.source_id.startswith("api:get_weather:")
    assert type(weather).cache_ttl == 0  # a POST is never served from the cache
    # without an endpoint of its own, a base URL gives <base>/<name>
    now = build_tool(report.tools[2], ApiConfig(base_url=server.url), {})
    await now({})
    assert server.requests[-1].path == "/v1/now" and server.requests[-1].body == {}
    assert "authorization" not in server.requests[-1].headers  # no secret, none sent
