"""Read the structure of a text that already exists: plain text, Markdown source, JSONL `text`.

`parse_text(text, markdown=..., title=...)` returns a `DocumentStructure` whose every span is an
offset into `text` itself (the text is never changed). It never raises: a text it cannot read
(there should be none) gets an empty structure. It scans line by line with compiled patterns, so
it is cheap enough to run on every document at indexing time.

What it recognises, in both modes unless said otherwise (general conventions, not one source's):
- headings: ATX `#`..`######` + space + text (closing `#`s dropped; in plain text only at the
  start of a line, as an indented `# ...` there is a comment in an example); in Markdown mode
  also Setext (a line over `===` or `---`). The anchor is a trailing `{#id}`, else
  `slugify(heading)`. A heading that is only a callout's title (`### Note`, `Tip`, `Warning`,
  `Caution`, `Important`, `Hint`, `Danger`, `Attention`: the box written inside a section, whose
  section goes on after it) is no heading but a paragraph of that section (never a term);
- code: fenced with ``` or ~~~ (language from the info string; in plain text only a fence that
  is closed and whose info string is one word); in Markdown mode also lines indented by 4+
  columns that start a block (after a blank line or another block);
- tables: Markdown pipe tables (header, `|---|:--:|` delimiter, rows; `\\|` is an escaped pipe),
  `psql`-style (`---+---` under the header) and `+---+` bordered ones, and runs of 2+ lines that
  split into 2+ cells on ` | ` (the first line is the header; rows may have fewer or more cells,
  all are padded to the widest) or into the same number of cells on tabs. A line that is a list
  item or a heading is no row (but under rows, `- | text` is one), nor is one where a pipe is
  inside brackets (`[ a | b ]`: a grammar, not a table), nor a run whose every line is
  `Label: value`. Captions are not guessed. In a pipe table a short line without a pipe between
  two rows of as many cells (`Class 12 — Widget Errors`; no heading, rule or sentences) is a
  group row: the label (`Table.groups`) of the rows below it, not the end of the table;
- lists: `- `, `* `, `+ `, `• `, `1. `, `1) ` items nested by indentation, continuation lines
  (indented more than the marker) joined to their item's text with a space; a blank line between
  items does not end a list, a numbered item after bulleted ones (or the reverse) does, and
  so does a table indented under an item (the table is a block of its own; the items after
  it, another list). A
  paragraph of 3+ short plain lines that are each an item-like phrase (a contents page:
  `E.1. Release 4.2`, `E.1.1. Migration to Version 4.2`; not wrapped prose, code, table or
  `Label: value` lines) is a list too, one item a line, nested by the depth of their section
  numbers when every line starts with one;
- definition lists: runs of `Label: value` lines (a label is short, holds no URL and reads as a
  name, not a clause: "He said: ..." is prose; a value cut mid-sentence, by a comma or a joining
  word or before a line in lower case, goes on over the next lines); a list whose items are all
  `Label: value`; a
  `Label:` line directly followed by lines of text (the description, up to a blank line); a term
  line whose description follows indented by 2-3 columns (how `DocumentRenderer` writes long
  definitions). `Label: value` lines ending a paragraph are split off it when their labels start
  with a capital or digit; a `Label:` line followed by a list stays a paragraph. And a run, in
  one section, of 3+ terms written as paragraphs of their own (how an HTML `<dl>` reads as
  text): a term paragraph is 1-3 short lines (`max_widgets (integer)`; `-j njobs` over
  `--jobs=njobs`: the lines joined with ", "), none ending with `.,;:`, cut mid-sentence, a
  sentence or `Label: value`; its description is the paragraph (or `Label: value` line) after
  it and the paragraphs up to the next term paragraph, with other blocks between them. The
  first description of a run and the descriptions together are clearly (1.5 times) longer
  than their terms (where the first description could be the first term, the reading with the
  longer descriptions wins); paragraphs before the first term stay paragraphs; a table or the
  end of the section ends the run;
- paragraphs: everything else, runs of lines up to a blank line or a line that starts a heading,
  fence, list (a bullet, or a number 1) or table.

Every non-blank line belongs to exactly one block or heading, except YAML front matter and
thematic breaks (`---`, `***`, `___`) in Markdown mode and a byte order mark, which are skipped.
"""

from __future__ import annotations

import functools
import logging
import math
import operator
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

from retriever.structure import (
    MAX_CELL_CHARS,
    Block,
    Code,
    Definition,
    DefinitionList,
    DocumentStructure,
    ListBlock,
    ListItem,
    Paragraph,
    SectionAssembler,
    Table,
    slugify,
)

__all__ = ["parse_text"]

log = logging.getLogger(__name__)

MAX_LIST_DEPTH = 16
"""Deeper list items are kept as siblings of the deepest allowed level."""

MAX_LABEL_CHARS = 60
"""The longest label of a `Label: value` line."""
MAX_LABEL_WORDS = 8
"""The most words a label (or a term) has."""
MAX_TERM_CHARS = 80
"""A term written on its own line above an indented description may be a little longer."""
MAX_GROUP_CHARS = 120
"""The longest line read as a group label between the rows of a table."""
MAX_LINE_TERM_CHARS = 100
"""The longest term line of a definition written as term lines, a blank line, paragraphs."""
MAX_TERM_LINES = 3
"""The most term lines (`-j njobs`, `--jobs=njobs`) one such definition has."""
MIN_LINE_TERMS = 3
"""The fewest definitions that make a run of term lines and paragraphs a definition list."""
MIN_SHAPED_TERMS = 2
"""Terms a run needs when each is written as the terms of the document's other runs are
("max_widgets (integer)": a section of two settings among sections of many)."""
DESCRIPTION_RATIO = 1.5
"""How many times as long as their (longest) term lines the first description of a run of
term paragraphs, and the first paragraphs of all its descriptions together, are at least."""
MAX_ITEM_LINE_CHARS = 100
"""The longest line of a run of plain lines read as a list."""
MIN_LINE_ITEMS = 3
"""The fewest plain lines that make a list."""
WRAPPED_LINE_CHARS = 40
"""A line this long followed by one starting in lower case is wrapped prose, not an item."""
MAX_FLAT_COLUMNS = 8
"""The most header cells of a table written one paragraph per cell."""
MAX_HEADER_CELL_CHARS = 48
"""The longest header cell (a column name) of such a table."""
MAX_HEADER_CELL_WORDS = 6
"""The most words of such a header cell."""
MAX_FLAT_CELLS = 1_500
"""The most body paragraphs one such table is read over (the rest stay paragraphs)."""
MIN_FLAT_ROWS = 2
"""The fewest body rows of such a table under a caption; without one, one more."""
FLAT_OUTSIDE_COST = 0.3
"""What leaving a paragraph after a table out of it costs, against its distance (0-1) to the
shape of the column it would join: a paragraph fitting no column worse than this ends it."""
FLAT_CONTINUE_COST = 0.08
"""What a cell's second and later paragraphs cost on top of their distance: with shapes alike,
one paragraph per cell wins."""
MIN_COLUMN_DISTANCE = 0.12
"""How far apart the shapes of neighbouring columns (and of the last and the first) are at
least: where they look alike, where a cell or a row ends cannot be told."""
MAX_ROW_START_DISTANCE = 0.25
"""How unlike the shape of the first column the first paragraph of a row may be at most."""
MAX_ROW_PARAGRAPHS = 24
"""The most paragraphs one row spans: no table goes on after this many that end no row."""
MAX_FLAT_MEAN_COST = 0.2
"""The largest mean distance of a table's paragraphs to the shapes of their columns."""
CLOSE_FIT = 0.06
"""A reading whose paragraphs are this close to the shapes of their columns on the mean is
taken without trying other guesses at the shapes of the columns."""
SHAPE_CHARS = 160
"""How much of a paragraph its shape is read from."""

_ATX = re.compile(r"(#{1,6})[ \t]+(.*)")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_ANCHOR = re.compile(r"[ \t]*\{#([^\s{}]+)(?:[ \t][^{}]*)?\}$")
_CALLOUT_TEXT = "note tip warning caution important hint danger attention"
_CALLOUT_TITLES = frozenset(_CALLOUT_TEXT.split())
"""The titles callout boxes carry by convention (DocBook, Sphinx, MkDocs, GitHub alerts): as a
heading of its own, such a title would take the rest of its section under it."""
_FENCE = re.compile(r"(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$")
_FRONT_KEY = re.compile(r"[\w-]+[ \t]*:")
_PLAIN_FENCE = re.compile(r"(`{3,}|~{3,})[ \t]*([^`\s]*)$")
_MARKER = re.compile(r"(?:[-*+•]|(\d{1,9})[.)])[ \t]+(?=\S)")
_LABEL = re.compile(rf"(.{{1,{MAX_LABEL_CHARS}}}?):(?:[ \t]+(\S.*)|[ \t]*$)")
_PIPE_SPLIT = re.compile(r"(?:(?<=\s)|^)\|(?=\s|$)")
_MD_PIPE_SPLIT = re.compile(r"(?<!\\)\|")
_SENTENCE_BREAK = re.compile(r"[;!?][ \t]|[a-z]{3}\.[ \t]+\S")
_CODE_LIKE = re.compile(r"[=;{}<>\\$@*,\"]|\s\s")
"""What a term above an indented description does not hold (code, aligned columns do)."""
_CODE_ENDS = frozenset(";{\\")
_DELIMITER_CELL = re.compile(r":?-+:?")
_DELIMITER_CHARS = frozenset("|+-=: \t")
_THEMATIC_CHARS = frozenset("-*_")
_STARTERS = frozenset("#`~-*+•0123456789")
_WRAP_ENDS = frozenset(",;:([{-–—&/+")
_JOINING_TEXT = "a an the and or nor of to in on at by for with from as than"
_JOINING_WORDS = frozenset(_JOINING_TEXT.split())
_MID_SENTENCE_TEXT = """is are was were be been has have had will would can could should may might
    must not that which who whose where when if but so"""
