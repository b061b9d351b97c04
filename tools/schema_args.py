"""Pydantic argument models built from a tool's JSON schema (imported tools).

A flat object schema of basic types becomes a `create_model` model (lax coercion, constraints,
enums). Anything else (nested objects, combinators, typed arrays of objects) gets a permissive
model that checks required keys, basic types and enums itself and keeps the arguments as given.
Either way `arguments(model)` gives back the arguments under their schema names.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

__all__ = ["PermissiveArgs", "args_model", "arguments", "schema_problems"]

_BASIC: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}
_CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_length",
    "maxItems": "max_length",
    "pattern": "pattern",
}
_MAX_PROBLEMS = 8


def _is_flat_property(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if any(key in schema for key in ("$ref", "anyOf", "oneOf", "allOf", "not")):
        return False
    kind = schema.get("type")
    if kind in _BASIC:
        return True
    if kind == "array":
        items = schema.get("items", {})
        return (
            isinstance(items, dict)
            and set(items) <= {"type", "description", "format"}
            and (items.get("type", "string") in _BASIC)
        )
    return False


def _is_flat(schema: dict[str, Any]) -> bool:
    properties = schema.get("properties", {})
    return (
        schema.get("type", "object") == "object"
        and isinstance(properties, dict)
        and not any(key in schema for key in ("anyOf", "oneOf", "allOf", "patternProperties"))
        and all(_is_flat_property(p) for p in properties.values())
        and all(isinstance(r, str) and r in properties for r in schema.get("required", []))
    )


def _annotation(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        item = _BASIC[schema.get("items", {}).get("type", "string")]
        annotation: Any = list[item]  # type: ignore[valid-type]
    elif isinstance(schema.get("enum"), list) and schema["enum"] and kind in _BASIC:
        annotation = Literal[tuple(schema["enum"])]
    else:
        annotation = _BASIC[str(kind)]
    if schema.get("nullable") is True:
        annotation = annotation | None
    return annotation


def _field(schema: dict[str, Any], alias: str, required: bool) -> tuple[Any, Any]:
    options: dict[str, Any] = {"alias": alias}
    if isinstance(schema.get("description"), str):
        options["description"] = schema["description"]
    for key, option in _CONSTRAINTS.items():
        value = schema.get(key)
        if isinstance(value, bool):  # OpenAPI 3.0 boolean exclusive bounds: not mapped
            continue
        if option == "pattern":
            if isinstance(value, str) and _compiles(value):
                options[option] = value
        elif isinstance(value, int | float):
            options[option] = value
    annotation = _annotation(schema)
    if required:
        return annotation, Field(..., **options)
    return annotation | None, Field(None, **options)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _model_name(tool: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", tool) if p) + "Args"


def args_model(tool: str, schema: dict[str, Any]) -> type[BaseModel]:
    """The arguments model of `tool` for the JSON object `schema` (already $ref-resolved)."""
    extra: Literal["forbid", "allow"] = (
        "forbid" if schema.get("additionalProperties") is False else "allow"
    )
    doc = f"Arguments of the imported tool {tool!r}."
    if not _is_flat(schema):
        return _permissive_model(tool, schema, doc)
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {
        f"f{i}": _field(prop, name, name in required)
        for i, (name, prop) in enumerate(schema.get("properties", {}).items())
    }
    return create_model(
        _model_name(tool), __config__=ConfigDict(extra=extra), __doc__=doc, **fields
    )


class PermissiveArgs(BaseModel):
    """Arguments checked against `schema` by `schema_problems`, kept as given."""

    model_config = ConfigDict(extra="allow")
    schema_of_args: ClassVar[dict[str, Any]] = {}

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        problems = schema_problems(data, cls.schema_of_args)
        if problems:
            raise ValueError("; ".join(problems))
        return data


def _permissive_model(tool: str, schema: dict[str, Any], doc: str) -> type[BaseModel]:
    namespace = {"__module__": __name__, "__doc__": doc, "schema_of_args": schema}
    return cast(type[BaseModel], type(_model_name(tool), (PermissiveArgs,), namespace))


def arguments(args: BaseModel) -> dict[str, Any]:
    """The validated arguments under their schema names, without the ones not given."""
    return args.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "null":
        return value is None
    return True  # an unknown type name constrains nothing


def schema_problems(value: Any, schema: Any, where: str = "arguments") -> list[str]:
    """What is wrong with `value` for `schema`: types, enums, required and unknown keys, items
    and the anyOf/oneOf/allOf combinators (nothing else of JSON schema is checked)."""
    if not isinstance(schema, dict):
        return []
    problems: list[str] = []
    if value is None and schema.get("nullable") is True:
        return []
    kinds = schema.get("type")
    if isinstance(kinds, str):
        kinds = [kinds]
    if isinstance(kinds, list) and kinds and not any(_type_ok(value, str(k)) for k in kinds):
        return [f"{where}: expected {' or '.join(map(str, kinds))}, got {type(value).__name__}"]
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        problems.append(f"{where}: {value!r} is not one of {enum!r}")
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if (
            isinstance(options, list)
            and options
            and all(schema_problems(value, option, where) for option in options)
        ):
            problems.append(f"{where}: matches none of the {key} alternatives")
    for option in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
        problems += schema_problems(value, option, where)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        properties = properties if isinstance(properties, dict) else {}
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}: missing required {name!r}")
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                problems += schema_problems(item, properties[name], f"{where}.{name}")
            elif extra is False:
                problems.append(f"{where}: unknown key {name!r}")
            elif isinstance(extra, dict):
                problems += schema_problems(item, extra, f"{where}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{where}[{i}]")
            if len(problems) >= _MAX_PROBLEMS:
                break
    elif isinstance(value, str | int | float):
        problems += _bounds(value, schema, where)
    return problems[:_MAX_PROBLEMS]


def _bounds(value: str | int | float, schema: dict[str, Any], where: str) -> list[str]:
    if isinstance(value, str):
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(low, int) and len(value) < low:
            return [f"{where}: shorter than {low} characters"]
        if isinstance(high, int) and len(value) > high:
            return [f"{where}: longer than {high} characters"]
        return []
    if isinstance(value, bool):
        return []
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and not isinstance(low, bool) and value < low:
        return [f"{where}: less than {low}"]
    if isinstance(high, int | float) and not isinstance(high, bool) and value > high:
        return [f"{where}: more than {high}"]
    return []
