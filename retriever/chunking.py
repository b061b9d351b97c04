"""Split document text into overlapping passages on word boundaries.

Offsets are exact: for every passage `p`, `text[p.start:p.end] == p.text`. Passages never start or
end with whitespace. A cut prefers, in order, a paragraph break, a line break, the end of a
sentence and any whitespace in the last part of the window; a single "word" longer than the window
(a URL, a base64 blob) is cut hard so every passage stays within `size` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from retriever.structure import (
    Block,
    DefinitionList,
    DocumentStructure,
    ListBlock,
    Section,
    Table,
    passage_context,
)
from retriever.types import Passage

__all__ = ["chunk_document", "chunk_text"]

_SENTENCE_END = re.compile(r"[.!?;:][\"')\]]*\s")
_WHITESPACE = re.compile(r"\s")
_NON_WHITESPACE = re.compile(r"\S")


def chunk_text(doc_id: str, text: str, size: int = 800, overlap: int = 150) -> list[Passage]:
    """Cut `text` into passages of at most `size` characters, consecutive ones sharing about
    `overlap` characters (rounded to a word boundary).

    Text of at most `size` characters (after trimming whitespace) is one passage; empty or
    whitespace-only text gives no passages.
    """
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size), got {overlap} with size {size}")

    passages: list[Passage] = []
    length = len(text)
    pos = _skip_whitespace(text, 0)
    while pos < length:
        end = _trim_end(text, pos, length)
        if end - pos <= size:
            passages.append(Passage(doc_id, len(passages), pos, end, text[pos:end]))
            break
        cut = _find_cut(text, pos, pos + size)
        end = _trim_end(text, pos, cut)
        passages.append(Passage(doc_id, len(passages), pos, end, text[pos:end]))
        pos = _next_start(text, pos, cut, overlap)
    return passages


def _skip_whitespace(text: str, pos: int) -> int:
    match = _NON_WHITESPACE.search(text, pos)
    return match.start() if match else len(text)


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _find_cut(text: str, start: int, limit: int) -> int:
    """The end (exclusive) of a passage that starts at `start` and may not pass `limit`.

    The cut lands on whitespace in the second half of the window, preferring the strongest
    boundary; with no whitespace there it is a hard cut at `limit`.
    """
    floor = start + (limit - start) // 2
    window = text[floor : limit + 1]  # one extra char: a boundary right after `limit` still fits
    for marker in ("\n\n", "\n"):
        index = window.rfind(marker)
        if index > 0:
            return floor + index
    last_sentence = None
    for match in _SENTENCE_END.finditer(window):
        last_sentence = match
    if last_sentence is not None:
        return floor + last_sentence.end() - 1
    for index in range(len(window) - 1, 0, -1):
        if window[index].isspace():
            return floor + index
    return limit


def _next_start(text: str, start: int, cut: int, overlap: int) -> int:
    """Where the next passage starts: about `overlap` characters before `cut`, at a word start."""
    if overlap == 0:
        return _skip_whitespace(text, cut)
    target = max(cut - overlap, start + 1)
    # Move forward to the beginning of the next word so the passage does not open mid-word.
    if target > 0 and not text[target - 1].isspace():
        match = _WHITESPACE.search(text, target, cut)
        target = match.start() if match else cut
    return _skip_whitespace(text, target)


# --- structure-aware passages ---------------------------------------------------------------


@dataclass
class _Unit:
    """A piece of text that passages are made of: a heading line, a block, or text no block
    holds; `parts` are the spans it may be cut at (table rows, list items, entries)."""

    start: int
    end: int
    section: Section
    block: Block | None = None
    heading: bool = False
    parts: list[tuple[int, int]] = field(default_factory=list)


def chunk_document(
    doc_id: str,
    text: str,
    structure: DocumentStructure,
    size: int = 800,
    overlap: int = 150,
) -> list[Passage]:
    """Cut `text` into passages along the blocks of `structure`.

    Consecutive blocks are packed into one passage while they fit in `size` characters; a new
    section starts a new passage once the current one is a third full, and a heading never ends
    a passage. A block longer than `size` is cut between its rows, items or entries (a table's
    first passage keeps its caption and header); a row, item or paragraph that is itself longer
    is cut by `chunk_text` with `overlap`. Every passage's `context` is its section path and,
    for a table passage that starts below the header, the table's caption and column names, so
    a passage holding row 40 still says what its columns are. As with `chunk_text`,
    `text[p.start:p.end] == p.text` and no passage starts or ends with whitespace.
    """
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size), got {overlap} with size {size}")
    units = _units(text, structure)
    spans: list[tuple[int, int, str]] = []
    current: list[_Unit] = []

    def flush() -> None:
        if not current:
            return
        spans.append((current[0].start, current[-1].end, _context(current[0], current[0].start)))
        current.clear()

    for unit in units:
        if current:
            fits = unit.end - current[0].start <= size
            full = current[-1].end - current[0].start >= size // 3
            if fits and not (unit.heading and full):
                current.append(unit)
                continue
            carried: list[_Unit] = []  # a heading opens the next passage, it never ends one
            while current and current[-1].heading:
                carried.insert(0, current.pop())
            flush()
            current.extend(carried)
            if current and unit.end - current[0].start <= size:
                current.append(unit)
                continue
        if unit.end - unit.start <= size:
            flush()
            current.append(unit)
            continue
        # too long for one passage: cut it, a pending heading joining the first piece
        lead = current[0].start if current else None
        current.clear()
        for piece_start, piece_end in _cut(text, unit, size, overlap, lead):
            spans.append((piece_start, piece_end, _context(unit, piece_start)))
    flush()

    passages: list[Passage] = []
    for start, end, context in spans:
        start, end = _trim(text, start, end)
        if start < end:
            passages.append(Passage(doc_id, len(passages), start, end, text[start:end], context))
    return passages


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _units(text: str, structure: DocumentStructure) -> list[_Unit]:
    units: list[_Unit] = []
    for section in structure.root.walk():
        if section.level > 0 and section.heading_end > section.start:
            units.append(_Unit(section.start, section.heading_end, section, heading=True))
        for block in section.blocks:
            units.append(_Unit(block.start, block.end, section, block, parts=_parts(block)))
    units.sort(key=lambda unit: (unit.start, not unit.heading))
    # text no block holds (a parser that skipped something) still becomes passages
    out: list[_Unit] = []
    position = 0
    for unit in units:
        if unit.start < position:  # overlapping spans from a faulty structure: keep the first
            continue
        out.extend(_gap(text, position, unit.start, structure))
        out.append(unit)
        position = unit.end
    out.extend(_gap(text, position, len(text), structure))
    return out


def _gap(text: str, start: int, end: int, structure: DocumentStructure) -> list[_Unit]:
    start, end = _trim(text, start, min(end, len(text)))
    if start >= end:
        return []
    return [_Unit(start, end, structure.section_at(start))]


def _parts(block: Block) -> list[tuple[int, int]]:
    if isinstance(block, Table):
        return list(block.row_spans)
    if isinstance(block, ListBlock):
        return [(item.start, item.end) for item in block.items]
    if isinstance(block, DefinitionList):
        return [(entry.start, entry.end) for entry in block.entries]
    return []


def _context(unit: _Unit, start: int) -> str:
    return passage_context(unit.section, unit.block, start)


def _cut(
    text: str, unit: _Unit, size: int, overlap: int, lead: int | None
) -> list[tuple[int, int]]:
    """Spans of at most `size` characters covering `unit`: whole parts (rows, items, entries)
    packed together, the first piece starting at `lead` (a heading before it) or the unit's
    start (a table's caption and header); a part too long alone is cut by `chunk_text`."""
    pieces: list[tuple[int, int]] = []
    first = lead if lead is not None else unit.start
    parts = [(a, b) for a, b in unit.parts if unit.start <= a < b <= unit.end]
    if not parts:
        return _prose(text, first, unit.end, size, overlap)
    if parts[0][0] - first > size:  # a head (caption, header) too long to share a piece
        pieces.extend(_prose(text, first, parts[0][0], size, overlap))
        first = parts[0][0]
    start, end = first, -1  # the piece being packed: start..end (-1: nothing in it yet)
    for a, b in parts:
        if b - start <= size:
            end = b
            continue
        if end >= 0:
            pieces.append((start, end))
            start, end = a, -1
        if b - start <= size:
            end = b
        else:  # one part longer than a passage (a table's head joins its first piece)
            pieces.extend(_prose(text, start, b, size, overlap))
            start, end = b, -1
    if end >= 0:
        pieces.append((start, end))
    covered = max((piece[1] for piece in pieces), default=first)
    if covered < unit.end:  # text after the last part (never expected from the parsers)
        pieces.extend(_prose(text, covered, unit.end, size, overlap))
    return pieces


def _prose(text: str, start: int, end: int, size: int, overlap: int) -> list[tuple[int, int]]:
    return [
        (start + p.start, start + p.end) for p in chunk_text("", text[start:end], size, overlap)
    ]
