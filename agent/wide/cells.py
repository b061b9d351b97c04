"""One entity's cells: the goal-relevant lines of its document, a schema-constrained extraction
call, and the checks that keep only values the document states.

The excerpt is small on purpose (the lines whose labels match each column, then the lines that
share the column's words, then the document's opening): a 1.5B model copies values well from a
short excerpt and badly from a long page. The extraction schema is built per table: numbers are
JSON numbers (declared as strings, small models emit junk like "]1505"), text is a string, a
value the excerpt does not state is null. Every value is then grounded in the excerpt: a value
the document does not hold is replaced by the matching field's own value, or left empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, create_model

from agent.wide.compare import read_date
from agent.wide.fields import (
    DocField,
    best_fields,
    first_number,
    fold,
    format_number,
    mentions,
    numbers_in,
    words,
)
from agent.wide.table_plan import Column

MAX_EXCERPT = 1000
LINES_PER_COLUMN = 2
_EMAIL = re.compile(r"\s*<[^<>@\s]+@[^<>\s]+>")


@dataclass
class Excerpt:
    """The lines shown to the extractor, with their spans in the document."""

    lines: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line for line, _, _ in self.lines)

    def add(self, line: str, start: int, end: int) -> bool:
        line = " ".join(line.split())
        if not line or any(line == have for have, _, _ in self.lines):
            return False
        if len(self.text) + len(line) + 1 > MAX_EXCERPT:
            return False
        self.lines.append((line[:400], start, end))
        return True

    def span_of(self, value: str) -> tuple[int | None, int | None]:
        """The span of the first excerpt line that states `value`."""
        wanted = fold(value)
        for line, start, end in self.lines:
            if wanted and wanted in fold(line):
                return start, end
        return None, None

    def span_of_number(self, number: float) -> tuple[int | None, int | None]:
        """The span of the first excerpt line stating `number` in any written form."""
        for line, start, end in self.lines:
            if any(abs(n - number) <= 0.005 * abs(n or 1) for n in numbers_in(line)):
                return start, end
        return None, None


def field_name(index: int, column: Column) -> str:
    slug = "_".join(words(re.sub(r"\([^)]*\)", " ", column.name)))[:30] or "value"
    return f"{slug}_{index}" if not slug[0].isalpha() else slug


def extraction_schema(columns: list[Column]) -> tuple[type[BaseModel], dict[str, Column]]:
    """A pydantic model with one nullable field per column, typed by the column's type."""
    names: dict[str, Column] = {}
    definitions: dict[str, Any] = {}
    for index, column in enumerate(columns):
        name = field_name(index, column)
        while name in names:
            name = f"{name}_{index}"
        names[name] = column
        kind: Any = float | None if column.type == "number" else str | None
        described = column.name + (f": {column.description}" if column.description else "")
        definitions[name] = (kind, Field(description=described[:200]))
    return create_model("Cells", **definitions), names


def build_excerpt(title: str, text: str, fields: list[DocField], columns: list[Column]) -> Excerpt:
    """Title, then per column its best-matching labelled lines, then lines sharing the
    column's words, then the document's opening lines, within MAX_EXCERPT characters."""
    excerpt = Excerpt()
    excerpt.add(f"Title: {title}", -1, -1)
    for column in columns:
        for match in best_fields(fields, column.name, column.description, LINES_PER_COLUMN):
            item = match.field
            excerpt.add(f"{item.path}: {item.full_value}", item.start, item.end)
    lines = _lines(text)
    for column in columns:
        wanted = set(words(f"{column.name} {column.description}"))
        scored = sorted(
            ((len(wanted & set(words(line))), i) for i, (line, _, _) in enumerate(lines)),
            key=lambda t: (-t[0], t[1]),
        )
        for overlap, i in scored[:LINES_PER_COLUMN]:
            if overlap:
                excerpt.add(*lines[i])
    for line in lines[:4]:
        excerpt.add(*line)
    return excerpt


def _lines(text: str) -> list[tuple[str, int, int]]:
    out = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        body = raw.strip()
        if body:
            start = offset + raw.find(body[0])
            out.append((body, start, start + len(body)))
        offset += len(raw)
    return out


# --- grounding and normalisation -------------------------------------------------------------


def ground_number(value: float | None, excerpt: str) -> float | None:
    """`value` if the excerpt states that number (scaled forms like "1.3 million" count)."""
    if value is None:
        return None
    for stated in numbers_in(excerpt):
        if stated == value or (stated and abs(stated - value) <= 0.005 * abs(stated)):
            return stated
    return None


def ground_text(value: str | None, excerpt: str) -> str | None:
    """`value` (trimmed) if the excerpt holds it as whole words ("fr" is not in "from")."""
    if value is None:
        return None
    value = " ".join(str(value).split()).strip(" ;,")
    if not value:
        return None
    return value if mentions(excerpt, value) >= 0 else None


