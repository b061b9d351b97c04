"""Finding and reading the markdown table in a response, in two modes.

Official mode reproduces ``WideSearchResponse.extract_dataframe`` of the WideSearch evaluator
(``src/evaluation/data_loader.py``):

1. The table text is the content of the first fenced block opened exactly by three backticks
   followed by ``markdown`` (case-sensitive; a fence tagged ``md`` is not one). Without such a
   fence, when the response holds at least 4 ``|`` characters, the text from the line of the
   first ``|`` to the line of the last one is searched for the first run of lines that start
   with ``|`` (a run may also start mid-line at a ``|``).
2. The text is stripped and split into lines; the first line is lower-cased and loses its
   spaces; lines made only of ``| - :`` and spaces, and lines without ``|``, are dropped; every
   cell is stripped.
3. The lines are read with ``pandas.read_csv(sep="|")``, and columns whose name starts with
   ``Unnamed`` (the empty cells outside the outer pipes) are dropped.

Consequences kept on purpose: pandas' default missing-value strings (``""``, ``NA``, ``N/A``,
``nan``, ``NULL``, ``None``, ``-nan``, ...) become NaN, which later reads as the text ``"nan"``;
a column holding only integers and blanks becomes float, so ``1983`` reads ``"1983.0"``; a
cell that starts with a double quote loses its quotes; a row with more cells than the header
(a ``|`` inside a cell) raises, and the evaluator then scores the task 0; an empty fence or an
empty table raises too.

Strict mode (``strict=True``) parses markdown properly: the first fenced block (any or no
language tag) that holds a table, else the first run of lines starting with ``|``; ``\\|`` is an
escaped pipe; cells are kept as written (no missing-value conversion, no numeric re-typing);
the header is normalised as in official mode; a row whose cell count differs from the header's
is set aside as malformed (it counts as a wrong predicted row) instead of failing the task.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


class TableError(ValueError):
    """The response holds no usable table; the message is the reason reported."""


def norm_column(name: Any) -> str:
    """Normalise a header as the evaluator does: strip, lower-case, remove spaces."""
    return str(name).strip().lower().replace(" ", "")


# --------------------------------------------------------------------------------------------
# official mode

_MARKDOWN_FENCE = re.compile(r"```markdown(.*?)```", re.DOTALL)
_PIPE_RUN = re.compile(r"(?:\|.*\n?)+")
_SEPARATOR_CHARS = frozenset("|- :")


def official_table_text(response: str) -> str | None:
    """The raw table text the evaluator would pick, or ``None`` when it finds none."""
    fence = _MARKDOWN_FENCE.search(response)
    if fence is not None:
        return fence.group(1)
    if response.count("|") < 4:
        return None
    first, last = response.index("|"), response.rindex("|")
    start = max(response.rfind("\n", 0, first), 0)
    end = response.find("\n", last)
    window = response[start : len(response) if end == -1 else end]
    run = _PIPE_RUN.search(window)
    return run.group(0) if run is not None else None


def official_table_lines(table_text: str) -> str:
    """Clean the table text into ``|``-separated lines exactly as the evaluator does."""
    lines = table_text.strip().split("\n")
    lines[0] = lines[0].replace(" ", "").lower()
    kept: list[str] = []
    for raw in lines:
        line = raw.strip()
        if set(line) <= _SEPARATOR_CHARS or "|" not in line:
            continue
        kept.append("|".join(cell.strip() for cell in line.split("|")))
    return "\n".join(kept)


def read_table_official(response: str) -> pd.DataFrame:
    """The response's table as the evaluator's DataFrame (headers not yet normalised).

    Raises :class:`TableError` when no table text is found; pandas errors (an empty table, a
    ``|`` inside a cell) propagate, as they do in the evaluator.
    """
    text = official_table_text(response)
    if text is None:
        raise TableError("no markdown table found in the response")
    frame = pd.read_csv(io.StringIO(official_table_lines(text)), sep="|")
    keep = [not str(c).startswith("Unnamed") for c in frame.columns]
    return frame.loc[:, keep]


# --------------------------------------------------------------------------------------------
# strict mode

_ANY_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


@dataclass
class ParsedTable:
    """A markdown table as text: normalised headers, well-formed rows, malformed row numbers."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)  # 1-based data-row numbers

    @property
    def predicted_rows(self) -> int:
        return len(self.rows) + len(self.malformed)


def _is_separator(line: str) -> bool:
    return "-" in line and set(line) <= _SEPARATOR_CHARS


def split_row(line: str) -> list[str]:
    """Split one markdown table line on unescaped pipes; outer pipes are optional."""
    cells: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == "|":
            current.append("|")
            i += 2
            continue
        if ch == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    cells.append("".join(current))
    stripped = line.strip()
    if stripped.startswith("|"):
        cells = cells[1:]
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        cells = cells[:-1]
    return [c.strip() for c in cells]


def _pipe_block(lines: Sequence[str]) -> list[str]:
    block: list[str] = []
    for line in lines:
        if line.strip().startswith("|"):
            block.append(line.strip())
        elif block:
            break
    return block


def strict_table_lines(response: str) -> list[str]:
    """The lines of the first table: in a fenced block (any tag) first, else anywhere."""
    for fence in _ANY_FENCE.finditer(response):
        block = _pipe_block(fence.group(1).splitlines())
        if block:
            return block
    return _pipe_block(response.splitlines())


def read_table_strict(response: str) -> ParsedTable:
    """Parse the response's first markdown table; raises :class:`TableError` with a reason."""
    lines = strict_table_lines(response)
    if not lines:
        raise TableError("no markdown table found in the response")
    header = split_row(lines[0])
    if not any(header):
        raise TableError("the table header is empty")
    columns = [norm_column(h) for h in header]
    table = ParsedTable(columns=columns)
    body = lines[1:]
    if body and _is_separator(body[0]):
        body = body[1:]
    for number, line in enumerate(body, start=1):
        if _is_separator(line):
            continue
        cells = split_row(line)
        if len(cells) != len(columns):
            table.malformed.append(number)
        else:
            table.rows.append(cells)
    return table


# --------------------------------------------------------------------------------------------
# rendering


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return " ".join(str(value).splitlines()).replace("|", "\\|")


def render_markdown_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, fence: bool = True
) -> str:
    """Render a table as markdown (``|`` in a cell escaped, newlines folded to spaces).

    With ``fence`` the table is wrapped in a fenced block tagged ``markdown``, the form the
    WideSearch prompts ask for.
    """
    lines = ["| " + " | ".join(_cell_text(c) for c in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines.extend("| " + " | ".join(_cell_text(v) for v in row) + " |" for row in rows)
    body = "\n".join(lines)
    return f"```markdown\n{body}\n```" if fence else body
