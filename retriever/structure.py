"""The structure of a document: a tree of sections holding blocks, every part with its span.

A document's text is the one thing citations point into; its structure says what that text *is*:
sections (heading, level, anchor, the path of headings above), and in each section its blocks in
order: paragraphs, tables (header rows, body rows, caption), lists (nested items), definition
lists (term, description) and code. Every section, block, table row, list item and definition
carries `start`/`end`, offsets into the document text (`text[start:end]` is what it was read from),
so a row of a table or an entry of a list can be quoted and cited like any passage.

Parsers build structures two ways:

- over a text that already exists (plain text, Markdown, PDF text, JSONL `text` fields:
  `retriever.parse_text`) they give spans into that text and assemble sections with
  `SectionAssembler`;
- from markup (HTML: `retriever.parse_html`) they *render* the text with
  `DocumentRenderer`, which writes each block in a plain, readable form (`## Heading`,
  `cell | cell` rows, `- item`, `term: description`) and records the spans as it writes.

`DocumentStructure.to_json()` / `from_json()` store it (the corpus store keeps one per document).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "STRUCTURE_VERSION",
    "Block",
    "Code",
    "Definition",
    "DefinitionList",
    "DocumentRenderer",
    "DocumentStructure",
    "ListBlock",
    "ListItem",
    "Paragraph",
    "RenderedDocument",
    "Section",
    "SectionAssembler",
    "StructureError",
    "Table",
    "clean_lines",
    "column_names",
    "one_line",
    "passage_context",
    "slugify",
]

STRUCTURE_VERSION = 1
"""Version of the stored JSON form; `from_json` refuses other versions."""

PATH_SEPARATOR = " > "
"""Joins the headings of a section path when it is shown as one line."""

MAX_CELL_CHARS = 2_000
"""Longer table cells are cut (with '…') so one runaway cell cannot blow up a row."""


class StructureError(ValueError):
    """A stored structure that cannot be read (unknown version, malformed JSON)."""


# --- blocks ---------------------------------------------------------------------------------


@dataclass
class Paragraph:
    text: str
    start: int
    end: int
    kind: Literal["paragraph"] = "paragraph"


@dataclass
class Code:
    text: str
    start: int
    end: int
    language: str = ""
    kind: Literal["code"] = "code"


@dataclass
class Table:
    """A table: `header` holds the header rows (rowspan/colspan resolved: a spanning cell's text
    is repeated in every column and row it covers), `rows` the body rows, each padded to the
    same width; `row_spans[i]` is where body row `i` is in the text.

    `groups[i]` is the label of the group body row `i` falls under ("" for none): a group row is
    a line between body rows that labels the rows below it ("Class 12 — Widget Errors"; in HTML
    one cell spanning the whole row), written as a line of its own, not a row. `groups` is
    empty when the table has no group rows."""

    header: list[list[str]]
    rows: list[list[str]]
    start: int
    end: int
    caption: str = ""
    row_spans: list[tuple[int, int]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    kind: Literal["table"] = "table"

    @property
    def columns(self) -> list[str]:
        """One name per column: its header cells top-down, repeats and blanks dropped, joined
        with " / " (a two-row header "Size" over "Min", "Max" gives "Size / Min", "Size / Max")."""
        return column_names(self.header, self.width)

    @property
    def width(self) -> int:
        return max((len(row) for row in [*self.header, *self.rows]), default=0)

    def records(self) -> list[dict[str, str]]:
        """Body rows as {column name: cell} (columns without a name are "column N")."""
        names = [name or f"column {n}" for n, name in enumerate(self.columns, 1)]
        return [dict(zip(names, row, strict=False)) for row in self.rows]


@dataclass
class ListItem:
    text: str
    start: int
    end: int
    children: list[ListItem] = field(default_factory=list)


@dataclass
class ListBlock:
    items: list[ListItem]
    start: int
    end: int
    ordered: bool = False
    kind: Literal["list"] = "list"


@dataclass
class Definition:
    term: str
    description: str
    start: int
    end: int


@dataclass
class DefinitionList:
    entries: list[Definition]
    start: int
    end: int
    kind: Literal["definitions"] = "definitions"


Block = Paragraph | Table | ListBlock | DefinitionList | Code


# --- sections -------------------------------------------------------------------------------


@dataclass
class Section:
    """A heading and what follows it up to the next heading of the same or a higher level.

    The root section (level 0) has no heading and holds what comes before the first heading.
    `path` is the headings from the top down to this one (the root's is empty); `blocks` are
    this section's own blocks (not its subsections'), in text order."""

    heading: str
    level: int
    start: int
    end: int
    anchor: str = ""
    path: tuple[str, ...] = ()
    heading_end: int = -1
    """Where the heading line ends in the text (-1: no heading line, the root section)."""
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    @property
    def parents(self) -> tuple[str, ...]:
        return self.path[:-1]

    @property
    def path_text(self) -> str:
        return PATH_SEPARATOR.join(self.path)

    def walk(self) -> Iterator[Section]:
        """This section and every section below it, in text order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class DocumentStructure:
    """The sections and blocks of one document, with spans into its text."""

    root: Section
    title: str = ""
    read_from: Literal["", "text", "markdown"] = field(default="", compare=False)
    """How it was made: "text" or "markdown" when `retriever.parse_text` read it from the
    document's own text in that mode (so it can be read again from the text and need not be
    stored), "" when a parser of markup made it (HTML: only the stored structure has it)."""

    # -- walking --------------------------------------------------------------------------

    def sections(self) -> list[Section]:
        """Every section with a heading, in text order."""
        return [section for section in self.root.walk() if section.level > 0]

    def blocks(self) -> list[tuple[Section, Block]]:
        """Every block with the section it belongs to, in text order."""
        found = [(section, block) for section in self.root.walk() for block in section.blocks]
        found.sort(key=lambda item: item[1].start)
        return found

    def tables(self) -> list[tuple[Section, Table]]:
        """Every table with its section, in text order (table N is `tables()[N - 1]`)."""
        return [(s, b) for s, b in self.blocks() if isinstance(b, Table)]

    def section_at(self, offset: int) -> Section:
        """The innermost section whose span holds `offset` (the root if none does)."""
        current = self.root
        while True:
            for child in current.children:
                if child.start <= offset < child.end:
                    current = child
                    break
            else:
                return current

    def block_at(self, offset: int) -> tuple[Section, Block] | None:
        for section, block in self.blocks():
            if block.start <= offset < block.end:
                return section, block
        return None

    def counts(self) -> dict[str, int]:
        """How many sections and blocks of each kind the document has."""
        out = {"sections": len(self.sections()), "paragraph": 0, "table": 0, "list": 0,
               "definitions": 0, "code": 0}  # fmt: skip
        for _, block in self.blocks():
            out[block.kind] += 1
        return out

    # -- finding --------------------------------------------------------------------------

    def find_section(self, wanted: str) -> Section | None:
        """The section `wanted` names: its anchor (with or without '#'), its heading or path
        (case and spacing ignored; a path may be joined by '>' or '/'), a heading number
        ("20.6"), else the heading sharing the most words with `wanted`."""
        key = _norm(wanted.lstrip("#"))
        if not key:
            return None
        sections = self.sections()
        for section in sections:
            if section.anchor and _norm(section.anchor) == key:
                return section
        for section in sections:
            if _norm(section.heading) == key:
                return section
        parts = [_norm(p) for p in re.split(r"\s*[>/›»]\s*", wanted) if p.strip()]
        if len(parts) > 1:
            for section in sections:
                tail = [_norm(p) for p in section.path[-len(parts) :]]
                if tail == parts:
                    return section
        for section in sections:
            if _norm(section.heading).startswith(key + " ") or _norm(section.heading).startswith(
                key + ". "
            ):
                return section
        return _best_by_words(sections, wanted, lambda s: f"{s.heading} {s.anchor}")

    def find_table(self, wanted: int | str) -> tuple[Section, Table] | None:
        """Table number `wanted` (1-based, text order), or the table whose caption, column
        names and section path share the most words with `wanted`."""
        tables = self.tables()
        if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.strip().isdigit()):
            n = int(wanted)
            return tables[n - 1] if 1 <= n <= len(tables) else None
        return _best_by_words(
            tables,
            wanted,
            lambda item: f"{item[1].caption} {' '.join(item[1].columns)} {item[0].path_text}",
        )

    # -- showing --------------------------------------------------------------------------

    def outline(self, max_lines: int = 200) -> str:
        """The sections (indented by level, with anchors) and a line for each table, list and
        definition list, for a reader to pick a section or table by."""
        lines: list[str] = []
        table_number = 0
        for section in self.root.walk():
            indent = "  " * max(len(section.path) - 1, 0)
            if section.level > 0:
                anchor = f" [#{section.anchor}]" if section.anchor else ""
                lines.append(f"{indent}- {section.heading}{anchor}")
            inner = "  " * len(section.path)
            for block in section.blocks:
                if isinstance(block, Table):
                    table_number += 1
                    caption = f" {block.caption!r}" if block.caption else ""
                    columns = " | ".join(block.columns) or "no header"
                    lines.append(
                        f"{inner}table {table_number}{caption}: {columns} ({len(block.rows)} rows)"
                    )
                elif isinstance(block, ListBlock):
                    lines.append(f"{inner}list of {len(block.items)} items")
                elif isinstance(block, DefinitionList):
                    terms = ", ".join(entry.term for entry in block.entries[:3])
                    more = ", ..." if len(block.entries) > 3 else ""
                    lines.append(
                        f"{inner}definitions ({len(block.entries)}): {_clip(terms, 120)}{more}"
                    )
        if len(lines) > max_lines:
            hidden = len(lines) - max_lines
            lines = [*lines[:max_lines], f"... {hidden} more lines"]
        return "\n".join(lines)

    def context_of(self, offset: int) -> str:
        """What a passage starting at `offset` needs to be understood alone: its section path,
        and inside a table (after the header) the caption and the column names."""
        found = self.block_at(offset)
        return passage_context(self.section_at(offset), found[1] if found else None, offset)

    # -- storing --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"v": STRUCTURE_VERSION, "title": self.title, "root": _section_json(self.root)}

    @classmethod
    def from_json(cls, data: Any) -> DocumentStructure:
        if not isinstance(data, dict) or data.get("v") != STRUCTURE_VERSION:
            version = data.get("v") if isinstance(data, dict) else type(data).__name__
            raise StructureError(f"unknown document structure version {version!r}")
        try:
            return cls(root=_section_from(data["root"], ()), title=str(data.get("title", "")))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise StructureError(f"malformed document structure: {error!r}") from error

    @classmethod
    def empty(cls, length: int, title: str = "") -> DocumentStructure:
        return cls(root=Section(heading="", level=0, start=0, end=length), title=title)


