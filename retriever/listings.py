"""Where a document lists things: its listings and their rows, from the document's structure.

Wide questions ("every X with A and B") are answered from listings: the rows of a table, the items
of a list, the entries of a definition list, a run of sibling sections whose headings name one
entity each (API references, release notes, a glossary). `listings(structure)` finds them
all in one document and gives each row its name (the first non-empty cell, the item's lead, the
term, the heading), its labelled values (a table row's cells under their column names; an entry's
description) and its evidence: the span of text the row stands on (a row of a table, an item, an
entry, a whole section), so a cell read from it can be cited. Nothing here decides which rows
answer a question: that is the wide-research pipeline's job; this only says what rows exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from retriever.structure import (
    PATH_SEPARATOR,
    DefinitionList,
    DocumentStructure,
    ListBlock,
    ListItem,
    Paragraph,
    Section,
    Table,
)

__all__ = ["Listing", "ListingKind", "ListingRow", "listings", "row_name"]

MIN_ENTRY_SECTIONS = 3
"""Sibling sections that make a run of entries (fewer are a document's ordinary chapters)."""
MAX_NAME_CHARS = 120


class ListingKind(StrEnum):
    TABLE = "table"
    LIST = "list"
    DEFINITIONS = "definitions"
    SECTIONS = "sections"
    SENTENCE = "sentence"


@dataclass(frozen=True)
class ListingRow:
    """One row of a listing: its name, its labelled values and the span it stands on."""

    name: str
    values: dict[str, str]
    start: int
    end: int
    group: str = ""
    """The label of the group a table row falls under (`Table.groups`), "" for none."""


@dataclass(frozen=True)
class Listing:
    """A table, list, definition list or run of entry sections, with its rows."""

    kind: ListingKind
    section: tuple[str, ...]
    """The path of headings above the listing (for a run of sections: their parent's)."""
    columns: list[str]
    """What the values are called: a table's column names, ["description"] for definitions,
    [] for lists and sections (their rows are names with a span of text)."""
    rows: list[ListingRow]
    start: int
    end: int
    caption: str = ""
    children: list[Listing] = field(default_factory=list)
    """Nested lists under a list's items are listings of their own (their rows are kept there)."""
    pointers: bool = False
    """Its rows point to entries described elsewhere (a table of contents, an index of names):
    what is true of a row is stated on the row's own page or section, not here."""

    @property
    def where(self) -> str:
        parts = [PATH_SEPARATOR.join(self.section)] if self.section else []
        if self.caption:
            parts.append(self.caption)
        return " / ".join(parts)


def listings(structure: DocumentStructure) -> list[Listing]:
    """Every listing of one document, in text order (a listing inside another's span, e.g. a
    table in one of a run of sections, comes after it). A table, list or definition list of one
    row is no listing. Which listings hold the rows a question asks for is not decided here."""
    found: list[Listing] = []
    for section, block in structure.blocks():
        if isinstance(block, Table):
            listing = _table(section, block)
        elif isinstance(block, ListBlock):
            listing = _items(section, block.items, block.start, block.end)
        elif isinstance(block, DefinitionList):
            listing = _definitions(section, block)
            for entry in block.entries:  # a description may be a run of entry lines (contents)
                offset = entry.end - len(entry.description)
                if offset >= entry.start + len(entry.term):
                    found.extend(_line_entries(section, entry.description, offset))
        elif isinstance(block, Paragraph):
            found.extend(_enumerations(section, block))
            if len(block.text) == block.end - block.start:
                found.extend(_line_entries(section, block.text, block.start))
            continue
        else:
            continue
        if listing is not None:
            found.append(listing)
    found.extend(_section_runs(structure))
    found.sort(key=lambda listing: (listing.start, -listing.end))
    return found


# --- rows of each kind ----------------------------------------------------------------------


_LEAD = re.compile(r"^(.+?)(?:\s+[-–—:]\s+|:\s|\s+\(|,\s)")
_TRAILING = re.compile(r"[\s.;:,]+$")


def row_name(text: str) -> str:
    """The name an item or heading gives its row: the text before a dash, colon, bracket or
    comma that follows it ("gzip - compress files" -> "gzip"; "Release 2.4 (2021-03-01)" ->
    "Release 2.4"), else the whole text; at most `MAX_NAME_CHARS` characters."""
    text = " ".join(text.split())
    match = _LEAD.match(text)
    name = match.group(1) if match else text
    name = _TRAILING.sub("", name)
    return name[:MAX_NAME_CHARS]


def _table(section: Section, table: Table) -> Listing | None:
    if len(table.rows) < 2:
        return None
    columns = [name or f"column {n}" for n, name in enumerate(table.columns, 1)]
    spans = table.row_spans if len(table.row_spans) == len(table.rows) else None
    groups = table.groups if len(table.groups) == len(table.rows) else None
    rows = []
    for index, cells in enumerate(table.rows):
        name = next((cell for cell in cells if cell.strip()), "")
        if not name:
            continue
        start, end = spans[index] if spans else (table.start, table.end)
        values = dict(zip(columns, cells, strict=False))
        group = groups[index] if groups else ""
        rows.append(ListingRow(name[:MAX_NAME_CHARS], values, start, end, group))
    if len(rows) < 2:
        return None
    return Listing(
        ListingKind.TABLE, section.path, columns, rows, table.start, table.end, table.caption
    )


def _items(section: Section, items: list[ListItem], start: int, end: int) -> Listing | None:
    rows = [
        ListingRow(row_name(item.text), {}, item.start, item.end)
        for item in items
        if row_name(item.text)
    ]
    children: list[Listing] = []
    for item in items:  # an item's sub-items are a listing of their own
        if len(item.children) > 1:
            nested = item.children
            child = _items(section, nested, nested[0].start, nested[-1].end)
            if child is not None:
                children.append(child)
    if len(rows) < 2:
        return None
    numbered = sum(bool(_OUTLINE_LINE.match(item.text.strip())) for item in items)
    return Listing(
        ListingKind.LIST,
        section.path,
        [],
        rows,
        start,
        end,
        children=children,
        pointers=2 * numbered >= len(items),  # contents: "C.2. gaugelog", not "1. Unpack it"
    )


def _definitions(section: Section, block: DefinitionList) -> Listing | None:
    rows = [
        ListingRow(
            entry.term[:MAX_NAME_CHARS], {"description": entry.description}, entry.start, entry.end
        )
        for entry in block.entries
        if entry.term.strip()
    ]
    if len(rows) < 2:
        return None
    return Listing(
        ListingKind.DEFINITIONS, section.path, ["description"], rows, block.start, block.end
    )


def _section_runs(structure: DocumentStructure) -> Iterator[Listing]:
    """Runs of `MIN_ENTRY_SECTIONS`+ sibling sections under one parent: each sibling is a row
    named by its heading, standing on the whole section. Every such run is offered (a manual's
    chapters too); whether its headings name the entities asked for is the caller's call."""
    for parent in structure.root.walk():
        children = parent.children
        if len(children) < MIN_ENTRY_SECTIONS:
            continue
        rows = [
            ListingRow(row_name(child.heading), {}, child.start, child.end)
            for child in children
            if row_name(child.heading)
        ]
        if len(rows) < MIN_ENTRY_SECTIONS:
            continue
        yield Listing(
            ListingKind.SECTIONS,
            parent.path,
            [],
            rows,
            children[0].start,
            children[-1].end,
        )


# --- runs of entry lines: tables of contents, indexes of names ------------------------------

MIN_ENTRY_LINES = 3
MIN_SUMMARY_SHARE = 0.8
"""An index of names is a run of lines most of which are "name — summary"."""
_OUTLINE_LINE = re.compile(r"(?P<number>(?:[A-Z]|\d+)(?:\.\d+)+)\.\s+(?P<name>\S.*)")
"""A line of contents: a section number ("C.2.", "4.1.3."; a lone "1." is a list's
ordinal), then the entry's name."""
_SUMMARY_LINE = re.compile(
    r"(?P<name>[^\s\u2014\u2013-][^\u2014\u2013]{0,80}?)\s+[\u2014\u2013-]\s+(?P<summary>\S.*)"
)


def _line_entries(section: Section, text: str, start: int) -> list[Listing]:
    """Runs of plain lines that each name an entry, as tables of contents and indexes are
    written without list markup: outline-numbered lines ("F.2. tidecalc", "F.2.1. Functions":
    the outermost level are the entries, each standing on its lines down to the next one, its
    number kept as a value), and lines of a name and its summary ("HALT — stop the current
    job": one entry each, the summary kept as a value). `text` starts at offset `start`."""
    found = []
    offset = 0
    run: list[tuple[str, int]] = []
    for line in [*text.split("\n"), ""]:  # runs of lines end at a blank line
        if line.strip():
            run.append((line.strip(), start + offset + len(line) - len(line.lstrip())))
        elif run:
            last, at = run[-1]
            found.extend(_entry_run(section, run, at + len(last)))
            run = []
        offset += len(line) + 1
    return found


def _entry_run(section: Section, lines: list[tuple[str, int]], end: int) -> list[Listing]:
    """The listings one run of lines (each with its offset) is, if any."""
    if len(lines) < MIN_ENTRY_LINES:
        return []
    start = lines[0][1]
    found = []
    numbered = [(m, at) for line, at in lines if (m := _OUTLINE_LINE.fullmatch(line))]
    if len(numbered) >= MIN_ENTRY_LINES and 2 * len(numbered) >= len(lines):
        top = min(m.group("number").count(".") for m, _ in numbered)
        heads = [(m, at) for m, at in numbered if m.group("number").count(".") == top]
        rows = [
            ListingRow(row_name(m.group("name")), {"number": m.group("number")}, at, stop)
            for (m, at), stop in zip(heads, [at for _, at in heads[1:]] + [end], strict=True)
            if row_name(m.group("name"))
        ]
        if len(rows) >= MIN_ENTRY_LINES:
            found.append(
                Listing(ListingKind.LIST, section.path, ["number"], rows, start, end, pointers=True)
            )
    summaries = [(m, at) for line, at in lines if (m := _SUMMARY_LINE.fullmatch(line))]
    if len(summaries) >= MIN_ENTRY_LINES and len(summaries) >= MIN_SUMMARY_SHARE * len(lines):
        rows = [
            ListingRow(" ".join(m.group("name").split())[:MAX_NAME_CHARS],
                       {"summary": m.group("summary").strip()}, at, at + len(m.group(0)))
            for m, at in summaries
        ]  # fmt: skip
        found.append(
            Listing(ListingKind.LIST, section.path, ["summary"], rows, start, end, pointers=True)
        )
    return found


# --- sentences that enumerate names -----------------------------------------------------------

MIN_ENUMERATED = 3
MAX_ITEM_WORDS = 5
MAX_ITEM_CHARS = 40
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?](?=\s|$)|\n|$)|[^\n]+")
_ENUMERATION = re.compile(
    r"(?P<items>(?:[^,;:()\n]{1,80}?,\s+){1,}[^,;:()\n]{1,80}?,?\s+(?:and|or)\s+"
    r"[^,;:()\n]{1,80}?)\s*(?=[.;:!?)]|$)"
)
_CUE = re.compile(
    r"^.*\b(?:are|is|include|includes|including|such as|namely|as follows|e\.g\.|like|"
    r"supports?|provides?|offers?|contains?|lists?|of)\s+",
    re.IGNORECASE,
)
_CLAUSE_WORDS = frozenset(
    [
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "this",
        "that",
        "these",
        "those",
        "they",
        "them",
        "we",
        "you",
        "he",
        "she",
        "there",
        "which",
        "who",
    ]
)
_PREPOSITIONS = frozenset(
    [
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "to",
        "into",
        "onto",
        "over",
        "under",
        "after",
        "before",
    ]
)
_ITEM_EDGE = re.compile(r"^(?:the|a|an|and|or)\s+|[\s.]+$", re.IGNORECASE)


def _enumerations(section: Section, paragraph: Paragraph) -> list[Listing]:
    """Sentences that name 3+ things in a row ("The formats are PNG, JPEG, GIF and WebP."):
    one listing per such sentence, one row per name (short names only: a list of clauses is
    no enumeration). Every row stands on the sentence (what it says of them holds for each),
    or on the paragraph when its text is not the document's as it stands."""
    text = paragraph.text
    exact = len(text) == paragraph.end - paragraph.start
    found = []
    for sentence in _SENTENCE.finditer(text):
        match = _ENUMERATION.search(sentence.group(0))
        if not match:
            continue
        items = _items_of(match.group("items"))
        if len(items) < MIN_ENUMERATED:
            continue
        if exact:
            start, end = paragraph.start + sentence.start(), paragraph.start + sentence.end()
        else:
            start, end = paragraph.start, paragraph.end
        rows = [ListingRow(item, {}, start, end) for item in items]
        found.append(
            Listing(
                ListingKind.SENTENCE,
                section.path,
                [],
                rows,
                rows[0].start,
                rows[-1].end,
            )
        )
    return found


def _items_of(run: str) -> list[str]:
    """The names of an enumeration: split on commas and the last "and"/"or"; the first one
    without the words that lead into the list ("The formats are PNG" -> "PNG")."""
    parts = [p.strip() for p in re.split(r",\s*|\s+(?:and|or)\s+", run) if p.strip()]
    parts = [re.sub(r"^(?:and|or)\s+", "", p, flags=re.IGNORECASE) for p in parts]
    if not parts:
        return []
    first = _CUE.sub("", parts[0])
    parts[0] = first if first != parts[0] else " ".join(parts[0].split()[-2:])
    last = parts[-1].split()
    cut = next((i for i, w in enumerate(last) if w.lower() in _CLAUSE_WORDS), len(last))
    parts[-1] = " ".join(last[:cut])  # "citext are trusted" -> "citext"
    items = [_ITEM_EDGE.sub("", p).strip() for p in parts]
    if any(
        not item
        or len(item) > MAX_ITEM_CHARS
        or len(item.split()) > MAX_ITEM_WORDS
        or _CLAUSE_WORDS & set(item.lower().split())
        or item.split()[0].lower() in _PREPOSITIONS
        for item in items
    ):
        return []  # clauses ("written in 2019, rewritten in 2021, and it is fast"), not names
    return items