_MID_SENTENCE_WORDS = _JOINING_WORDS | frozenset(_MID_SENTENCE_TEXT.split())
"""Words a line that ends mid-sentence ends with (or a line going on with one starts with)."""
_ITEM_CODE_LIKE = re.compile(r"[;{}=<>\\$]|\s\s|\(\)")
"""What a plain line read as a list item does not hold (code, aligned columns do)."""
_ITEM_OPENERS = frozenset("\"'(-_“‘")
"""What a plain line read as a list item may start with besides a letter or digit."""
_OUTLINE_NUMBER = re.compile(r"(?:[A-Z]\.)?\d{1,4}(?:\.\d{1,4})*\.?(?=[ \t])")
"""A section number starting a line of contents ("E.1.1.", "3.2", "7"): its parts give the depth."""
_CAPTION = re.compile(
    r"(?:Table|TABLE|Tab\.)[ \t]+(?:[A-Z]{1,2}[.-]?)?\d{1,4}(?:[.\-–]\d{1,4})*[a-z]?"
    r"(?:[.:][ \t]+\S|[ \t]+[-–—][ \t]+\S|[.:]?$)"
)
"""A table's caption line: "Table 7.2. Unit Conversions", "Table 3: Sizes", "Table A-1 — Codes"
("Table 7.2 shows ..." is a sentence about it)."""
_SIGNATURE = re.compile(r"[\w.$]+[ \t]?\(")
_CALL = re.compile(r"\w\(")
_SNAKE = re.compile(r"[^\W_]_\w")
_ARROWS = ("→", "->", "=>", "⇒", "↦")
_ARROW = re.compile("|".join(map(re.escape, _ARROWS)))
_TABLE_MENTION = re.compile(r"\bTable[ \t]+[A-Z]?\d")
_SHAPE_WEIGHTS = (0.6, 0.6, 0.6, 1.0, 0.7, 0.7, 0.7, 0.7, 1.5, 0.8, 1.0, 0.5)
"""The weight of each feature of `_cell_shape` in the distance between two shapes."""
_SHAPE_SCALE = tuple(weight / sum(_SHAPE_WEIGHTS) for weight in _SHAPE_WEIGHTS)
_NO_DIGITS = str.maketrans(dict.fromkeys("0123456789"))
_OPENERS = "([{"
_CLOSERS = ")]}"

# Words that make a would-be label read as a clause ("He said", "The options are", "as follows"):
# pronouns, auxiliary and reporting verbs, subordinators. A one-word label is never a clause.
_CLAUSE_TEXT = """
    i me my you your he him his she her we us our they them their it its this these those there
    here which who whom whose that is are was were be been being am has have had do does did will
    would shall should can could may might must said says say wrote writes asked told replied
    added explained stated noted follows following include includes including contains contain
    because although though unless whereas if then so but when where while why how below above
    namely e.g. i.e."""
_CLAUSE_WORDS = frozenset(_CLAUSE_TEXT.split())
_WORD_PUNCTUATION = str.maketrans({**dict.fromkeys('"()*_,`'), "'": " ", "’": " "})
"""Quotes and brackets dropped, apostrophes a space ("There's" holds "there")."""

_UNREAD = object()
"""A line whose list marker has not been looked for yet."""


@dataclass
class _TermRun:
    """A run of definitions read from term paragraphs and their descriptions: for each the
    index of its term block and of the last block of its description; the characters of their
    (longest) term lines and of the first blocks of their descriptions."""

    parts: list[tuple[int, int]] = field(default_factory=list)
    after: int = 0
    """The index of the block after the run."""
    term_chars: int = 0
    description_chars: int = 0

    @property
    def score(self) -> float:
        """How much longer the descriptions are than the terms."""
        return self.description_chars / max(self.term_chars, 1)

    @property
    def accepted(self) -> bool:
        """Enough definitions whose descriptions are clearly longer than their terms."""
        return len(self.parts) >= MIN_LINE_TERMS and self.score >= DESCRIPTION_RATIO


@dataclass
class _FlatRows:
    """Body paragraphs read as the rows of a table written one paragraph per cell: for each row
    its cells, each cell the indexes of its paragraphs (blocks); the mean distance of the
    paragraphs to the shapes of their columns."""

    rows: list[list[list[int]]]
    cost: float

    @property
    def score(self) -> float:
        """How badly it reads (lower is better): the mean distance and the share of paragraphs
        that are not the first of their cell."""
        paragraphs = sum(len(cell) for row in self.rows for cell in row)
        cells = sum(len(row) for row in self.rows)
        return self.cost + (paragraphs - cells) / paragraphs


class _Row:
    """One table row as read: its line, cells and the label of the group it is in ("": none)."""

    __slots__ = ("cells", "group", "line", "text")

    def __init__(self, line: int, cells: list[str], text: str = "", group: str = "") -> None:
        self.line = line
        self.cells = cells
        self.text = text
        self.group = group


def parse_text(text: str, *, markdown: bool = False, title: str = "") -> DocumentStructure:
    """The sections and blocks of `text`, every span an offset into `text` itself.

    `markdown` turns on what only Markdown source means (Setext headings, indented code, front
    matter, thematic breaks); `title` is stored in the structure as it is. Never raises.
    """
    if not isinstance(text, str):
        return DocumentStructure.empty(0, title)
    try:
        structure = _Parser(text, markdown).parse(title)
    except Exception:  # a bug here must not stop indexing: the document keeps its text
        log.exception("parse_text: cannot read the structure of a %d-character text", len(text))
        structure = DocumentStructure.empty(len(text), title)
    structure.read_from = "markdown" if markdown else "text"
    return structure


# --- small readers of one line ----------------------------------------------------------------


_WORDS = re.compile(r"\w+")


def _term_shape(lines: list[str]) -> str:
    """How a term is written, its words left out ("max_widgets (integer)" -> "w (w)", "-j
    njobs" over "--jobs=njobs" -> "-w w / --w=w"); "" for a term of words alone, which any
    short paragraph ("Examples") is written as too."""
    shape = " / ".join(_WORDS.sub("w", line) for line in lines)
    return shape if shape.strip("w ") else ""


def _shaped(run: _TermRun, terms: list[list[str] | None], shapes: frozenset[str]) -> bool:
    """Whether a short run is `MIN_SHAPED_TERMS`+ definitions, clearly longer than their
    terms, whose every term is written in one of `shapes`."""
    return (
        len(run.parts) >= MIN_SHAPED_TERMS
        and run.score >= DESCRIPTION_RATIO
        and all(_term_shape(terms[b] or []) in shapes for b, _ in run.parts)
    )


def _is_callout_title(heading: str) -> bool:
    return heading.rstrip(":").strip().casefold() in _CALLOUT_TITLES


def _callout_line(text: str) -> bool:
    """Whether a paragraph starts with a callout's title written as a heading (`### Note`)."""
    match = _ATX.match(text.split("\n", 1)[0].strip())
    return match is not None and _is_callout_title(_CLOSING_HASHES.sub("", match[2]))


@functools.lru_cache(maxsize=1 << 14)
def _label_ok(label: str, *, capital: bool = False, limit: int = MAX_LABEL_CHARS) -> bool:
    """Whether `label` reads as the name of a field ("Installed size", "Area - comparative")
    rather than the start of a sentence ("He said", "The options are")."""
    if not label or len(label) > limit or "://" in label:
        return False
    first = label[0]
    if not (first.isalnum() or first in "\"'(*_[`"):
        return False
    if capital and not (first.isupper() or first.isdigit() or first in "\"'(*_[`"):
        return False
    words = label.split()
    if len(words) > MAX_LABEL_WORDS:
        return False
    if label[-1] in ".,;!?-=([{" or _SENTENCE_BREAK.search(label):
        return False
    if label.count('"') % 2 or not _balanced(label):
        return False  # the colon is inside brackets or quotes
    if len(words) == 1 or _CLAUSE_WORDS.isdisjoint(
        label.casefold().translate(_WORD_PUNCTUATION).split()
    ):
        return True
    for word in label.translate(_WORD_PUNCTUATION).split():  # "US", "IT" are no pronouns
        if word.casefold() in _CLAUSE_WORDS and not (len(word) > 1 and word.isupper()):
            return False
    return True


