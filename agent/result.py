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

    def table_csv(self) -> str:
        """The table as CSV, headed by its columns ("" when the answer has no table)."""
        import csv
        import io

        if not self.table and not self.table_columns:
            return ""
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=self.table_header(), extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(self.table or [])
        return buffer.getvalue()

    def table_markdown(self) -> str:
        """The table as one markdown table ("" when the answer has no table)."""
        from agent.wide.render import markdown_table

        if not self.table and not self.table_columns:
            return ""
        columns = self.table_header()
        rows = [{c: str(row.get(c, "")) for c in columns} for row in self.table or []]
        return markdown_table(columns, rows) + "\n"

    def table_header(self) -> list[str]:
        """The table's columns: the planned ones, else the first row's keys."""
        return self.table_columns or list((self.table or [{}])[0])
