"""The `scripted` backend: replays canned replies. For unit tests of control flow only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from agent.llm.base import ChatModel, Completion, Message, ModelError, Usage


@dataclass(frozen=True)
class CutOff:
    """A scripted reply that stopped before it was done (finish reason "length")."""

    text: str


Reply = str | dict[str, Any] | BaseModel | CutOff | Callable[[Sequence[Message]], str]


class ScriptedChatModel(ChatModel):
    """Returns `replies` in order; each reply is text, a dict/model (sent as JSON), or a function
    of the messages. `calls` records every prompt it was given."""

    def __init__(self, replies: Sequence[Reply] = (), *, name: str = "scripted") -> None:
        self.name = name
        self._replies = list(replies)
        self.calls: list[list[Message]] = []
        self.last_usage = Usage()

    def push(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    @property
    def remaining(self) -> int:
        return len(self._replies)

    def _next(self, messages: Sequence[Message]) -> str | CutOff:
        self.calls.append(list(messages))
        if not self._replies:
            raise ModelError(f"{self.name}: no scripted reply left for call {len(self.calls)}")
        reply = self._replies.pop(0)
        if isinstance(reply, CutOff):
            return reply
        if callable(reply):
            return reply(messages)
        if isinstance(reply, BaseModel):
            return reply.model_dump_json()
        if isinstance(reply, dict):
            return json.dumps(reply)
        return reply

    async def _generate(
        self,
        messages: Sequence[Message],
        *,
        json_schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        reply = self._next(messages)
        text = reply.text if isinstance(reply, CutOff) else reply
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        return Completion(
            text=text,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=len(text.split()), calls=1),
            finish_reason="length" if isinstance(reply, CutOff) else "stop",
        )

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> AsyncIterator[str]:
        reply = self._next(messages)
        text = reply.text if isinstance(reply, CutOff) else reply
        self.last_usage = Usage(
            prompt_tokens=sum(len(m.content.split()) for m in messages),
            completion_tokens=len(text.split()),
            calls=1,
        )
        words = text.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "
