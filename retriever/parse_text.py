"""Read the structure of a text that already exists: plain text, Markdown source, JSONL `text`.

`parse_text(text, markdown=..., title=...)` returns a `DocumentStructure` whose every span is an
offset into `text` itself (the text is never changed). It never raises: a text it cannot read
(there should be none) gets an empty structure. It scans line by line with compiled patterns, so
it is cheap enough to run on every document at indexing time.

What it recognises, in both modes unless said otherwise (general conventions, not one source's):
- headings: ATX `#`..`######` + space + text (closing `#`s dropped; in plain text only at the
  start of a line, as an indented `# ...` there is a comment in an example); in Markdown mode
  also Setext (a line over `===` or `---`). The anchor is a trailing `{#id}`, else
  `slugify(heading)`;
- code: fenced with ``` or ~~~ (language from the info string; in plain text only a fence that
  is closed and whose info string is one word); in Markdown mode also lines indented by 4+
  columns that start a block (after a blank line or another block);
- tables: Markdown pipe tables (header, `|---|:--:|` delimiter, rows; `\\|` is an escaped pipe),
  `psql`-style (`---+---` under the header) and `+---+` bordered ones, and runs of 2+ lines that
  split into 2+ cells on ` | ` (the first line is the header; rows may have fewer or more cells,
  all are padded to the widest) or into the same number of cells on tabs. A line that is a list
  item or a heading is no row (but under rows, `- | text` is one), nor is one where a pipe is
  inside brackets (`[ a | b ]`: a grammar, not a table), nor a run whose every line is
  `Label: value`. Captions are not guessed;
- lists: `- `, `* `, `+ `, `• `, `1. `, `1) ` items nested by indentation, continuation lines
  (indented more than the marker) joined to their item's text with a space; a blank line between
  items does not end a list, a numbered item after bulleted ones (or the reverse) does;
- definition lists: runs of `Label: value` lines (a label is short, holds no URL and reads as a
  name, not a clause: "He said: ..." is prose; a value cut mid-sentence, by a comma or a joining
  word or before a line in lower case, goes on over the next lines); a list whose items are all
  `Label: value`; a
  `Label:` line directly followed by lines of text (the description, up to a blank line); a term
  line whose description follows indented by 2-3 columns (how `DocumentRenderer` writes long
  definitions). `Label: value` lines ending a paragraph are split off it when their labels start
  with a capital or digit; a `Label:` line followed by a list stays a paragraph;
- paragraphs: everything else, runs of lines up to a blank line or a line that starts a heading,
  fence, list (a bullet, or a number 1) or table.

Every non-blank line belongs to exactly one block or heading, except YAML front matter and
thematic breaks (`---`, `***`, `___`) in Markdown mode and a byte order mark, which are skipped.
"""

from __future__ import annotations

import functools
import logging
import re
from bisect import bisect_right
from itertools import accumulate

from retriever.structure import (
    MAX_CELL_CHARS,
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

_ATX = re.compile(r"(#{1,6})[ \t]+(.*)")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_ANCHOR = re.compile(r"[ \t]*\{#([^\s{}]+)(?:[ \t][^{}]*)?\}$")
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


class _Row:
    """One table row as read: its line and cells."""

    __slots__ = ("cells", "line", "text")

    def __init__(self, line: int, cells: list[str], text: str = "") -> None:
        self.line = line
        self.cells = cells
        self.text = text


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
        return self.out.finish(len(self.text))

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
        if not heading:
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
        while k < self.n and self._is_row_line(k):
            b = self.body[k]
            if not _is_rule(b):
                if "|" not in b:
                    break
                rows.append(_Row(k, _md_cells(b)))
            last = k
            k += 1
        return self._make_table(rows, 1, i, last), last + 1

    def _spaced_table(self, i: int) -> tuple[Table, int] | None:
        """Lines of `cell | cell` (first line the header), rule lines (`+---+`) between them."""
        rows: list[_Row] = []
        header_rows = 1
        k, last = i, i
        while k < self.n and self._is_row_line(k, in_table=bool(rows)):
            b = self.body[k]
            if _is_rule(b):
                if rows and header_rows == 1 and len(rows) <= 3:
                    header_rows = -len(rows)  # rows above the first rule: the header
                last = k
                k += 1
                continue
            cells = _pipe_cells(b, rows[0].text[0] == "|" if rows else None)
            if cells is None or (rows and _continues_grammar(rows[0], b, cells)):
                break
            rows.append(_Row(k, cells, b))
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

    def _make_table(self, rows: list[_Row], header_rows: int, first: int, last: int) -> Table:
        width = max(len(row.cells) for row in rows)
        cells = [[_clip(c) for c in row.cells] + [""] * (width - len(row.cells)) for row in rows]
        return Table(
            header=cells[:header_rows],
            rows=cells[header_rows:],
            start=self.cs[first],
            end=self.ce[last],
            row_spans=[(self.cs[row.line], self.ce[row.line]) for row in rows[header_rows:]],
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


def _wraps(line: str, following: str) -> bool:
    """Whether `following` reads as the rest of a sentence wrapped after `line`: `line` ends
    with a comma, an opening bracket, a dash or a joining word, or `following` starts in lower
    case."""
    if following[0].islower() or line[-1] in _WRAP_ENDS:
        return True
    last = line.rsplit(None, 1)[-1].casefold()
    return last in _JOINING_WORDS


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
