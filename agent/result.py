"""The public result of a run."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.events import Event


class Citation(BaseModel):
    n: int = Field(description="the number used in the answer text, [n]")
    source_id: str
    url: str = ""
    title: str = ""


class RunUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    steps: int = 0
    cache_hits: int = Field(
        0, description="tool results, fact recalls and answers served by the knowledge cache"
    )


class Timings(BaseModel):
    wall_seconds: float = 0.0
    model_seconds: float = 0.0
    tool_seconds: float = 0.0
    framework_seconds: float = Field(0.0, description="wall time not spent in models or tools")


class ResearchResult(BaseModel):
    run_id: str
    question: str
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    usage: RunUsage = Field(default_factory=RunUsage)
    timings: Timings = Field(default_factory=Timings)
    stop_reason: str = "answered"
    reused_from: str | None = Field(
        None, description="the earlier run whose stored answer this run returned"
    )
    table: list[dict[str, Any]] | None = Field(
        None, description="wide questions: the table's rows, {column: value}, in table order"
    )
    table_columns: list[str] = Field(
        default_factory=list, description="wide questions: the table's columns, in order"
    )
