"""A result's table written out as CSV or Markdown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from agent.result import ResearchResult

ExportFormat = Literal["csv", "md"]


def export_table(result: ResearchResult, folder: Path, fmt: ExportFormat) -> Path:
    """Write the table to `folder/<question words>-<run id>.<fmt>`; returns the path."""
    if not result.table:
        raise ValueError("this answer has no table to export")
    folder.mkdir(parents=True, exist_ok=True)
    stem = "-".join(re.findall(r"[a-z0-9]+", result.question.lower())[:6]) or "table"
    path = folder / f"{stem}-{result.run_id}.{fmt}"
    path.write_text(result.table_csv() if fmt == "csv" else result.table_markdown(), "utf-8")
    return path