def _label_value(line: str, *, capital: bool = False) -> tuple[str, str] | None:
    """`(label, value)` for a `Label: value` or `Label:` line (value "" then), else None."""
    match = _LABEL.match(line)
    if match is None:
        return None
    label = match[1].strip()
    if not _label_ok(label, capital=capital):
        return None
    return label, (match[2] or "").strip()


def _balanced(cell: str) -> bool:
    for opener, closer in zip(_OPENERS, _CLOSERS, strict=True):
        if cell.count(opener) != cell.count(closer):
            return False
    return True


def _pipe_cells(line: str, outer: bool | None = None) -> list[str] | None:
    """The cells of a `cell | cell` row (pipes with space around them; `\\|` is escaped), or
    None when the line is no row: fewer than 2 cells, or a pipe inside brackets. `outer`: whether
    a pipe at both ends is a border, not an empty cell at each end (None: when it has both)."""
    if " |" not in line and "| " not in line:
        return None
    parts = _PIPE_SPLIT.split(line)
    if outer is None:
        outer = line[0] == "|" and line[-1] == "|"
    if outer and len(parts) > 2 and line[0] == "|" and line[-1] == "|":
        parts = parts[1:-1]
    if len(parts) < 2:
        return None
    cells: list[str] = []
    filled = 0
    for part in parts:
        cell = part.strip()
        if cell:
            if not _balanced(cell) and (" " in cell or "\t" in cell):
                return None  # `[ a | b ]`: the pipe is inside brackets
            filled += 1
        cells.append(cell.replace("\\|", "|"))
    return cells if filled else None


def _continues_grammar(header: _Row, line: str, cells: list[str]) -> bool:
    """Whether `line` goes on with alternatives (`| CREATEDB | NOCREATEDB`) rather than being a
    row under `header`: it starts with a pipe that neither the header nor its own end has, and
    it has another number of cells."""
    return (line[0] == "|" and line[-1] != "|" and header.text[0] != "|") and len(cells) != len(
        header.cells
    )


def _md_cells(line: str) -> list[str]:
    """The cells of a Markdown pipe-table row: split on every unescaped pipe, outer ones
    optional."""
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _MD_PIPE_SPLIT.split(line)]


def _md_row_cells(line: str) -> list[str] | None:
    """The cells of a Markdown pipe-table row, None for a line without a pipe."""
    return _md_cells(line) if "|" in line else None


def _spaced_cells(outer: bool | None) -> Callable[[str], list[str] | None]:
    """How a `cell | cell` table with (or without) outer pipes reads its rows' cells."""
    return functools.partial(_pipe_cells, outer=outer)


def _is_rule(line: str) -> bool:
    """A table's delimiter or border line: `|---|:--:|`, `----+----`, `+----+====+`."""
    if not ("|" in line or "+" in line) or not ("-" in line or "=" in line):
        return False
    if not _DELIMITER_CHARS.issuperset(line):
        return False
    if "|" in line and "+" not in line and "=" not in line:
        cells = [cell.strip() for cell in _md_cells(line)]
        return all(_DELIMITER_CELL.fullmatch(cell) for cell in cells if cell)
    return True


def _is_thematic(line: str) -> bool:
    """`---`, `* * *`, `___` (3 or more of one character, spaces allowed between)."""
    char = line[0]
    if char not in _THEMATIC_CHARS or len(line) < 3:
        return False
    compact = line.replace(" ", "").replace("\t", "")
    return len(compact) >= 3 and not compact.strip(char)


# --- the parser ---------------------------------------------------------------------------------