# --- helpers --------------------------------------------------------------------------------


def passage_context(section: Section, block: Block | None, offset: int) -> str:
    """The context of a passage starting at `offset` in `block` of `section`: the section path,
    and for a table passage below the header the caption and the column names."""
    lines = [section.path_text] if section.path else []
    if isinstance(block, Table) and block.row_spans and offset >= block.row_spans[0][0]:
        if block.caption:
            lines.append(block.caption)
        if block.header:
            lines.append(" | ".join(block.columns))
    return "\n".join(lines)


def _line_offsets(start: int, lines: Sequence[str]) -> list[int]:
    """Where each of `lines`, joined by newlines from `start`, begins."""
    offsets: list[int] = []
    for line in lines:
        offsets.append(start)
        start += len(line) + 1
    return offsets


def column_names(header: Sequence[Sequence[str]], width: int) -> list[str]:
    names: list[str] = []
    for column in range(width):
        parts: list[str] = []
        for row in header:
            cell = row[column].strip() if column < len(row) else ""
            if cell and cell not in parts:
                parts.append(cell)
        names.append(" / ".join(parts))
    return names


def slugify(text: str) -> str:
    """A heading as an anchor: lower case, words joined by '-' ("2.1 Set-up" -> "21-set-up")."""
    text = unicodedata.normalize("NFKD", text).casefold()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s_]+", "-", text).strip("-")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


