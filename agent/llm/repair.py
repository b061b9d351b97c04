"""Turn what small models actually emit into validated objects.

Handles `<think>` blocks, fenced JSON, leading or trailing prose, and schema violations (one
retry that shows the model its validation error), then raises a clear `StructuredOutputError`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from agent.llm.base import Completion, Message, StructuredOutputError, Usage

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from agent.llm.base import ChatModel

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def strip_think(text: str) -> str:
    return _THINK.sub("", text).strip()


def extract_json(text: str) -> Any:
    """Return the first JSON value found in `text` (fenced, bare, or followed by prose)."""
    text = strip_think(text)
    candidates = [m.group(1).strip() for m in _FENCE.finditer(text)]
    candidates.append(text)
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for start, ch in enumerate(candidate):
            if ch not in "{[":
                continue
            try:
                value, _ = decoder.raw_decode(candidate[start:])
            except json.JSONDecodeError:
                continue
            return value
    raise ValueError("no JSON object found in the reply")


def parse_reply(text: str, schema: type[BaseModel]) -> BaseModel:
    """Parse and validate; raises ValueError or ValidationError with a readable message."""
    value = extract_json(text)
    return schema.model_validate(value)


def json_schema_for(schema: type[BaseModel]) -> dict[str, Any]:
    """A self-contained JSON schema (no $refs) that grammar compilers and servers accept."""
    raw = schema.model_json_schema()
    defs = raw.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                return inline(dict(defs[name]))
            return {k: inline(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline(raw)
    return result


CUT_OFF = frozenset({"length", "repetition"})
"""Finish reasons of a reply that stopped before it was done."""


def partial_object(text: str) -> dict[str, Any]:
    """The fields of a JSON object reply that was cut off part way: every complete key and
    value, and a string value cut inside, as far as it got. Empty when `text` is no object."""
    text = strip_think(text).strip()
    if not text.startswith("{"):
        return {}
    decoder = json.JSONDecoder()
    fields: dict[str, Any] = {}
    pos = 1
    while True:
        pos = _skip(text, pos, " \t\r\n,")
        if pos >= len(text) or text[pos] != '"':
            return fields
        try:
            key, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return fields
        pos = _skip(text, pos, " \t\r\n")
        if pos >= len(text) or text[pos] != ":":
            return fields
        pos = _skip(text, pos + 1, " \t\r\n")
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            if text[pos : pos + 1] == '"':
                fields[key] = _cut_string(text[pos + 1 :])
            return fields
        fields[key] = value


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _cut_string(body: str) -> str:
    """A JSON string's content cut before its closing quote, unescaped as far as it goes."""
    for end in range(len(body), max(-1, len(body) - 8), -1):  # an escape cut in half
        try:
            value: str = json.loads(f'"{body[:end]}"')
            return value
        except json.JSONDecodeError:
            continue
    return body


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        parts = []
        for e in error.errors()[:5]:
            loc = ".".join(str(p) for p in e["loc"]) or "(root)"
            parts.append(f"{loc}: {e['msg']}")
        return "; ".join(parts)
    return str(error)


async def complete_structured(
    model: ChatModel,
    messages: Sequence[Message],
    schema: type[BaseModel],
    *,
    max_tokens: int,
    temperature: float,
) -> Completion:
    """Constrained call, repair, one corrective retry, then a clear error."""
    js = json_schema_for(schema)
    usage = Usage()
    convo = list(messages)
    last_text = ""
    last_error: Exception | None = None
    for _attempt in range(2):
        result = await model._generate(
            convo, json_schema=js, max_tokens=max_tokens, temperature=temperature
        )
        usage.add(result.usage)
        last_text = result.text
        try:
            parsed = parse_reply(result.text, schema)
        except (ValueError, ValidationError) as error:
            if result.finish_reason in CUT_OFF:
                # asked again with the same budget it would be cut again, at twice the cost
                raise StructuredOutputError(
                    f"{model.name}'s {schema.__name__} reply was cut off "
                    f"({result.finish_reason}) after {result.usage.completion_tokens} tokens",
                    raw=result.text,
                    usage=usage,
                    cut_off=True,
                ) from error
            last_error = error
            log.debug("%s: invalid %s reply, asking again: %s", model.name, schema.__name__,
                      _describe(error))  # fmt: skip
            convo = [
                *messages,
                Message("assistant", result.text[:2000]),
                Message(
                    "user",
                    "That reply was not valid: "
                    + _describe(error)
                    + ". Reply again with only a JSON object that follows this schema: "
                    + json.dumps(js),
                ),
            ]
            continue
        return Completion(
            text=result.text, usage=usage, parsed=parsed, finish_reason=result.finish_reason
        )
    raise StructuredOutputError(
        f"{model.name} did not return a valid {schema.__name__} after a retry: "
        f"{_describe(last_error) if last_error else 'unknown error'}",
        raw=last_text,
        usage=usage,
    )
