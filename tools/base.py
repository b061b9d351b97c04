"""The `Tool` seam: a name, a description, typed arguments and an async call that observes."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationError

from tools.cards import ToolCard, ToolExample


class Observation(BaseModel):
    """What a tool saw: text from a source with a stable id and URL, so it can be cited."""

    source_id: str = Field(description="stable id of the source, e.g. 'wiki:Paris'")
    url: str = ""
    title: str = ""
    text: str
    score: float | None = None
    start: int | None = None
    end: int | None = None
    context: str = ""
    """Where the text sits in its source (section path; a table's caption and columns): shown
    beside the text, never part of it (`text` is exactly the source's `start:end`)."""


class ToolError(RuntimeError):
    """A tool could not do what was asked (bad arguments, unknown document, backend down)."""


class Tool(abc.ABC):
    """Subclasses set `name`, `description`, `Args` and implement `run`."""

    name: ClassVar[str]
    description: ClassVar[str]
    Args: ClassVar[type[BaseModel]]
    examples: ClassVar[list[dict[str, Any]]] = []
    """Example argument dicts (each must validate against `Args`)."""
    source: ClassVar[str] = "builtin"
    tags: ClassVar[tuple[str, ...]] = ()
    cache_ttl: ClassVar[float | None] = None
    """Seconds a result stays valid in the tool-result cache: None = the cache's default,
    0 = never cached (results that depend on "now")."""

    def cache_scope(self) -> str:
        """Extra cache-key text: whatever besides the arguments decides the result (e.g. the
        version of the indexed corpora), so a changed source never serves a stale result."""
        return ""

    def source_status(
        self, source_id: str, start: int | None, end: int | None, text: str | None
    ) -> bool | None:
        """Whether a source this tool cites still says what was read from it: True (the
        source holds `text` at `start:end`, or exists when no span was kept), False (it was
        removed or changed since), None (not this tool's source, or it cannot tell). Facts
        recalled from the knowledge cache whose source some tool calls False are not used."""
        return None

    def validate_args(self, arguments: dict[str, Any] | BaseModel) -> BaseModel:
        if isinstance(arguments, self.Args):
            return arguments
        try:
            return self.Args.model_validate(arguments)
        except ValidationError as error:
            raise ToolError(f"bad arguments for tool {self.name!r}: {error}") from error

    async def __call__(self, arguments: dict[str, Any] | BaseModel) -> list[Observation]:
        return await self.run(self.validate_args(arguments))

    @abc.abstractmethod
    async def run(self, args: Any) -> list[Observation]:
        """Do the work for validated `args`."""

    @classmethod
    def card(cls) -> ToolCard:
        """The tool card: what the tool retriever indexes and the model sees (a class method:
        a builtin tool's card needs no store)."""
        return ToolCard(
            name=cls.name,
            description=cls.description,
            parameters=cls.Args.model_json_schema(),
            examples=[ToolExample(arguments=example) for example in cls.examples],
            source=cls.source,
            tags=list(cls.tags),
        )


class ToolRegistry:
    """Holds tools by name; any size."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise ToolError(
                f"unknown tool {name!r}; known: {', '.join(sorted(self._tools))}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        return list(self._tools)