_WORDS = re.compile(r"[^\W_]+")


def _best_by_words(items: Sequence[Any], wanted: str, text_of: Any) -> Any:
    want = {w.casefold() for w in _WORDS.findall(wanted)}
    if not want:
        return None
    best, best_score = None, 0.0
    for item in items:
        have = {w.casefold() for w in _WORDS.findall(text_of(item))}
        if not have:
            continue
        score = len(want & have) / len(want | have)
        if score > best_score:
            best, best_score = item, score
    return best


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _item_json(item: ListItem) -> list[Any]:
    return [item.text, item.start, item.end, [_item_json(child) for child in item.children]]


def _item_from(data: Sequence[Any]) -> ListItem:
    return ListItem(str(data[0]), int(data[1]), int(data[2]), [_item_from(c) for c in data[3]])


def _block_json(block: Block) -> dict[str, Any]:
    base: dict[str, Any] = {"k": block.kind, "s": block.start, "e": block.end}
    if isinstance(block, Paragraph):
        base["t"] = block.text
    elif isinstance(block, Code):
        base["t"] = block.text
        if block.language:
            base["lang"] = block.language
    elif isinstance(block, Table):
        base.update(h=block.header, r=block.rows, rs=[list(s) for s in block.row_spans])
        if block.caption:
            base["c"] = block.caption
        if block.groups:
            base["g"] = block.groups
    elif isinstance(block, ListBlock):
        base["i"] = [_item_json(item) for item in block.items]
        if block.ordered:
            base["o"] = 1
    else:
        base["d"] = [[e.term, e.description, e.start, e.end] for e in block.entries]
    return base


