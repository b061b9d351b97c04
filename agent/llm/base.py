"""The `ChatModel` seam: one small async interface that every backend implements."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

Role = Literal["system", "user", "assistant"]
T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


def system(content: str) -> Message:
    return Message("system", content)


def user(content: str) -> Message:
    return Message("user", content)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls
        self.seconds += other.seconds


@dataclass
class Completion:
    """What one model call returned: raw text, the parsed object when a schema was given."""

    text: str
    usage: Usage = field(default_factory=Usage)
    parsed: BaseModel | None = None
    finish_reason: str | None = None


LOOP_SPAN = 120
"""Characters a reply must repeat verbatim to count as stuck in a loop."""


def repeats_itself(text: str, span: int = LOOP_SPAN) -> bool:
    """Whether `text` ends in a loop: its last `span` characters occurred before, and the
    stretch from there on repeats the stretch before it word for word (a small model copying
    the same sentence over and over; it would go on to `max_tokens`). Rows of a table that
    share a long constant part (a URL, the keys) differ elsewhere and are no loop."""
    if len(text) < 2 * span:
        return False
    at = text.rfind(text[-span:], 0, len(text) - span)
    if at < 0:
        return False
    period = len(text) - span - at
    return len(text) >= 2 * period and text[-period:] == text[-2 * period : -period]


class ModelError(RuntimeError):
    """A model backend failed (unreachable, bad response, exhausted retries)."""


class StructuredOutputError(ModelError):
    """The model's reply could not be turned into the requested schema, even after repair."""

    def __init__(
        self, message: str, raw: str = "", usage: Usage | None = None, *, cut_off: bool = False
    ) -> None:
        super().__init__(message)
        self.raw = raw
        self.usage = usage or Usage()  # what the failed attempts cost
        self.cut_off = cut_off
        """The reply was cut (at `max_tokens`, or looping): `raw` holds it as far as it got."""


class ChatModel(abc.ABC):
    """An LLM that chats. `complete` returns text, or a validated pydantic object with `schema`.

    Backends implement `_generate` (one raw call, optionally constrained to a JSON schema) and
    `stream`; structured output, repair and the one corrective retry live in `complete`.
    """

    name: str = "model"

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: type[BaseModel] | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        if schema is None:
            return await self._generate(
                messages,
                json_schema=None,
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop,
            )
        from agent.llm.repair import complete_structured

        return await complete_structured(
            self, messages, schema, max_tokens=max_tokens, temperature=temperature
        )

    async def parse(
        self,
        messages: Sequence[Message],
        schema: type[T],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> tuple[T, Usage]:
        """Typed shortcut for `complete(..., schema=...)`."""
        result = await self.complete(
            messages, schema=schema, max_tokens=max_tokens, temperature=temperature
        )
        assert isinstance(result.parsed, schema)
        return result.parsed, result.usage

    @abc.abstractmethod
    async def _generate(
        self,
        messages: Sequence[Message],
        *,
        json_schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        """One call. With `json_schema`, constrain decoding to it where the backend can."""

    @abc.abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> AsyncIterator[str]:
        """Yield text deltas as they are generated."""

    async def check(self) -> None:  # noqa: B027 - optional hook
        """Fail fast with a ModelError when the model cannot be used (missing weights, server
        unreachable). Called once before a run starts."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release resources (HTTP clients, loaded weights)."""
