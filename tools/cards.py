"""Tool cards: what a tool retriever indexes and a model reads about a tool."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ToolCard", "ToolExample"]


class ToolExample(BaseModel):
    """One example call: a request in words (may be empty) and the arguments that answer it."""

    model_config = ConfigDict(extra="forbid")

    query: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolCard(BaseModel):
    """A tool's name, description, JSON-schema parameters, examples and origin."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON schema of the arguments (an object schema)",
    )
    examples: list[ToolExample] = Field(default_factory=list)
    source: str = Field("builtin", description="'builtin', 'openapi:<file>' or 'functions:<file>'")
    tags: list[str] = Field(default_factory=list)
