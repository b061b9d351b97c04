"""Reading a document by its structure: its outline, one whole section, one whole table.

Shared by the corpus `read` tool, `read_url` and the web-and-corpus `read`: they fetch a
document's text and `DocumentStructure` their own way and call `structured_read`, which answers
the `outline`, `section` and `table` arguments of `StructureArgs` with observations that cite
spans of the document text (an outline cites the document without a span).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from retriever.structure import PATH_SEPARATOR, DocumentStructure
from tools.base import Observation, ToolError

__all__ = ["FULL_TEXT_LIMIT", "StructureArgs", "structured_read", "wants_structure"]

FULL_TEXT_LIMIT = 200_000
"""Characters of a document, section or table one read returns (the rest is cut, and says so)."""
OUTLINE_LINES = 200


class StructureArgs(BaseModel):
    """The arguments that read a document by its structure instead of by a goal."""

    outline: bool = Field(
        default=False,
        description="return the document's outline instead: its sections (with anchors) and "
        "a line per table (number, caption, columns, rows), list and definition list",
    )
    section: str | None = Field(
        default=None,
        max_length=300,
        description="return one whole section: its heading, its anchor, a heading number "
        "(e.g. '20.6') or a path like 'Chapter > Section'",
    )
    table: str | None = Field(
        default=None,
        max_length=300,
        description="return one whole table with its header: its number in the outline "
        "(e.g. '2') or words of its caption or column names",
    )

    @field_validator("section", "table", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value


def wants_structure(args: StructureArgs) -> bool:
    return bool(args.outline or args.section or args.table)


def structured_read(
    args: StructureArgs,
    *,
    source_id: str,
    url: str,
    title: str,
    text: str,
    structure: DocumentStructure,
) -> list[Observation]:
    """The observation `args` asks for (outline, a section or a table); `ToolError` naming
    what the document does have when the section or table is not found."""
    if args.outline:
        outline = structure.outline(OUTLINE_LINES) or "(no sections, tables or lists)"
        return [
            Observation(
                source_id=source_id,
                url=url,
                title=title,
                text=f"Outline of {title or source_id}:\n{outline}",
                context="outline",
            )
        ]
    if args.table:
        found_table = structure.find_table(args.table)
        if found_table is None:
            count = len(structure.tables())
            raise ToolError(
                f"no table {args.table!r} in {source_id} (it has {count} table"
                f"{'' if count == 1 else 's'}; read it with outline=true to see them)"
            )
        section, table = found_table
        context = [section.path_text] if section.path else []
        if table.caption:
            context.append(table.caption)
        return [_span(source_id, url, title, text, table.start, table.end, "\n".join(context))]
    assert args.section is not None
    found = structure.find_section(args.section)
    if found is None:
        headings = [s.heading for s in structure.sections()[:12]]
        have = "; ".join(headings) if headings else "no headings"
        raise ToolError(f"no section {args.section!r} in {source_id} (sections: {have})")
    return [
        _span(
            source_id, url, title, text, found.start, found.end, PATH_SEPARATOR.join(found.parents)
        )
    ]


def _span(
    source_id: str, url: str, title: str, text: str, start: int, end: int, context: str
) -> Observation:
    end = min(end, start + FULL_TEXT_LIMIT)
    while end > start and text[end - 1].isspace():
        end -= 1
    return Observation(
        source_id=source_id,
        url=url,
        title=title,
        text=text[start:end],
        start=start,
        end=end,
        context=context,
    )