class _Parser:
    """One pass over the lines of a text; `parse` emits headings and blocks in text order."""

    def __init__(self, text: str, markdown: bool) -> None:
        self.text = text
        self.markdown = markdown
        parts = text.split("\n")
        starts = list(accumulate((len(part) + 1 for part in parts), initial=0))
        if text.startswith("\ufeff"):  # a byte order mark is no content
            parts[0] = parts[0][1:]
            starts[0] = 1
        body = [part.strip() for part in parts]
        lead = [part.find(b) if b else 0 for part, b in zip(parts, body, strict=True)]
        self.n = len(parts)
        self.raw = parts
        self.body = body
        self.cs = [s + k for s, k in zip(starts, lead, strict=False)]
        self.ce = [c + len(b) for c, b in zip(self.cs, body, strict=True)]
        self.ind = [
            len(part[:k].expandtabs(4)) if k and "\t" in part[:k] else k
            for part, k in zip(parts, lead, strict=True)
        ]
        self.out = SectionAssembler()
        self._table_cache: tuple[int, tuple[Table, int] | None] = (-1, None)
        self._no_table_until = -1  # lines up to this one were read as no table
        self._closers: dict[str, tuple[list[int], list[int]]] | None = None
        self._marks: list[object] = [_UNREAD] * self.n
        # paragraph start -> (first line, last line), for those that may be read again as term
        # lines or as a list of lines
        self._term_paragraphs: dict[int, tuple[int, int]] = {}
        self._item_paragraphs: dict[int, tuple[int, int]] = {}
        self._shapes: dict[int, tuple[float, ...]] = {}  # paragraph start -> its `_cell_shape`
        self._term_shapes: set[str] = set()  # `_term_shape`s of the terms of accepted runs

    # -- driving ------------------------------------------------------------------------------

    def parse(self, title: str) -> DocumentStructure:
        self.out = SectionAssembler(title)
        body, n = self.body, self.n
        i = self._front_matter() if self.markdown else 0
        while i < n:
            if not body[i]:
                i += 1
                continue
            i = self._block(i)
        structure = self.out.finish(len(self.text))
        if self._term_paragraphs or self._item_paragraphs:
            for section in structure.root.walk():
                if section.blocks:
                    section.blocks = self._reread(section.blocks)
        shapes = frozenset(self._term_shapes)
        if shapes:  # a short run of terms shaped as the document's other entries are
            for section in structure.root.walk():
                if section.blocks and not any(
                    isinstance(block, DefinitionList) for block in section.blocks
                ):
                    section.blocks = self._reread(section.blocks, shapes)
        return structure

    def _front_matter(self) -> int:
        """The line after YAML front matter, else 0: a first line `---`, then `key: ...` and
        more lines up to a line `---` or `...`."""
        if self.n < 3 or self.body[0] != "---" or self.ind[0] or not _FRONT_KEY.match(self.raw[1]):
            return 0
        for j in range(2, self.n):
            if self.raw[j].rstrip() in ("---", "..."):
                return j + 1
        return 0

    def _block(self, i: int) -> int:
        """Read the block (or heading) starting at non-blank line `i`; the line after it."""
        b = self.body[i]
        first = b[0]
        small_indent = self.ind[i] <= 3
        if first in _STARTERS and small_indent:
            if first == "#" and self._heading(i):
                return i + 1
            if first in "`~":
                end = self._fenced(i)
                if end is not None:
                    return end
            if self.markdown and first in _THEMATIC_CHARS and _is_thematic(b):
                return i + 1
        if self.markdown and not small_indent:
            return self._indented_code(i)
        end = self._list(i)
        if end is not None:
            return end
        if "|" in b or "\t" in b or first == "+":
            found = self._table(i)
            if found is not None:
                table, end = found
                self.out.block(table)
                return end
        end = self._definitions(i)
        if end is not None:
            return end
        return self._paragraph(i)

    # -- headings and code --------------------------------------------------------------------

    def _atx(self, i: int) -> tuple[int, str, str] | None:
        """`(level, heading, anchor)` when line `i` is an ATX heading (in plain text only at the
        start of the line: an indented `# ...` there is a comment in an example)."""
        if self.ind[i] > (3 if self.markdown else 0):
            return None
        match = _ATX.match(self.body[i])
        if match is None:
            return None
        heading = _CLOSING_HASHES.sub("", match[2]).strip()
        anchor = ""
        found = _ANCHOR.search(heading)
        if found is not None:
            anchor = found[1]
            heading = heading[: found.start()].strip()
        if not heading or _is_callout_title(heading):
            return None
        return len(match[1]), heading, anchor or slugify(heading)

    def _heading(self, i: int) -> bool:
        found = self._atx(i)
        if found is None:
            return False
        level, heading, anchor = found
        self.out.heading(heading, level, self.cs[i], self.ce[i], anchor)
        return True

    def _fence(self, i: int) -> re.Match[str] | None:
        """An opening fence: in plain text its info string is one word at most."""
        if self.ind[i] > 3 or self.body[i][0] not in "`~":
            return None
        return (_FENCE if self.markdown else _PLAIN_FENCE).match(self.body[i])

    def _fence_close(self, i: int) -> tuple[re.Match[str], int] | None:
        """The opening fence at line `i` and the line of its closing fence (the line count when
        a Markdown fence is left open), or None (no fence; in plain text an unclosed one)."""
        match = self._fence(i)
        if match is None:
            return None
        fence = match[1]
        if self._closers is None:
            self._closers = self._closing_fences()
        lines, lengths = self._closers[fence[0]]
        for index in range(bisect_right(lines, i), len(lines)):
            if lengths[index] >= len(fence):
                return match, lines[index]
        return (match, self.n) if self.markdown else None

    def _closing_fences(self) -> dict[str, tuple[list[int], list[int]]]:
        """For "`" and "~": the lines that may close a fence (only that character, 3 or more,
        indented by 3 columns at most) and their lengths."""
        found: dict[str, tuple[list[int], list[int]]] = {"`": ([], []), "~": ([], [])}
        for j, b in enumerate(self.body):
            if b[:3] in ("```", "~~~") and not b.strip(b[0]) and self.ind[j] <= 3:
                lines, lengths = found[b[0]]
                lines.append(j)
                lengths.append(len(b))
        return found

    def _fenced(self, i: int) -> int | None:
        found = self._fence_close(i)
        if found is None:
            return None
        match, close = found
        if close < self.n:
            last, inner_stop, after = close, close, close + 1
        else:  # left open: the code runs to the end of the text
            last = self._last_filled(i, self.n)
            inner_stop, after = last + 1, self.n
        inner = "\n".join(self._line(k) for k in range(i + 1, inner_stop))
        self.out.block(Code(inner, self.cs[i], self.ce[last], match[2]))
        return after

    def _indented_code(self, i: int) -> int:
        body, ind = self.body, self.ind
        j = last = i
        while j < self.n and (not body[j] or ind[j] >= 4):
            if body[j]:
                last = j
            j += 1
        inner = "\n".join(_drop_columns(self._line(k), 4) for k in range(i, last + 1))
        self.out.block(Code(inner, self.cs[i], self.ce[last]))
        return last + 1

    # -- lists --------------------------------------------------------------------------------

    def _marker(self, i: int) -> tuple[int, bool, int] | None:
        """`(width of the marker and its spaces, ordered, number)` when line `i` is a list item."""
        known = self._marks[i]
        if known is not _UNREAD:
            return known  # type: ignore[return-value]
        b = self.body[i]
        found: tuple[int, bool, int] | None = None
        if b and b[0] in _STARTERS:
            match = _MARKER.match(b)
            if match is not None and not (b[match.end()] == b[0] and _is_thematic(b)):
                number = match[1]
                found = match.end(), number is not None, int(number) if number else 0
        self._marks[i] = found
        return found

    def _list(self, i: int) -> int | None:
        first = self._marker(i)
        if first is None:
            return None
        body, ind, n = self.body, self.ind, self.n
        ordered = first[1]
        top: list[ListItem] = []
        items: list[ListItem] = []
        parents: list[int] = []
        texts: list[list[str]] = []
        stack: list[tuple[int, int, int]] = []  # (marker indent, content indent, item index)
        j = last = i
        after_blank = False
        while j < n:
            b = body[j]
            if not b:  # a blank line: the list goes on with an item or an indented paragraph
                k = j + 1
                while k < n and not body[k]:
                    k += 1
                if k >= n:
                    break
                mark = self._marker(k)
                if mark is not None:
                    if ind[k] <= stack[0][0] and mark[1] != ordered:
                        break
                elif not any(content <= ind[k] for _, content, _ in stack):
                    break
                j, after_blank = k, True
                continue
            mark = self._marker(j)
            if mark is not None:
                indent = ind[j]
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                if not stack and mark[1] != ordered:
                    break  # a numbered list after a bulleted one (or the reverse): a new list
                if len(stack) >= MAX_LIST_DEPTH:
                    stack.pop()
                parent = stack[-1][2] if stack else -1
                item = ListItem("", self.cs[j], self.ce[j])
                (items[parent].children if parent >= 0 else top).append(item)
                items.append(item)
                parents.append(parent)
                texts.append([b[mark[0] :]])
                stack.append((indent, indent + mark[0], len(items) - 1))
            else:  # a continuation line: of the deepest item it is indented under
                if ("|" in b or "\t" in b or b[0] == "+") and self._table(j) is not None:
                    break  # a table inside an item (`- Limits:` over `  Name | Value` rows)
                if after_blank:
                    while stack and stack[-1][1] > ind[j]:
                        stack.pop()
                else:
                    while stack and stack[-1][0] >= ind[j]:
                        stack.pop()
                if not stack:
                    break
                index = stack[-1][2]
                texts[index].append(b)
                items[index].end = self.ce[j]
            last, after_blank = j, False
            j += 1
        for index in range(len(items) - 1, -1, -1):
            item = items[index]
            item.text = " ".join(texts[index])
            parent = parents[index]
            if parent >= 0 and item.end > items[parent].end:
                items[parent].end = item.end
        end = max(item.end for item in top)
        entries = self._list_definitions(top)
        if entries is not None:
            self.out.block(DefinitionList(entries, top[0].start, end))
        else:
            self.out.block(ListBlock(top, top[0].start, end, ordered))
        return last + 1

    @staticmethod
    def _list_definitions(items: list[ListItem]) -> list[Definition] | None:
        """The items as definitions when every one is a flat `Label: value`."""
        entries: list[Definition] = []
        for item in items:
            if item.children:
                return None
            pair = _label_value(item.text)
            if pair is None or not pair[1]:
                return None
            entries.append(Definition(pair[0], pair[1], item.start, item.end))
        return entries

    # -- tables -------------------------------------------------------------------------------

    def _table(self, i: int) -> tuple[Table, int] | None:
        """The table starting at line `i` and the line after it, or None."""
        if i <= self._no_table_until:
            return None
        if self._table_cache[0] != i:
            self._table_cache = (i, self._read_table(i))
        return self._table_cache[1]

    def _is_row_line(self, k: int, in_table: bool = False) -> bool:
        """Whether line `k` may be a table row at all: not blank, no list item, no heading."""
        b = self.body[k]
        if not b:
            return False
        mark = self._marker(k)
        if mark is not None or (b[0] == "#" and self._atx(k) is not None):
            # under rows, a line whose first cell is a `-`, `1.` or `#` is a row
            head = mark[0] if mark is not None else len(b) - len(b[1:].lstrip())
            return in_table and b[head : head + 2].rstrip() == "|"
        return True

    def _read_table(self, i: int) -> tuple[Table, int] | None:
        if not self._is_row_line(i):
            return None
        b = self.body[i]
        if "|" in b and i + 1 < self.n and _is_rule(self.body[i + 1]) and not _is_rule(b):
            return self._delimited_table(i)
        if "|" in b or b[0] == "+":
            found = self._spaced_table(i)
            if found is not None or "\t" not in b:
                return found
        if "\t" in b:
            return self._tab_table(i)
        return None

    def _delimited_table(self, i: int) -> tuple[Table, int] | None:
        """A header line, a delimiter line (`|---|:--:|`, `----+----`), rows with pipes."""
        header = _md_cells(self.body[i])
        if len(header) < 2:
            return None
        rows = [_Row(i, header)]
        k, last = i + 2, i + 1
        group = ""
        while k < self.n:
            b = self.body[k]
            if self._is_row_line(k) and ("|" in b or _is_rule(b)):
                if not _is_rule(b):
                    rows.append(_Row(k, _md_cells(b), group=group))
                last = k
                k += 1
                continue
            label = self._group_label(k, rows[-1], _md_row_cells)
            if label is None:
                break
            group, k = label, k + 1
        return self._make_table(rows, 1, i, last), last + 1

    def _spaced_table(self, i: int) -> tuple[Table, int] | None:
        """Lines of `cell | cell` (first line the header), rule lines (`+---+`) between them."""
        rows: list[_Row] = []
        header_rows = 1
        k, last = i, i
        group = ""
        while k < self.n:
            b = self.body[k]
            cells = None
            if self._is_row_line(k, in_table=bool(rows)):
                if _is_rule(b):
                    if rows and header_rows == 1 and len(rows) <= 3:
                        header_rows = -len(rows)  # rows above the first rule: the header
                    last = k
                    k += 1
                    continue
                cells = _pipe_cells(b, rows[0].text[0] == "|" if rows else None)
                if cells is not None and rows and _continues_grammar(rows[0], b, cells):
                    cells = None
            if cells is None:
                outer = rows[0].text[0] == "|" if rows else None
                label = self._group_label(k, rows[-1] if rows else None, _spaced_cells(outer))
                if label is None:
                    break
                group, k = label, k + 1
                continue
            rows.append(_Row(k, cells, b, group))
            last = k
            k += 1
        if len(rows) < 2 or sum(1 for cell in rows[0].cells if cell) < 2:
            return None
        header = -header_rows if header_rows < 0 and -header_rows < len(rows) else 1
        if all(_label_value(self.body[row.line]) for row in rows):
            self._no_table_until = last  # and no later line of the run starts one either
            return None  # `Label: a | b` lines: definitions whose values hold pipes
        return self._make_table(rows, header, i, last), last + 1

    def _tab_table(self, i: int) -> tuple[Table, int] | None:
        """Lines that split into the same number (2 or more) of cells on tabs."""
        cells = self._tab_cells(i)
        width = len(cells)
        if sum(1 for cell in cells if cell) < 2:
            return None
        rows = [_Row(i, cells)]
        k = i + 1
        while k < self.n and "\t" in self.body[k] and self._is_row_line(k):
            cells = self._tab_cells(k)
            if len(cells) != width:
                break
            rows.append(_Row(k, cells))
            k += 1
        if len(rows) < 2:
            return None
        return self._make_table(rows, 1, i, k - 1), k

    def _tab_cells(self, k: int) -> list[str]:
        """Line `k` split on tabs (a tab at either end is an empty cell, spaces are not)."""
        return [cell.strip() for cell in self._line(k).strip(" ").split("\t")]

    def _group_label(
        self, k: int, above: _Row | None, cells_of: Callable[[str], list[str] | None]
    ) -> str | None:
        """Line `k` as the label of the group of table rows below it ("Class 12 — Widget
        Errors"), or None: a short line with a letter or digit and no pipe, tab or run of
        spaces, no heading, fence or rule, not sentences, indented no deeper than the rows
        around it, between row `above` and a row (`cells_of` reads its cells) of as many cells
        that heads no table of its own (no rule line under it)."""
        if above is None or k + 1 >= self.n:
            return None
        b, following = self.body[k], self.body[k + 1]
        if not b or not following or len(b) > MAX_GROUP_CHARS or "|" in b or "\t" in b:
            return None
        if "  " in b:
            return None  # aligned columns (a drawing, a table of another form)
        if self.ind[k] > min(self.ind[above.line], self.ind[k + 1]) + 2:
            return None  # a table's title centred above it (psql)
        if k + 2 < self.n and _is_rule(self.body[k + 2]):
            return None
        if _is_sentences(b):
            return None
        if b[0] in "#`~" and (self._atx(k) is not None or self._fence(k) is not None):
            return None
        if _is_rule(b) or not _has_word(b):
            return None
        if _is_rule(following) or not self._is_row_line(k + 1, in_table=True):
            return None
        cells = cells_of(following)
        return b if cells is not None and len(cells) == len(above.cells) else None

    def _make_table(self, rows: list[_Row], header_rows: int, first: int, last: int) -> Table:
        width = max(len(row.cells) for row in rows)
        cells = [[_clip(c) for c in row.cells] + [""] * (width - len(row.cells)) for row in rows]
        groups = [row.group for row in rows[header_rows:]]
        return Table(
            header=cells[:header_rows],
            rows=cells[header_rows:],
            start=self.cs[first],
            end=self.ce[last],
            row_spans=[(self.cs[row.line], self.ce[row.line]) for row in rows[header_rows:]],
            groups=groups if any(groups) else [],
        )

    # -- definitions --------------------------------------------------------------------------

    def _term(self, j: int) -> str | None:
        """Line `j` as a term whose description follows on lines indented by 2-3 columns more."""
        k = j + 1
        if k >= self.n or not self.body[k] or not 2 <= self.ind[k] - self.ind[j] <= 3:
            return None
        term, first = self.body[j], self.body[k][0]
        if (
            not (first.isalnum() or first in "\"'`*_")
            or self._marker(k) is not None
            or _CODE_LIKE.search(term)
            or not _label_ok(term, limit=MAX_TERM_CHARS)
        ):
            return None
        return term

    def _definitions(self, i: int) -> int | None:
        body, ind, n = self.body, self.ind, self.n
        entries: list[Definition] = []
        j = i
        while j < n and body[j]:
            if j > i and self._interrupts(j):
                break
            pair = _label_value(body[j])
            if pair is not None and pair[1]:  # Label: value (lines indented under it go on)
                k = j + 1
                while k < n and body[k] and ind[k] >= ind[j] + 2 and self._marker(k) is None:
                    k += 1
                if k < n and body[k] and _wraps(body[k - 1], body[k]):
                    k = self._wrapped(k)
                description = "\n".join([pair[1], *body[j + 1 : k]])
                entries.append(Definition(pair[0], description, self.cs[j], self.ce[k - 1]))
                j = k
                continue
            if pair is not None:  # Label: alone, the description on the lines after it
                k = j + 1
                if (
                    k >= n
                    or not body[k]
                    or self._marker(k) is not None
                    or self._interrupts(k)
                    or _is_underline(body[k])
                ):
                    break
                while k < n and body[k] and self._marker(k) is None and not self._interrupts(k):
                    k += 1
                description = "\n".join(body[j + 1 : k])
                entries.append(Definition(pair[0], description, self.cs[j], self.ce[k - 1]))
                j = k
                break
            term = self._term(j)
            if term is None:
                break
            k = j + 2
            while k < n:  # the indented lines, and indented paragraphs after blank lines
                if body[k]:
                    if ind[k] < ind[j] + 2:
                        break
                    k += 1
                    continue
                after = k
                while after < n and not body[after]:
                    after += 1
                if after >= n or ind[after] < ind[j] + 2 or self._marker(after) is not None:
                    break
                k = after
            if k < n and body[k] and not self._ends_term(k):
                break  # the indented lines run into plain text: not a definition
            if any(body[d][-1:] in _CODE_ENDS for d in range(j + 1, k)) or body[k - 1][-1] == ":":
                break  # a statement and its continuation lines, or text introducing more
            description = "\n".join(body[j + 1 : k])
            entries.append(Definition(term, description, self.cs[j], self.ce[k - 1]))
            j = k
        if not entries:
            return None
        self.out.block(DefinitionList(entries, entries[0].start, entries[-1].end))
        return j

    def _wrapped(self, k: int) -> int:
        """The line after the lines from `k` that continue a wrapped value: up to a blank line,
        a line starting a block, or a `Label: value` line."""
        body = self.body
        while k < self.n and body[k] and not self._interrupts(k):
            if _label_value(body[k], capital=True) is not None:
                break
            k += 1
        return k

    def _ends_term(self, k: int) -> bool:
        """Whether line `k` may follow a term's description: another entry or another block."""
        return (
            _label_value(self.body[k]) is not None
            or self._term(k) is not None
            or self._interrupts(k)
        )

    # -- paragraphs ---------------------------------------------------------------------------

    def _interrupts(self, k: int) -> bool:
        """Whether non-blank line `k` ends a paragraph: it starts a heading, a fence, a list (a
        bullet or the number 1), a table, or (Markdown) a thematic break."""
        b = self.body[k]
        first = b[0]
        if first in _STARTERS and self.ind[k] <= 3:
            if first == "#":
                if self._atx(k) is not None:
                    return True
            elif first in "`~":
                if self._fence_close(k) is not None:
                    return True
            elif self.markdown and first in _THEMATIC_CHARS and _is_thematic(b):
                return True
        if first in _STARTERS and (self.ind[k] <= 3 or not self.markdown):
            mark = self._marker(k)
            if mark is not None and (not mark[1] or mark[2] == 1):
                return True
        if "|" in b or "\t" in b or first == "+":
            return self._table(k) is not None
        return False

    def _paragraph(self, i: int) -> int:
        body, n = self.body, self.n
        j = i + 1
        while j < n and body[j]:
            b = body[j]
            if self.markdown and b[0] in "=-" and self.ind[j] <= 3 and _is_underline(b):
                return self._setext(i, j)
            if self._interrupts(j):
                break
            j += 1
        self._paragraph_lines(i, j)
        return j

    def _setext(self, i: int, underline: int) -> int:
        """Lines `i`.. with a Setext underline: the line above it is a heading."""
        head = underline - 1
        if head > i:
            self._paragraph_lines(i, head)
        heading = self.body[head]
        anchor = ""
        found = _ANCHOR.search(heading)
        if found is not None and found.start() > 0:
            anchor, heading = found[1], heading[: found.start()].strip()
        level = 1 if self.body[underline][0] == "=" else 2
        self.out.heading(
            heading, level, self.cs[head], self.ce[underline], anchor or slugify(heading)
        )
        return underline + 1

    def _paragraph_lines(self, i: int, j: int) -> None:
        """Emit lines `i` up to `j` (exclusive) as a paragraph; `Label: value` lines ending it
        (labels with a capital) as a definition list, and a last `Label:` line above a list as a
        paragraph of its own."""
        body = self.body
        label_line = -1
        k = j - 1
        if k > i and j < self.n and body[j] and self._marker(j) is not None:
            pair = _label_value(body[k], capital=True)
            if pair is not None and not pair[1]:
                label_line, k = k, k - 1
        entries: list[Definition] = []
        tail = k
        while tail > i:
            pair = _label_value(body[tail], capital=True)
            if pair is None or not pair[1]:
                break
            entries.append(Definition(pair[0], pair[1], self.cs[tail], self.ce[tail]))
            tail -= 1
        self._emit_paragraph(i, tail)
        if entries:
            entries.reverse()
            self.out.block(DefinitionList(entries, entries[0].start, entries[-1].end))
        if label_line >= 0:
            self._emit_paragraph(label_line, label_line)

    def _emit_paragraph(self, first: int, last: int) -> None:
        start, end = self.cs[first], self.ce[last]
        text = self.text[start:end]
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        self.out.block(Paragraph(text, start, end))
        count = last - first + 1
        if count >= MIN_LINE_ITEMS and end - start <= count * (MAX_ITEM_LINE_CHARS + 1):
            self._item_paragraphs[start] = (first, last)
        if count <= MAX_TERM_LINES and text[-1] not in ".,;:" and not _callout_line(text):
            self._term_paragraphs[start] = (first, last)

    # -- paragraphs read again: term lines with descriptions, lines of items ------------------

    def _reread(self, blocks: list[Block], shapes: frozenset[str] | None = None) -> list[Block]:
        """A section's blocks with runs of term paragraphs and their descriptions as definition
        lists and paragraphs of item lines as lists. With `shapes` (read again, after every
        section was read): a run of `MIN_SHAPED_TERMS`+ terms is enough where every term is
        written in one of the shapes of the terms of the document's accepted runs."""
        if (
            shapes is None
            and len(self._term_paragraphs) >= 2
            and len(blocks) >= 2 + 2 * MIN_FLAT_ROWS
        ):
            blocks = self._flat_tables(blocks)
        items = self._item_paragraphs
        least = MIN_LINE_TERMS if shapes is None else MIN_SHAPED_TERMS
        if len(blocks) < 2 * least:  # too few for a run of definitions
            return [self._line_list(block) if block.start in items else block for block in blocks]
        terms = [self._term_lines(block) for block in blocks]
        out: list[Block] = []
        b = 0
        while b < len(blocks):
            found = terms[b]
            if found is not None and b + 1 < len(blocks) and self._describes(found, blocks[b + 1]):
                run = self._line_definitions(blocks, terms, b)
                if self._starts_entry(blocks, terms, b + 1):  # or is the first term the next one?
                    shifted = self._line_definitions(blocks, terms, b + 1)
                    if shifted.score > run.score:
                        out.append(self._line_list(blocks[b]))
                        b, run = b + 1, shifted
                if run.accepted or (shapes is not None and _shaped(run, terms, shapes)):
                    out.append(self._definition_list(blocks, terms, run))
                    b = run.after
                    continue
                if len(run.parts) >= MIN_LINE_TERMS:  # no run starts inside this one either
                    out.extend(self._line_list(block) for block in blocks[b : run.after])
                    b = run.after
                    continue
            block = blocks[b]
            out.append(self._line_list(block) if block.start in items else block)
            b += 1
        return out

    def _line_definitions(
        self, blocks: list[Block], terms: list[list[str] | None], b: int
    ) -> _TermRun:
        """The run of definitions starting at block `b`: each a term paragraph, then its
        description: the next block (a paragraph or a `Label: value` line), and the paragraphs
        after it up to the next term paragraph followed by one, with the other blocks (lists,
        code) between them. A table ends the run, and so does the end of the section; the last
        description ends with its last paragraph (not one ending with ':', which introduces what
        follows). Several term lines are one term joined with ", "."""
        run = _TermRun()
        n = len(blocks)
        while True:
            last, c = b + 1, b + 2
            while c < n and not isinstance(blocks[c], Table):
                if self._starts_entry(blocks, terms, c):
                    break
                block = blocks[c]
                if isinstance(block, Paragraph) and block.text[-1] != ":":
                    last = c
                c += 1
            goes_on = c < n and not isinstance(blocks[c], Table)
            if goes_on:
                last = c - 1
            run.parts.append((b, last))
            run.term_chars += max(map(len, terms[b] or ()))
            run.description_chars += blocks[b + 1].end - blocks[b + 1].start
            run.after = last + 1
            if not goes_on:
                return run
            b = c

    def _definition_list(
        self, blocks: list[Block], terms: list[list[str] | None], run: _TermRun
    ) -> DefinitionList:
        """The definition list of an accepted run: descriptions are their blocks' lines,
        stripped, the blocks a blank line apart."""
        entries: list[Definition] = []
        for b, last in run.parts:
            description = "\n\n".join(self._lines_of(block) for block in blocks[b + 1 : last + 1])
            term = ", ".join(terms[b] or ())
            shape = _term_shape(terms[b] or [])
            if shape:
                self._term_shapes.add(shape)
            entries.append(Definition(term, description, blocks[b].start, blocks[last].end))
        return DefinitionList(entries, entries[0].start, entries[-1].end)

    @staticmethod
    def _starts_entry(blocks: list[Block], terms: list[list[str] | None], b: int) -> bool:
        """Whether block `b` is a term paragraph followed by what may open a description."""
        return terms[b] is not None and b + 1 < len(blocks) and _opens_description(blocks[b + 1])

    def _term_lines(self, block: Block) -> list[str] | None:
        """The lines of a paragraph that reads as a term of the definition below it: up to
        `MAX_TERM_LINES` short lines, none a sentence or `Label: value`, ending with `.,;:`
        or cut mid-sentence (`max_widgets (integer)`, `-j njobs` over `--jobs=njobs`)."""
        found = self._term_paragraphs.get(block.start)
        if found is None or not isinstance(block, Paragraph):
            return None
        first, last = found
        if last - first >= MAX_TERM_LINES:
            return None
        lines = self.body[first : last + 1]
        for index, line in enumerate(lines):
            if len(line) > MAX_LINE_TERM_CHARS or line[-1] in ".,;:":
                return None
            if line.rsplit(None, 1)[-1] in _MID_SENTENCE_WORDS:  # "from", not "ON" or "IF"
                return None
            if index + 1 < len(lines) and line[-1] in _WRAP_ENDS:
                return None
            if _SENTENCE_BREAK.search(line) or (":" in line and _label_value(line) is not None):
                return None
        return lines

    @staticmethod
    def _describes(term: list[str], block: Block) -> bool:
        """Whether `block` may start the description of `term` that starts a run: it may open
        a description and is clearly longer than each term line."""
        longest = max(len(line) for line in term)
        return _opens_description(block) and block.end - block.start >= DESCRIPTION_RATIO * longest

    def _lines_of(self, block: Block) -> str:
        """The text of `block`, each line stripped."""
        if isinstance(block, Paragraph) and "\n" not in block.text:
            return block.text
        return "\n".join(line.strip() for line in self.text[block.start : block.end].split("\n"))

    def _line_list(self, block: Block) -> Block:
        """`block` as a list when it is a paragraph of `MIN_LINE_ITEMS`+ item lines (a contents
        page: `E.1. Release 4.2`, `E.1.1. Migration`): one item a line, nested by the depth of
        their section numbers when every line has one; else `block` itself."""
        found = self._item_paragraphs.get(block.start)
        if found is None or not isinstance(block, Paragraph):
            return block
        first, last = found
        if not self._item_lines(first, last):
            return block
        return ListBlock(self._outline_items(first, last), block.start, block.end)

    def _item_lines(self, first: int, last: int) -> bool:
        """Whether lines `first`..`last` are each an item-like phrase: short, starting with a
        letter, digit, quote, bracket or dash, no sentences, no wrapped prose (a line ending
        mid-sentence, or going on in lower case under a capital start or a long line, a bracket
        closed on another line, a period ending only the last line), no code, `Label: value`
        or table line."""
        lines = self.body[first : last + 1]
        capital = not lines[0][0].islower()
        previous = ""
        for line in lines:  # the cheap checks first
            if len(line) > MAX_ITEM_LINE_CHARS or line[-1] in _WRAP_ENDS:
                return False
            if not (line[0].isalnum() or (line[0] in _ITEM_OPENERS and _has_word(line))):
                return False
            if previous and line[0].islower() and (capital or len(previous) >= WRAPPED_LINE_CHARS):
                return False  # the line goes on with the sentence of the line above
            if "|" in line or "\t" in line:
                return False
            previous = line
        if lines[-1][-1] == "." and any(line[-1] != "." for line in lines):
            return False  # one sentence wrapped over the lines
        for index, line in enumerate(lines):
            if _ends_mid_sentence(line) or _is_sentences(line) or _ITEM_CODE_LIKE.search(line):
                return False
            if not _balanced(line):
                return False  # a bracket closed on another line
            if index and line.split(None, 1)[0] in _MID_SENTENCE_WORDS:
                return False
            if ":" in line and _label_value(line) is not None:
                return False
        return True

    def _outline_items(self, first: int, last: int) -> list[ListItem]:
        """Lines `first`..`last` as list items, nested by the depth of their section numbers
        ("E.1." holds "E.1.1.") when every line starts with one, else flat."""
        depths: list[int] = []
        for k in range(first, last + 1):
            match = _OUTLINE_NUMBER.match(self.body[k])
            if match is None:
                depths = [0] * (last - first + 1)
                break
            depths.append(match[0].rstrip(".").count(".") + 1)
        top: list[ListItem] = []
        stack: list[tuple[int, ListItem]] = []
        for k, depth in zip(range(first, last + 1), depths, strict=True):
            item = ListItem(self.body[k], self.cs[k], self.ce[k])
            while stack and (stack[-1][0] >= depth or len(stack) >= MAX_LIST_DEPTH):
                stack.pop()
            (stack[-1][1].children if stack else top).append(item)
            for _, above in stack:
                above.end = item.end
            stack.append((depth, item))
        return top

    # -- tables written one paragraph per cell ------------------------------------------------

    def _flat_tables(self, blocks: list[Block]) -> list[Block]:
        """A section's blocks with each table written one paragraph per cell (how an HTML table
        whose cells hold paragraphs reads as text) as a table: an optional caption paragraph
        ("Table 7.2. Unit Conversions"), a run of 2+ header paragraphs (3+ without a caption)
        that each read as a column name, then body paragraphs that `_flat_rows` reads as rows
        of as many cells."""
        n = len(blocks)
        out: list[Block] = []
        b = 0
        while b < n:
            captioned = self._is_caption(blocks[b])
            first = b + 1 if captioned else b
            run = first
            while run < n and self._header_cell(blocks[run]):
                run += 1
            if run - first >= (2 if captioned else 3) and run < n:
                found = self._flat_table(blocks, b if captioned else -1, first, run)
                if found is not None:
                    table, skipped, after = found
                    out.extend(blocks[b:skipped])
                    out.append(table)
                    b = after
                    continue
            after = max(run, b + 1)
            out.extend(blocks[b:after])
            b = after
        return out

    def _is_caption(self, block: Block) -> bool:
        """Whether `block` is one line that is a table's caption: a paragraph, or a `Label:
        value` line ("Table 3: Sizes")."""
        if not isinstance(block, Paragraph | DefinitionList):
            return False
        text = self.text[block.start : block.end]
        if text[0] != "T" or len(text) > 2 * MAX_ITEM_LINE_CHARS or "\n" in text:
            return False
        return _CAPTION.match(text) is not None

    def _header_cell(self, block: Block) -> bool:
        """Whether `block` reads as a column name: a short one-line paragraph starting with a
        capital, no sentence, no caption, not ending with punctuation."""
        if block.start not in self._term_paragraphs or not isinstance(block, Paragraph):
            return False
        text = block.text
        if len(text) > MAX_HEADER_CELL_CHARS or "\n" in text or not text[0].isupper():
            return False
        if text[-1] in ".,;:!?" or text.count(" ") >= MAX_HEADER_CELL_WORDS:
            return False
        if _is_sentences(text) or _CAPTION.match(text) is not None or "=" in text:
            return False
        return not any(arrow in text for arrow in _ARROWS)

    def _cell_text(self, block: Block) -> str:
        """The text of one paragraph of a cell: a paragraph's lines stripped and joined with a
        space (it was wrapped), a list's or definitions' lines stripped, one a line."""
        if isinstance(block, Paragraph) and "\n" not in block.text:
            return block.text
        lines = [line.strip() for line in self.text[block.start : block.end].split("\n")]
        return (" " if isinstance(block, Paragraph) else "\n").join(line for line in lines if line)

    def _is_cell(self, block: Block) -> bool:
        """Whether `block` may be a paragraph of a cell: a paragraph, a list or definitions
        (`- (-4) → 4`, `Note: ...` written alone in a cell, a list in a cell), no caption."""
        return isinstance(block, Paragraph | ListBlock | DefinitionList) and not (
            self._is_caption(block)
        )

    def _flat_table(
        self, blocks: list[Block], caption: int, first: int, run: int
    ) -> tuple[Table, int, int] | None:
        """The table whose header is a part of the run of header paragraphs `first`..`run`
        (its first or, without a caption, its last 2+ of them; the first cells of the first
        row may read as column names too): the one whose rows read best (`_FlatRows.score`),
        trying fewer columns while that reads better; the table, the index of its first block,
        the index after its last."""
        width = run - first
        least = 2 if caption >= 0 else 3
        best: tuple[int, int, _FlatRows] | None = None
        for k in range(min(width, MAX_FLAT_COLUMNS), least - 1, -1):
            better = False
            for start in [first] if caption >= 0 or k == width else [run - k, first]:
                found = self._flat_rows(blocks, start + k, k, caption >= 0)
                if found is not None and (best is None or found.score < best[2].score):
                    best, better = (start, k, found), True
            if best is not None and not better:
                break
        if best is None:
            return None
        start, k, found = best
        header = [self._cell_text(block) for block in blocks[start : start + k]]
        rows: list[list[str]] = []
        spans: list[tuple[int, int]] = []
        for row in found.rows:
            cells = ["\n".join(self._cell_text(blocks[c]) for c in cell) for cell in row]
            rows.append([_clip(cell) for cell in cells])
            spans.append((blocks[row[0][0]].start, blocks[row[-1][-1]].end))
        after = found.rows[-1][-1][-1] + 1
        table = Table(
            header=[header],
            rows=rows,
            start=blocks[caption if caption >= 0 else start].start,
            end=spans[-1][1],
            caption=self.text[blocks[caption].start : blocks[caption].end] if caption >= 0 else "",
            row_spans=spans,
        )
        return table, caption if caption >= 0 else start, after

    def _flat_rows(
        self, blocks: list[Block], body: int, k: int, captioned: bool
    ) -> _FlatRows | None:
        """The blocks from `body` read as rows of `k` cells, a cell one or more paragraphs, or
        None where they do not read so clearly.

        Each paragraph has a shape (`_cell_shape`: how it starts, arrows, brackets, digits,
        length, ...); each column the mean shape of its paragraphs, first guessed from the
        first paragraphs (`_first_shapes`), then from the paragraphs read into it (`_refine`).
        The best reading (`_segment`: a row goes through the columns in order, each at least
        once, starts with a paragraph like the first column's, and the table ends after a row
        where the paragraphs after it fit no column) is kept when it has `MIN_FLAT_ROWS`+ rows,
        neighbouring columns differ in shape (the last and the first too where a row has a
        first or last cell of several paragraphs), its columns do not repeat a shorter
        pattern (a run of term and description paragraphs is no table of 4 columns) and the
        paragraphs fit their columns well. The last row's last cell ends with its first
        paragraph when no other row has a last cell of several paragraphs, and before a
        paragraph that mentions a table (prose that resumes after the table). Without a
        caption: one more row, columns twice as far apart, and one paragraph a cell."""
        n = len(blocks)
        stop = body
        while stop < n and stop - body < MAX_FLAT_CELLS and self._is_cell(blocks[stop]):
            stop += 1
        least = MIN_FLAT_ROWS if captioned else MIN_FLAT_ROWS + 1
        if stop - body < k * least:
            return None
        shapes = [self._shape(blocks[j]) for j in range(body, stop)]
        best: tuple[float, list[int], list[tuple[float, ...]]] | None = None
        for columns in _first_shapes(shapes, k):
            found = _refine(shapes, columns, k)
            if found is not None and (
                best is None or _objective(found, len(shapes)) < _objective(best, len(shapes))
            ):
                best = found
            if best is not None and _close_and_simple(best[0], best[1]):
                break  # a close fit: the other guess is not needed
        if best is None:
            return None
        total, path, columns = best
        rows: list[list[list[int]]] = []
        for offset, column in enumerate(path):
            if column == 0 and (not offset or path[offset - 1] != 0):
                rows.append([])
            row = rows[-1]
            if len(row) <= column:
                row.append([])
            row[column].append(body + offset)
        if len(rows) < least or total / len(path) > MAX_FLAT_MEAN_COST:
            return None
        if not self._columns_apart(rows, columns, captioned):
            return None
        for period in range(1, k):  # rows of k cells that repeat a shorter pattern
            if k % period == 0 and all(
                _shape_distance(columns[c], columns[c + period]) < MIN_COLUMN_DISTANCE
                for c in range(k - period)
            ):
                return None
        last = rows[-1][-1]
        if len(last) > 1:
            longer = any(len(row[-1]) > 1 for row in rows[:-1])
            keep = 1
            while keep < len(last) and longer:
                if _TABLE_MENTION.search(self._cell_text(blocks[last[keep]])):
                    break
                keep += 1
            del last[keep:]
        if not captioned and any(len(cell) > 1 for row in rows for cell in row):
            return None  # without a caption, only rows of one paragraph a cell
        return _FlatRows(rows, total / len(path))

    @staticmethod
    def _columns_apart(
        rows: list[list[list[int]]], columns: list[tuple[float, ...]], captioned: bool
    ) -> bool:
        """Whether the shapes of the columns tell where cells end: without a caption every two
        neighbouring columns are `2 * MIN_COLUMN_DISTANCE` apart; under one, some two are
        `MIN_COLUMN_DISTANCE` apart, and so are two neighbours where one has a cell of several
        paragraphs (the last and the first by half of that: where a row ends)."""
        k = len(columns)
        gaps = [_shape_distance(columns[c], columns[c + 1]) for c in range(k - 1)]
        if not captioned:
            return min(gaps) >= 2 * MIN_COLUMN_DISTANCE
        if max(gaps) < MIN_COLUMN_DISTANCE:
            return False
        several = [any(len(row[c]) > 1 for row in rows) for c in range(k)]
        for c, gap in enumerate(gaps):
            if gap < MIN_COLUMN_DISTANCE and (several[c] or several[c + 1]):
                return False
        wrap = _shape_distance(columns[-1], columns[0])
        return wrap >= MIN_COLUMN_DISTANCE / 2 or not (several[0] or several[-1])

    def _shape(self, block: Block) -> tuple[float, ...]:
        found = self._shapes.get(block.start)
        if found is None:
            found = self._shapes[block.start] = _cell_shape(self._cell_text(block))
        return found

    # -- helpers ------------------------------------------------------------------------------

    def _line(self, k: int) -> str:
        line = self.raw[k]
        return line[:-1] if line.endswith("\r") else line

    def _last_filled(self, i: int, stop: int) -> int:
        """The last non-blank line from `i` up to `stop` (exclusive)."""
        for k in range(stop - 1, i, -1):
            if self.body[k]:
                return k
        return i