def _block_from(data: dict[str, Any]) -> Block:
    kind, start, end = data["k"], int(data["s"]), int(data["e"])
    if kind == "paragraph":
        return Paragraph(str(data["t"]), start, end)
    if kind == "code":
        return Code(str(data["t"]), start, end, str(data.get("lang", "")))
    if kind == "table":
        return Table(
            header=[[str(c) for c in row] for row in data["h"]],
            rows=[[str(c) for c in row] for row in data["r"]],
            start=start,
            end=end,
            caption=str(data.get("c", "")),
            row_spans=[(int(a), int(b)) for a, b in data.get("rs", [])],
            groups=[str(g) for g in data.get("g", [])],
        )
    if kind == "list":
        return ListBlock([_item_from(i) for i in data["i"]], start, end, bool(data.get("o")))
    if kind == "definitions":
        entries = [Definition(str(t), str(d), int(s), int(e)) for t, d, s, e in data["d"]]
        return DefinitionList(entries, start, end)
    raise ValueError(f"unknown block kind {kind!r}")


def _section_json(section: Section) -> dict[str, Any]:
    data: dict[str, Any] = {
        "h": section.heading,
        "l": section.level,
        "s": section.start,
        "e": section.end,
        "b": [_block_json(block) for block in section.blocks],
        "c": [_section_json(child) for child in section.children],
    }
    if section.anchor:
        data["a"] = section.anchor
    if section.heading_end >= 0:
        data["he"] = section.heading_end
    return data


def _section_from(data: dict[str, Any], parents: tuple[str, ...]) -> Section:
    heading = str(data["h"])
    level = int(data["l"])
    path = (*parents, heading) if level > 0 else ()
    return Section(
        heading=heading,
        level=level,
        start=int(data["s"]),
        end=int(data["e"]),
        anchor=str(data.get("a", "")),
        path=path,
        heading_end=int(data.get("he", -1)),
        blocks=[_block_from(block) for block in data["b"]],
        children=[_section_from(child, path) for child in data["c"]],
    )


# --- assembling sections from a stream of headings and blocks --------------------------------


