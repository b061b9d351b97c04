"""Argument models built from imported JSON schemas."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tools.schema_args import PermissiveArgs, args_model, arguments, schema_problems

FLAT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2, "description": "a city name"},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "units": {"type": "string", "enum": ["metric", "imperial"]},
        "hourly": {"type": "boolean"},
        "fields": {"type": "array", "items": {"type": "string"}},
        "X-Trace-Id": {"type": "string"},
        "model_config": {"type": "string"},
        "note": {"type": "string", "nullable": True},
    },
    "required": ["city"],
    "additionalProperties": False,
}

NESTED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "owner": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name"],
            "additionalProperties": False,
        },
        "ids": {"type": "array", "items": {"type": "integer"}},
        "when": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "kind": {"type": ["string", "null"], "enum": ["a", "b", None]},
    },
    "required": ["name"],
}


def validate(model: type[BaseModel], data: Any) -> dict[str, Any]:
    return arguments(model.model_validate(data))


def test_a_flat_schema_becomes_a_typed_model() -> None:
    model = args_model("weather.get", FLAT)
    assert not issubclass(model, PermissiveArgs) and model.__name__ == "WeatherGetArgs"
    given = {"city": "Oslo", "days": "3", "X-Trace-Id": "t", "model_config": "m", "note": None}
    assert validate(model, given) == {
        "city": "Oslo", "days": 3, "X-Trace-Id": "t", "model_config": "m", "note": None,
    }  # fmt: skip
    assert validate(model, {"city": "Oslo", "fields": ["a"], "hourly": True}) == {
        "city": "Oslo", "fields": ["a"], "hourly": True,
    }  # fmt: skip
    for bad in (
        {},
        {"city": "O"},
        {"city": "Oslo", "days": 15},
        {"city": "Oslo", "units": "kelvin"},
        {"city": "Oslo", "extra": 1},
        {"city": "Oslo", "fields": "a"},
        {"city_": "Oslo"},
    ):
        with pytest.raises(ValidationError):
            model.model_validate(bad)
    schema = model.model_json_schema()
    assert schema["properties"]["city"]["description"] == "a city name"


def test_an_open_flat_schema_keeps_unknown_keys() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    model = args_model("find", schema)
    assert not issubclass(model, PermissiveArgs)
    assert validate(model, {"q": "x", "page": 2}) == {"q": "x", "page": 2}


def test_a_nested_schema_gets_a_permissive_model_that_still_checks() -> None:
    model = args_model("pets", NESTED)
    assert issubclass(model, PermissiveArgs) and model.__name__ == "PetsArgs"
    ok = {"name": "Rex", "owner": {"name": "Ann", "age": 3}, "ids": [1, 2], "when": 5}
    assert validate(model, ok) == ok
    assert validate(model, {"name": "Rex", "kind": None, "other": 1})["other"] == 1
    cases = {
        "arguments: missing required 'name'": {},
        "arguments.name: expected string, got int": {"name": 3},
        "arguments.owner: missing required 'name'": {"name": "R", "owner": {}},
        "arguments.owner: unknown key 'x'": {"name": "R", "owner": {"name": "A", "x": 1}},
        "arguments.owner.age: expected integer, got bool": {
            "name": "R", "owner": {"name": "A", "age": True},
        },
        "arguments.ids[1]: expected integer, got str": {"name": "R", "ids": [1, "2"]},
        "arguments.when: matches none of the anyOf alternatives": {"name": "R", "when": [1]},
        "arguments.kind: 'c' is not one of ['a', 'b', None]": {"name": "R", "kind": "c"},
    }  # fmt: skip
    for message, data in cases.items():
        with pytest.raises(ValidationError) as caught:
            model.model_validate(data)
        assert message in str(caught.value), data


def test_schema_problems_bounds_and_nullable() -> None:
    schema = {"type": "integer", "minimum": 1, "maximum": 3}
    assert schema_problems(2, schema) == []
    assert schema_problems(2.0, schema) == []  # JSON schema: 2.0 is an integer
    assert schema_problems(0, schema) == ["arguments: less than 1"]
    assert schema_problems(4, schema) == ["arguments: more than 3"]
    assert schema_problems("ab", {"type": "string", "maxLength": 1}) == [
        "arguments: longer than 1 characters"
    ]
    assert schema_problems(None, {"type": "string", "nullable": True}) == []
    assert schema_problems(None, {"type": "string"}) == ["arguments: expected string, got NoneType"]