def _cell_shape(text: str) -> tuple[float, ...]:
    """The shape of a paragraph in a table cell: features from 0 to 1, each times its weight
    over the weights' sum (`_SHAPE_WEIGHTS`), so the distance of two shapes is the sum of
    their differences. The features: it starts with a capital, a small letter or neither;
    holds an arrow; starts with a name applied to `(` (`abs ( x )`, `abs(x)`); holds a call
    (`name(`); ends with a period; the share of digits at its start; its length in words; its
    first word is in capitals; holds an identifier (`snake_case`, `::`); reads as sentences.
    Only the first `SHAPE_CHARS` characters are looked at, but for the length and the end."""
    first = text[0]
    words = text.count(" ") + 1
    head = text[:SHAPE_CHARS]  # enough to tell the shape of a long paragraph
    start = head[:80]
    digits = len(start) - len(start.translate(_NO_DIGITS))
    features = (
        first.isupper(),
        first.islower(),
        not first.isalpha(),
        _ARROW.search(head) is not None,
        _SIGNATURE.match(head) is not None,
        "(" in head and _CALL.search(head) is not None,
        text[-1] == ".",
        min(1.0, 3 * digits / max(len(start) - start.count(" "), 1)),
        min(1.0, math.log1p(words) / math.log(64)),
        head.split(" ", 1)[0].isupper(),
        ("_" in head and _SNAKE.search(head) is not None) or "::" in head,
        any(map(head.__contains__, ".;!?")) and _is_sentences(head),
    )
    return tuple(map(operator.mul, _SHAPE_SCALE, features))