class SectionAssembler:
    """Builds the section tree from headings and blocks given in text order.

    `heading(...)` closes every open section of the same or a deeper level at the heading's start
    and opens a new one under the nearest shallower section; `block(...)` adds a block to the
    innermost open section; `finish(length)` closes everything at the end of the text."""

    def __init__(self, title: str = "") -> None:
        self.title = title
        self.root = Section(heading="", level=0, start=0, end=0)
        self._open: list[Section] = [self.root]

    def heading(
        self, text: str, level: int, start: int, heading_end: int, anchor: str = ""
    ) -> None:
        level = max(1, min(level, 9))
        while len(self._open) > 1 and self._open[-1].level >= level:
            self._open.pop().end = start
        parent = self._open[-1]
        section = Section(
            heading=text,
            level=level,
            start=start,
            end=start,
            anchor=anchor,
            path=(*parent.path, text),
            heading_end=heading_end,
        )
        parent.children.append(section)
        self._open.append(section)

    def block(self, block: Block) -> None:
        self._open[-1].blocks.append(block)

    def finish(self, length: int) -> DocumentStructure:
        while self._open:
            self._open.pop().end = length
        self._open = [self.root]
        return DocumentStructure(root=self.root, title=self.title)


# --- rendering markup into text ---------------------------------------------------------------


@dataclass(frozen=True)
class RenderedDocument:
    """A document written out from markup: the text and its structure (spans into the text)."""

    title: str
    text: str
    structure: DocumentStructure


_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def one_line(text: str) -> str:
    """Whitespace runs (newlines included) as one space, zero-width characters removed."""
    return " ".join(_ZERO_WIDTH.sub("", text).split())