def related_lines(excerpt: Excerpt, column: Column) -> str:
    """The excerpt's lines that can state `column`: those sharing a word with its name, or
    labelled with a word of its description ("Short description: ..." for a birth year
    "as given in the short description"). A number on an unrelated line (an area in a
    country's lead, for its population) is not the column's value."""
    name = set(words(re.sub(r"\([^)]*\)", " ", column.name))) or set(words(column.name))
    hint = set(words(column.description))
    kept = []
    for line, _, _ in excerpt.lines:
        label, sep, _ = line.partition(": ")
        line_words = set(words(line))
        if name & line_words or (sep and len(label) <= 60 and hint & set(words(label))):
            kept.append(line)
    return "\n".join(kept)


def parse_date(text: str) -> str | None:
    """An ISO date from "11 August 1960", "Aug. 11, 1960", "1960-08-11"; None otherwise."""
    date = read_date(text)
    return date.isoformat() if date else None


_TEMPLATE_PART = {"YYYY": r"\d{4}", "YY": r"\d{2}", "MM": r"\d{1,2}", "DD": r"\d{1,2}",
                  "HH": r"\d{1,2}", "SS": r"\d{2}"}  # fmt: skip
_TEMPLATE = re.compile(
    r"(?<![A-Za-z])(?:YYYY|YY|MM|DD|HH|SS)(?:[-/:. T](?:YYYY|YY|MM|DD|HH|SS))+(?![A-Za-z])",
    re.IGNORECASE,
)


@lru_cache(maxsize=128)
def format_template(description: str) -> re.Pattern[str] | None:
    """The shape a column's description asks its values in, where it writes one as a template
    of date and time parts ("YYYY-MM-DD HH:MM:SS", "DD/MM/YYYY", "HH:MM"): a pattern for the
    digits it stands for, else None."""
    match = _TEMPLATE.search(description)
    if match is None:
        return None
    parts = re.split(r"([-/:. T])", match.group(0))
    body = "".join(
        _TEMPLATE_PART[part.upper()] if part.upper() in _TEMPLATE_PART else re.escape(part)
        for part in parts
    )
    return re.compile(rf"(?<!\d){body}(?!\d)")


def in_template(column: Column, value: str) -> str:
    """The part of a text value in the shape the column's description asks for, where the value
    holds one and more ("2024-05-06 10:00:03 7c1f9a..." -> "2024-05-06 10:00:03")."""
    pattern = format_template(column.description)
    if pattern is None:
        return value
    match = pattern.search(value)
    return match.group(0) if match else value


def normalise(column: Column, value: str) -> str:
    """A cell in the requested format: plain numbers, ISO dates, names without addresses, a
    value cut to the written shape the column asks for."""
    value = " ".join(value.split())
    if column.type == "text":
        value = in_template(column, value)
    if column.type == "number":
        number = first_number(value)
        return format_number(number) if number is not None else value
    if column.type == "date":
        return parse_date(value) or value
    if "e-mail" in column.description.lower() or "email" in column.description.lower():
        stripped = _EMAIL.sub("", value).strip()
        return stripped or value
    return value


def field_fallback(column: Column, fields: list[DocField]) -> tuple[str, DocField] | None:
    """The value of the field whose label answers the column outright (all of the column's
    words in the label), when the model gave nothing usable."""
    matches = best_fields(fields, column.name, column.description, 1, min_score=1.0)
    if not matches:
        return None
    item = matches[0].field
    value = item.value or (item.children[0].value if item.children else "")
    if not value:
        return None
    if column.type == "number":
        number = first_number(value)
        return (format_number(number), item) if number is not None else None
    return value, item


_TRAILING_MEASURE = re.compile(r"\s[-\u2212]?\d[\d,.]*\s*[A-Za-z%]{0,3}\s*$")


def label_answer(column: Column, fields: list[DocField]) -> tuple[str, DocField] | None:
    """The column's value when the document has exactly one field labelled like the column
    (its words, units aside: "Installed Size (KiB)" -> "Installed size") whose value already
    has the column's form: a number, a date, a URL, or one plain text value (not "Djourab
    160 m", which mixes a name with a measurement). Such a cell needs no model call."""
    wanted = words(re.sub(r"\([^)]*\)", " ", column.name))
    if not wanted:
        return None
    found = [f for f in fields if words(f.label) == wanted]
    values = {(f.value or (f.children[0].value if f.children else "")).strip() for f in found}
    if len(found) == 0 or len(values) != 1:
        return None
    item = found[0]
    value = values.pop()
    if not value:
        return None
    if column.type == "number":
        number = first_number(value)
        return (format_number(number), item) if number is not None else None
    if column.type == "date":
        date = parse_date(value)
        return (date, item) if date else None
    if column.type == "url":
        return (value, item) if re.search(r"://|^www\.", value) else None
    if len(value) > 120 or _TRAILING_MEASURE.search(value):
        return None
    return normalise(column, value), item