def _shape_distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """How unlike two shapes are, from 0 (alike) to 1."""
    return sum(map(abs, map(operator.sub, a, b)))


def _mean_shapes(
    shapes: list[tuple[float, ...]], path: list[int], k: int
) -> list[tuple[float, ...]]:
    """The mean shape of the paragraphs read into each of `k` columns."""
    groups: list[list[tuple[float, ...]]] = [[] for _ in range(k)]
    for shape, column in zip(shapes, path, strict=False):
        groups[column].append(shape)
    return [tuple(x / len(group) for x in map(sum, zip(*group, strict=True))) for group in groups]


def _first_shapes(shapes: list[tuple[float, ...]], k: int) -> list[list[tuple[float, ...]]]:
    """First guesses at the shapes of `k` columns from the first paragraphs: the first `k` (a
    first row of one paragraph a cell), and the first paragraph of each run of paragraphs of
    one shape (a first row with cells of several paragraphs)."""
    guesses = [shapes[:k]]
    runs = [shapes[0]]
    for shape in shapes[1:]:
        if len(runs) == k:
            break
        if _shape_distance(shape, runs[-1]) >= MIN_COLUMN_DISTANCE:
            runs.append(shape)
    if len(runs) == k and runs != guesses[0]:
        guesses.append(runs)
    return guesses