def clean_lines(text: str) -> str:
    """Each line's spaces collapsed and trimmed, runs of blank lines as one."""
    lines = [_SPACE.sub(" ", _ZERO_WIDTH.sub("", line)).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _cell(text: str) -> str:
    text = one_line(text).replace("|", "\\|")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


class DocumentRenderer:
    """Writes blocks as plain text, one blank line apart, recording every span.

    The written forms: a heading `## Heading` (as many '#' as its level), a paragraph as it is,
    a table as an optional caption line then one `cell | cell` line per header and body row
    ('|' inside a cell written '\\|'; a group label on a line of its own above the first row
    of its group), a list as `- item` / `1. item` lines (nested items indented by two spaces
    per level), a definition list as `term: description` lines (a description of several
    lines goes on the lines after the term, indented by two spaces), code as its lines."""

    def __init__(self, title: str = "") -> None:
        self.title = title
        self._parts: list[str] = []
        self._length = 0
        self._sections = SectionAssembler(title)

    @property
    def length(self) -> int:
        return self._length

    def _write(self, text: str) -> tuple[int, int]:
        """Append `text` as a new block (blank line before it); its span."""
        if self._length:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        return start, self._length

    def heading(self, text: str, level: int, anchor: str = "") -> None:
        text = one_line(text)
        if not text:
            return
        level = max(1, min(level, 9))
        start, end = self._write("#" * level + " " + text)
        self._sections.heading(text, level, start, end, anchor)

    def paragraph(self, text: str) -> None:
        text = clean_lines(text)
        if not text:
            return
        start, end = self._write(text)
        self._sections.block(Paragraph(text, start, end))

    def code(self, text: str, language: str = "") -> None:
        lines = [line.rstrip() for line in _ZERO_WIDTH.sub("", text).split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            return
        body = "\n".join(lines)
        start, end = self._write(body)
        self._sections.block(Code(body, start, end, language))

    def table(
        self,
        header: Sequence[Sequence[str]],
        rows: Sequence[Sequence[str]],
        caption: str = "",
        groups: Sequence[str] = (),
    ) -> None:
        """A table of already resolved cells (spans expanded); rows are padded to one width.
        `groups[i]` is the group label of body row `i` ("" or missing: none); a label is
        written on its own line above the first row of a run of rows sharing it."""
        head = [[_cell(c) for c in row] for row in header]
        head = [row for row in head if any(row)]
        labels = [_cell(g) for g in groups[: len(rows)]]
        labels += [""] * (len(rows) - len(labels))
        pairs = [([_cell(c) for c in r], g) for r, g in zip(rows, labels, strict=True)]
        pairs = [(cells, g) for cells, g in pairs if any(cells)]
        body = [cells for cells, _ in pairs]
        if not head and not body:
            if caption:
                self.paragraph(caption)
            return
        width = max(len(row) for row in [*head, *body])
        head = [row + [""] * (width - len(row)) for row in head]
        body = [row + [""] * (width - len(row)) for row in body]
        caption = one_line(caption)
        lines = ([caption] if caption else []) + [" | ".join(row) for row in head]
        body_lines: list[int] = []  # the line of each body row
        previous = ""
        for row, (_, label) in zip(body, pairs, strict=True):
            if label and label != previous:
                lines.append(label)
            previous = label
            body_lines.append(len(lines))
            lines.append(" | ".join(row))
        start, end = self._write("\n".join(lines))
        offsets = _line_offsets(start, lines)
        row_spans = [(offsets[k], offsets[k] + len(lines[k])) for k in body_lines]
        found = [label.replace("\\|", "|") for _, label in pairs]
        self._sections.block(
            Table(
                header=[[c.replace("\\|", "|") for c in r] for r in head],
                rows=[[c.replace("\\|", "|") for c in r] for r in body],
                start=start,
                end=end,
                caption=caption,
                row_spans=row_spans,
                groups=found if any(found) else [],
            )
        )

    def list(self, items: Sequence[tuple[str, Sequence[Any]]], ordered: bool = False) -> None:
        """`items` are `(text, children)` pairs, children in the same form, nested freely."""
        lines: list[str] = []
        marks: list[tuple[int, int, int]] = []  # (line index, depth, parent mark index)

        def walk(entries: Sequence[tuple[str, Sequence[Any]]], depth: int, parent: int) -> None:
            for number, (text, children) in enumerate(entries, 1):
                text = one_line(text)
                if not text and not children:
                    continue
                bullet = f"{number}." if ordered and depth == 0 else "-"
                marks.append((len(lines), depth, parent))
                lines.append("  " * depth + f"{bullet} {text}".rstrip())
                walk(children, depth + 1, len(marks) - 1)

        walk(items, 0, -1)
        if not lines:
            return
        start, end = self._write("\n".join(lines))
        offsets = _line_offsets(start, lines)
        nodes: list[ListItem] = []
        top: list[ListItem] = []
        for index, (line_no, depth, parent) in enumerate(marks):
            line = lines[line_no]
            item_start = offsets[line_no] + 2 * depth
            # an item's span runs to the end of its last descendant's line
            last = line_no
            for later in range(index + 1, len(marks)):
                if marks[later][1] <= depth:
                    break
                last = marks[later][0]
            item_end = offsets[last] + len(lines[last])
            text = line.strip().split(" ", 1)[1] if " " in line.strip() else ""
            node = ListItem(text, item_start, item_end)
            nodes.append(node)
            (nodes[parent].children if parent >= 0 else top).append(node)
        self._sections.block(ListBlock(top, start, end, ordered))

    def definitions(self, entries: Sequence[tuple[str, str]]) -> None:
        lines: list[str] = []
        spans: list[tuple[str, str, int, int]] = []  # term, description, first line, last line
        for term, description in entries:
            term = one_line(term)
            description = clean_lines(description)
            if not term and not description:
                continue
            first = len(lines)
            if "\n" not in description and description and len(term) <= 80 and ":" not in term:
                lines.append(f"{term}: {description}")
            else:
                lines.append(term)
                if description:  # a term alone is one line (no blank line after it)
                    lines.extend("  " + line if line else "" for line in description.split("\n"))
            spans.append((term, description, first, len(lines) - 1))
        if not lines:
            return
        start, end = self._write("\n".join(lines))
        offsets = _line_offsets(start, lines)
        self._sections.block(
            DefinitionList(
                [Definition(t, d, offsets[a], offsets[b] + len(lines[b])) for t, d, a, b in spans],
                start,
                end,
            )
        )

    def finish(self) -> RenderedDocument:
        text = "".join(self._parts)
        return RenderedDocument(self.title, text, self._sections.finish(len(text)))