def _close_and_simple(total: float, path: list[int]) -> bool:
    """Whether a reading fits closely (`CLOSE_FIT` on the mean) with one paragraph a cell."""
    if total > len(path) * CLOSE_FIT:
        return False
    return all(column != path[i - 1] for i, column in enumerate(path) if i)


def _objective(reading: tuple[float, list[int], list[tuple[float, ...]]], n: int) -> float:
    """What a reading of `n` paragraphs costs in all: its paragraphs', and those after it."""
    return reading[0] + FLAT_OUTSIDE_COST * (n - len(reading[1]))


def _refine(
    shapes: list[tuple[float, ...]], columns: list[tuple[float, ...]], k: int
) -> tuple[float, list[int], list[tuple[float, ...]]] | None:
    """The reading of `shapes` as rows of `k` columns from first guesses at the shapes of the
    columns, read again with the mean shapes of the paragraphs read into each column: its total
    cost, each paragraph's column, the mean shapes of the columns."""
    found = _segment(shapes, columns, k)
    if found is None:
        return None
    columns = _mean_shapes(shapes, found[0], k)
    if found[1] <= len(found[0]) * CLOSE_FIT:
        return found[1], found[0], columns  # the first guesses fit closely already
    again = _segment(shapes, columns, k)
    if again is None:
        return None
    if again[0] != found[0]:
        columns = _mean_shapes(shapes, again[0], k)
    return again[1], again[0], columns


def _segment(
    shapes: list[tuple[float, ...]], columns: list[tuple[float, ...]], k: int
) -> tuple[list[int], float] | None:
    """The best reading of paragraphs (`shapes`) as rows of `k` columns (`columns`: their
    shapes), or None: each paragraph's column, for the paragraphs of the table (a prefix of
    them ending with a whole row), and their total cost. A paragraph in a column costs its
    distance to the column's shape (plus `FLAT_CONTINUE_COST` when it is not the first of its
    cell); one after the table costs `FLAT_OUTSIDE_COST`. A row goes through the columns in
    order, each at least once, and starts with a paragraph whose distance to the first column
    is at most `MAX_ROW_START_DISTANCE`."""
    inf = math.inf
    n = len(shapes)
    sub, cont, limit = operator.sub, FLAT_CONTINUE_COST, MAX_ROW_START_DISTANCE
    dp = [inf] * k
    dp[0] = _shape_distance(shapes[0], columns[0])
    if dp[0] > limit:
        return None
    stays = [0]  # for each paragraph, a bit for each column: reached by staying in it
    best_end, best_total = -1, inf
    for i in range(1, n + 1):
        if dp[-1] < inf:  # the table may end after paragraph i - 1
            total = dp[-1] + FLAT_OUTSIDE_COST * (n - i)
            if total < best_total:
                best_end, best_total = i - 1, total
        if i == n or (best_end >= 0 and i - best_end > MAX_ROW_PARAGRAPHS):
            break
        shape = shapes[i]
        new = [sum(map(abs, map(sub, shape, column))) for column in columns]
        bits = 0
        previous = dp[-1] if new[0] <= limit else inf  # a row starts fitting the first column
        for c in range(k):
            stay = dp[c] + cont
            if stay <= previous:
                new[c] += stay
                bits |= 1 << c
            else:
                new[c] += previous
            previous = dp[c]
        dp = new
        stays.append(bits)
    if best_end < 0:
        return None
    path = [0] * (best_end + 1)
    column = k - 1
    for i in range(best_end, -1, -1):
        path[i] = column
        if not stays[i] >> column & 1:
            column = column - 1 if column else k - 1
    return path, best_total - FLAT_OUTSIDE_COST * (n - 1 - best_end)


def _wraps(line: str, following: str) -> bool:
    """Whether `following` reads as the rest of a sentence wrapped after `line`: `line` ends
    with a comma, an opening bracket, a dash or a joining word, or `following` starts in lower
    case."""
    if following[0].islower() or line[-1] in _WRAP_ENDS:
        return True
    last = line.rsplit(None, 1)[-1].casefold()
    return last in _JOINING_WORDS


def _opens_description(block: Block) -> bool:
    """Whether `block` may be the first of a description below a term paragraph: a paragraph,
    or one `Label: value` line (a list of them is a listing of its own)."""
    return isinstance(block, Paragraph) or (
        isinstance(block, DefinitionList) and len(block.entries) == 1
    )


def _ends_mid_sentence(line: str) -> bool:
    """Whether `line` stops where a sentence goes on: after a comma, an opening bracket, a dash
    or a joining word in lower case ("of", "the", "is"; "IF" or "ON" may be a keyword)."""
    if line[-1] in _WRAP_ENDS:
        return True
    return line.rsplit(None, 1)[-1] in _MID_SENTENCE_WORDS


def _is_sentences(line: str) -> bool:
    """Whether `line` reads as prose: sentences following each other, or one sentence of
    five words or more ending with a period."""
    return bool(_SENTENCE_BREAK.search(line)) or (line[-1] == "." and line.count(" ") >= 4)


def _has_word(line: str) -> bool:
    return any(char.isalnum() for char in line)


def _is_underline(line: str) -> bool:
    return not line.strip("=") or not line.strip("-")


def _drop_columns(line: str, columns: int) -> str:
    """`line` without up to `columns` columns of leading spaces and tabs (tab stops of 4)."""
    column = k = 0
    while k < len(line) and column < columns:
        if line[k] == " ":
            column += 1
        elif line[k] == "\t":
            column = (column // 4 + 1) * 4
        else:
            break
        k += 1
    return line[k:]


def _clip(cell: str) -> str:
    return cell if len(cell) <= MAX_CELL_CHARS else cell[: MAX_CELL_CHARS - 1] + "…"
