"""Read an HTML page into a rendered document: its text and its structure (`retriever.structure`).

`parse_html(html)` parses the page with lxml's lenient HTML parser and writes what a reader sees
with `DocumentRenderer`: headings as sections (level from `h1`..`h6`, anchor from the heading's
`id`, an `<a id|name>` in or right before it, or the `id` of the `section`/`div` it opens),
paragraphs, tables (header rows from `<thead>` or leading all-`<th>` rows, rowspan/colspan
resolved into a grid, caption from `<caption>`; a body row of one cell spanning the whole row
with data rows under it is a group row: the label of those rows, `Table.groups`), nested
lists, definition lists (several `<dt>` joined with ", ", their `<dd>`s on lines of one
description; terms with no `<dd>` at all are entries of their own) and `<pre>` code. Inline
markup runs into the text without gluing or splitting words; `<br>` is a line break, `<del>`/`<s>`
text is written `~~text~~`, an image gives its alt text inside running text.

Dropped everywhere: scripts, styles, templates, embedded objects and frames, SVG, form
controls, the `<head>`, comments, `<nav>`, `<footer>`, elements with role navigation, banner,
contentinfo or search, and hidden elements (`hidden`, `aria-hidden="true"`, `display: none`).
With `main_only` (the default) the boilerplate around the content goes too: a page with one
`<main>` (or `role="main"`) element, or else exactly one `<article>`, is read from that element
only. Any other page loses its link-dense blocks (mostly link text, or a link every few words;
three links or more, or a table of links) that come before the content starts (the first
`h1`/`h2`), sit in the page's top-level `<header>`, or come after the content's last block:
site menus, breadcrumb and prev/next bars, sidebars. After the content only what lies outside
the element holding the content, and short link bars inside it, are dropped: link lists in the
content (a contents page listing its chapters, a "See also" list under its heading) stay, as
does any block holding a large share of the page's text.

A layout table (one cell, or cells holding headings, long tables or many blocks) is read as
ordinary blocks; a table nested in a data table's cell is flattened into the cell's text.

Nothing here raises for bad input: empty, binary or broken HTML, nesting deeper than the parser
allows, huge tables. What could be read is returned and each difficulty is noted in
`HtmlParse.problems`. The text is cut at `max_chars` at a block boundary (a table at a row, a
list at an item, a paragraph at a word) and `truncated` is set.
"""

from __future__ import annotations

import logging
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import lxml.etree
import lxml.html

from retriever.structure import (
    MAX_CELL_CHARS,
    Code,
    DefinitionList,
    DocumentRenderer,
    DocumentStructure,
    ListBlock,
    Paragraph,
    RenderedDocument,
    Table,
    clean_lines,
    one_line,
)

__all__ = ["MAX_SPAN", "HtmlParse", "parse_html"]

log = logging.getLogger(__name__)

MAX_SPAN = 1_000
"""Larger `rowspan`/`colspan` values are clamped to this; wider tables are cut at this column."""

MAX_DEPTH = 120
"""Elements nested deeper than this are read as plain text lines (no recursion past it); less
deep when the caller's stack leaves less room under Python's recursion limit."""

MAX_LIST_DEPTH = 24
"""Lists nested deeper than this are flattened into their item's text."""

_depth_limit: ContextVar[int] = ContextVar("parse_html_depth_limit", default=MAX_DEPTH)
_FRAMES_PER_LEVEL = 4  # walk -> node -> block (-> a handler) per element level, at most

_MAX_PROBLEMS = 10

MAX_GROUP_CHARS = 120
"""The longest text of a row of one spanning cell read as the label of the rows below it."""
_SENTENCES = re.compile(r"[;!?]\s|[a-z]{3}\.\s+\S")
_READ_AHEAD = 2
"""Stop reading the page once the collected text is this many times `max_chars` (plus a margin):
what follows could not be written anyway."""


@dataclass(frozen=True)
class HtmlParse:
    """A parsed page: `title`, the rendered `document` (`.text`, `.structure`), whether the text
    was cut at `max_chars` (`truncated`), and the non-fatal `problems` met on the way."""

    title: str
    document: RenderedDocument
    truncated: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.document.text

    @property
    def structure(self) -> DocumentStructure:
        return self.document.structure


# --- element kinds ------------------------------------------------------------------------

_INLINE, _DROP, _BR, _IMG, _DEL, _HEADING, _TABLE, _LIST, _DL, _PRE, _HR, _BLOCK, _CELL = range(13)

_KIND: dict[str, int] = {}
_DROPPED_TAGS = """script style noscript template svg iframe frame frameset noframes object embed
applet canvas video audio source track param head title meta link base button select input
textarea option optgroup datalist output progress meter nav footer search annotation
annotation-xml"""
_BLOCK_TAGS = """address article aside blockquote body center details dialog div fieldset
figcaption figure form header hgroup html legend li main p section summary caption dd dt tbody
thead tfoot tr"""
_KIND.update(dict.fromkeys(_DROPPED_TAGS.split(), _DROP))
_KIND.update(dict.fromkeys(_BLOCK_TAGS.split(), _BLOCK))
_KIND.update(
    br=_BR, img=_IMG, td=_CELL, th=_CELL, hr=_HR, dl=_DL, table=_TABLE,
    ul=_LIST, ol=_LIST, menu=_LIST, dir=_LIST, pre=_PRE, listing=_PRE, xmp=_PRE, plaintext=_PRE,
    h1=_HEADING, h2=_HEADING, h3=_HEADING, h4=_HEADING, h5=_HEADING, h6=_HEADING,
    **{"del": _DEL, "s": _DEL, "strike": _DEL},
)  # fmt: skip

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_NOT_BLOCKS = frozenset({_INLINE, _BR, _IMG, _DEL, _DROP})
_DROPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "search"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_PERMALINK_TEXT = frozenset({"", "¶", "§", "#", "🔗", "⚓", "\uf0c1", "link", "permalink"})
_ANCHOR_HOLDERS = frozenset({"section", "div", "article"})
_BANNER_FREE = frozenset({"article", "aside", "main", "nav", "section"})
_CALLOUT_BOXES = frozenset({"div", "aside", "blockquote"})
_CALLOUT_CHARS = 1_500
_TEXT_BLOCKS = frozenset(
    {"p", "address", "summary", "legend", "figcaption", "caption", "dt", "dd", "li"}
)
"""Blocks that hold text rather than other blocks (a paragraph read from one is held by the
element around it)."""

# markers inside collected text (control characters are removed from the input first)
_BR_MARK = "\x01"
_BLOCK_MARK = "\x02"
_DEL_ON = "\x03"
_DEL_OFF = "\x04"
_MARKS = re.compile("[\x01\x02]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_PAGE_END = re.compile(rb"</(?:body|html)\s*>", re.IGNORECASE)
_DIGITS = re.compile(r"\s*\+?(\d+)")
_LANGUAGE = re.compile(r"^(?:language|lang|highlight|brush)[-:](\w[\w+#.-]*)$")


def _kind(el: Any) -> int:
    """The element's kind; `_DROP` for comments, processing instructions and hidden elements."""
    tag = el.tag
    if type(tag) is not str:
        return _DROP
    kind = _KIND.get(tag)
    if kind is None:
        kind = _KIND.get(tag.lower(), _INLINE)
    if kind == _DROP or not el.keys():
        return kind
    get = el.get
    role = get("role")
    if role:
        role = role.strip().lower()
        if role.split(" ", 1)[0] in _DROPPED_ROLES:
            return _DROP
    if get("hidden") is not None or (get("aria-hidden") or "").strip().lower() == "true":
        return _DROP
    style = get("style")
    if style and ("none" in style or "hidden" in style) and _HIDDEN_STYLE.search(style):
        return _DROP
    if role == "heading":
        return _HEADING
    return kind


def _tag(el: Any) -> str:
    """The element's tag name ("" for comments and the like); libxml2 gives HTML tag names in
    lower case."""
    tag = el.tag
    return tag if type(tag) is str else ""


def _nonspace(text: str) -> int:
    return len(text) - text.count(" ") - text.count("\n")


def _lines(raw: str) -> list[str]:
    """Collected text as its lines: whitespace runs collapsed, markers turned into breaks."""
    if _DEL_ON in raw or _DEL_OFF in raw:
        raw = re.sub("\x03[\\s\x01\x02]*\x04", "", raw)
        raw = re.sub("\x03(\\s*)", r"\1~~", raw)
        raw = re.sub("(\\s*)\x04", r"~~\1", raw)
    lines = (" ".join(line.split()) for line in _MARKS.split(raw))
    return [line for line in lines if line]


def _span(value: str | None, default: int = 1) -> int:
    """A rowspan/colspan attribute as a number (leading digits; junk gives the default)."""
    if not value:
        return default
    match = _DIGITS.match(value)
    if not match:
        return default
    return min(int(match.group(1)[:7]), MAX_SPAN)


def _is_permalink(el: Any) -> bool:
    """An `<a href="#...">` whose text is only a pilcrow-like mark (headings' self-links)."""
    href = el.get("href")
    if href is None or not href.startswith("#"):
        return False
    text = "".join(el.itertext()).strip().lower()
    return text in _PERMALINK_TEXT


def _flat(root: Any, out: list[str]) -> None:
    """The text of `root`'s content without recursion (for nesting past `MAX_DEPTH`):
    dropped elements skipped, blocks on their own lines."""
    if root.text:
        out.append(root.text)
    stack: list[tuple[Any, bool]] = [(child, False) for child in reversed(root)]
    while stack:
        node, closing = stack.pop()
        if closing:
            kind = _KIND.get(_tag(node), _INLINE)
            if kind not in (_INLINE, _DEL, _BR, _IMG):
                out.append(_BLOCK_MARK)
            if node.tail:
                out.append(node.tail)
            continue
        kind = _kind(node)
        if kind == _DROP:
            if node.tail:
                out.append(node.tail)
            continue
        if kind == _BR:
            out.append(_BR_MARK)
        elif kind == _IMG:
            out.append(node.get("alt") or "")
        elif kind not in (_INLINE, _DEL):
            out.append(_BLOCK_MARK)
        if node.text:
            out.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))


def _pre_text(root: Any) -> str:
    """A `<pre>` element's text with its line breaks (dropped elements skipped)."""
    out: list[str] = []
    if root.text:
        out.append(root.text)
    stack: list[tuple[Any, bool]] = [(child, False) for child in reversed(root)]
    while stack:
        node, closing = stack.pop()
        if closing:
            if node.tail:
                out.append(node.tail)
            continue
        kind = _kind(node)
        if kind == _DROP:
            if node.tail:
                out.append(node.tail)
            continue
        if kind == _BR:
            out.append("\n")
        elif kind == _IMG:
            out.append(node.get("alt") or "")
        if node.text:
            out.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
    return _CONTROL.sub("", "".join(out).replace("\r\n", "\n").replace("\r", "\n"))


def _code_language(pre: Any) -> str:
    """A code block's language from `language-x`/`lang-x`/`highlight-x` classes on the `<pre>`,
    its `<code>` child or the two elements around it."""
    candidates = [pre]
    if len(pre) and _tag(pre[0]) == "code":
        candidates.append(pre[0])
    parent = pre.getparent()
    if parent is not None:
        candidates.append(parent)
        grand = parent.getparent()
        if grand is not None:
            candidates.append(grand)
    for el in candidates:
        for token in (el.get("class") or "").split():
            match = _LANGUAGE.match(token.lower())
            if match and match.group(1) not in ("default", "none", "text", "plaintext"):
                return match.group(1)
    return ""


def _anchor(heading: Any) -> str:
    """The anchor a heading is linked by (see the module docstring); "" if none."""
    for attr in ("id", "name"):
        value = (heading.get(attr) or "").strip()
        if value:
            return value
    for a in heading.iter("a"):
        value = (a.get("id") or a.get("name") or "").strip()
        if value:
            return value
    previous = heading.getprevious()
    if (
        previous is not None
        and _tag(previous) == "a"
        and not (previous.tail or "").strip()
        and not "".join(previous.itertext()).strip()
    ):
        value = (previous.get("id") or previous.get("name") or "").strip()
        if value:
            return value
    node = heading
    for _ in range(6):
        parent = node.getparent()
        if parent is None:
            break
        for sibling in node.itersiblings(preceding=True):
            if not isinstance(sibling.tag, str):
                continue
            if _tag(sibling) in _HEADINGS or next(sibling.iter(*_HEADINGS), None) is not None:
                return ""
        if _tag(parent) in _ANCHOR_HOLDERS:
            value = (parent.get("id") or "").strip()
            if value:
                return value
        node = parent
    return ""


# --- collecting text ------------------------------------------------------------------------


class _Stats:
    """Link density of a block: how many links, how much of its text is link text."""

    __slots__ = ("chars", "link_chars", "links", "words")

    def __init__(self) -> None:
        self.links = 0
        self.link_chars = 0
        self.chars = 0
        self.words = 0

    def count(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.chars += _nonspace(line)
            self.words += line.count(" ") + 1


class _Stop(Exception):
    """Enough text has been read (past what `max_chars` can hold)."""


class _Text:
    """Collects an element's text: inline markup run together, blocks on their own lines.

    Used for what must end up as one string: headings, table cells, list items, definition
    terms and descriptions. With `lists` given, nested `<ul>`/`<ol>` are put there (with their
    depth) instead of being written, so a list item's children can be read separately."""

    def __init__(self, stats: _Stats, lists: list[tuple[Any, int]] | None = None) -> None:
        self.parts: list[str] = []
        self.stats = stats
        self.lists = lists
        self.in_link = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        if self.in_link:
            self.stats.link_chars += _nonspace(text)

    def walk(self, el: Any, depth: int) -> None:
        """`el`'s content (its text, its children and their tails), not `el` itself."""
        if depth > _depth_limit.get():
            parts: list[str] = []
            _flat(el, parts)
            self.add("".join(parts))
            return
        if el.text:
            self.add(el.text)
        for child in el:
            self.node(child, depth + 1)
            if child.tail:
                self.add(child.tail)

    def node(self, el: Any, depth: int) -> None:
        kind = _kind(el)
        if kind == _INLINE:
            self.inline(el, depth)
        elif kind == _DROP:
            return
        elif kind == _BR:
            self.parts.append(_BR_MARK)
        elif kind == _IMG:
            alt = el.get("alt")
            if alt and alt.strip():
                self.image(alt)
        elif kind == _DEL:
            self.parts.append(_DEL_ON)
            self.walk(el, depth)
            self.parts.append(_DEL_OFF)
        else:
            self.block(el, kind, depth)

    def inline(self, el: Any, depth: int) -> None:
        if _tag(el) == "a" and el.get("href") is not None:
            if _is_permalink(el):
                return
            previous = el.getprevious()
            if previous is not None and _tag(previous) == "a" and not previous.tail:
                self.parts.append(" ")  # links side by side are separate items
            self.stats.links += 1
            self.in_link += 1
            self.walk(el, depth)
            self.in_link -= 1
        else:
            self.walk(el, depth)

    def image(self, alt: str) -> None:
        self.add(f" {alt} " if len(alt) > 1 else alt)

    def block(self, el: Any, kind: int, depth: int) -> None:
        if kind == _CELL:
            self.parts.append(" ")
            self.walk(el, depth)
            self.parts.append(" ")
        elif kind == _LIST and self.lists is not None:
            self.lists.append((el, depth))
        elif kind == _PRE:
            self.parts.append(_BLOCK_MARK)
            self.parts.append(_pre_text(el).replace("\n", _BR_MARK))
            self.parts.append(_BLOCK_MARK)
        elif kind == _HR:
            self.parts.append(_BLOCK_MARK)
        else:
            self.parts.append(_BLOCK_MARK)
            self.walk(el, depth)
            self.parts.append(_BLOCK_MARK)

    def lines(self) -> list[str]:
        lines = _lines("".join(self.parts))
        self.stats.count(lines)
        return lines


def _text_of(el: Any, depth: int, stats: _Stats) -> list[str]:
    """The lines of `el`'s content."""
    if not len(el):
        text = el.text
        if not text:
            return []
        line = " ".join(text.split())
        if not line:
            return []
        stats.count((line,))
        return [line]
    collector = _Text(stats)
    collector.walk(el, depth)
    return collector.lines()


# --- the page as a list of blocks ---------------------------------------------------------


@dataclass
class _Event:
    """A block to write, with its link density (to judge boilerplate before anything is
    written)."""

    kind: str
    args: tuple[Any, ...]
    stats: _Stats
    banner: bool = False
    """Read from inside the page's top-level `<header>`."""
    holder: Any = None
    """The element holding the block (the parent of a table, list, heading...; for a
    paragraph the innermost container of its text)."""

    def write(self, renderer: DocumentRenderer) -> None:
        getattr(renderer, self.kind)(*self.args)

    @property
    def dense(self) -> bool:
        """Mostly links: most of the text is link text with little else, a link for every
        few words (a bar of short links between labels), or a small table without a header
        with a link in every row."""
        stats = self.stats
        if not stats.links or not stats.chars:
            return False
        if self.kind == "table" and not self.args[0] and len(self.args[1]) <= 3:
            return stats.links >= max(2, len(self.args[1]))  # a bar of links laid out in cells
        other = stats.chars - stats.link_chars
        if stats.link_chars >= 0.6 * stats.chars and other <= 40 + 10 * stats.links:
            return True
        return stats.links * 4 >= stats.words


class _Page(_Text):
    """Walks the page, turning blocks into `_Event`s; inline text between blocks is gathered
    into paragraphs."""

    def __init__(self, root: Any, char_limit: int) -> None:
        super().__init__(_Stats())
        self.events: list[_Event] = []
        self.has_text = False
        self.char_limit = char_limit
        self.chars = 0
        self.banner = 0
        self.containers: list[Any] = [root]
        self.notes: set[str] = set()

    def add(self, text: str) -> None:
        super().add(text)
        if not self.has_text and not text.isspace():
            self.has_text = True

    def image(self, alt: str) -> None:
        # alt text only joins running text: an image alone is no paragraph
        self.parts.append(f" {alt} " if len(alt) > 1 else alt)

    def emit(self, kind: str, args: tuple[Any, ...], stats: _Stats, el: Any = None) -> None:
        holder = self.containers[-1] if el is None else el.getparent()
        self.events.append(_Event(kind, args, stats, self.banner > 0, holder))
        self.chars += stats.chars
        if self.chars > self.char_limit:
            raise _Stop

    def flush(self) -> None:
        if not self.parts:
            return
        raw = "".join(self.parts)
        stats = self.stats
        self.parts = []
        self.stats = _Stats()
        if not self.has_text:
            return
        self.has_text = False
        # a paragraph per block marker run (those come from text read flat past MAX_DEPTH)
        chunks = raw.split(_BLOCK_MARK) if _BLOCK_MARK in raw else [raw]
        for chunk in chunks:
            lines = _lines(chunk)
            if not lines:
                continue
            chunk_stats = stats if len(chunks) == 1 else _Stats()
            chunk_stats.count(lines)
            self.emit("paragraph", ("\n".join(lines),), chunk_stats)

    def block(self, el: Any, kind: int, depth: int) -> None:
        self.flush()
        if kind == _HEADING:
            self.read_heading(el, depth)
        elif kind == _TABLE:
            self.read_table(el, depth)
        elif kind == _LIST:
            self.read_list(el, depth)
        elif kind == _DL:
            self.read_definitions(el, depth)
        elif kind == _PRE:
            code = _pre_text(el)
            stats = _Stats()
            stats.count(code.split("\n"))
            if code.strip():
                self.emit("code", (code, _code_language(el)), stats, el)
        elif kind == _HR:
            return
        else:
            tag = _tag(el)
            banner = tag == "header" and _is_banner(el)
            holder = tag not in _TEXT_BLOCKS
            self.banner += banner
            if holder:
                self.containers.append(el)
            self.walk(el, depth)
            self.flush()
            if holder:
                self.containers.pop()
            self.banner -= banner

    def read_heading(self, el: Any, depth: int) -> None:
        """A heading. One holding blocks (a heading left open by a mismatched end tag, which
        libxml2 does not close where browsers do) is its inline text before the first block,
        the blocks being read as what follows the heading."""
        stats = _Stats()
        children = list(el)
        split = next(
            (n for n, child in enumerate(children) if _kind(child) not in _NOT_BLOCKS), None
        )
        if split is None:
            text = " ".join(_text_of(el, depth, stats))
        else:
            collector = _Text(stats)
            if el.text:
                collector.add(el.text)
            for child in children[:split]:
                collector.node(child, depth + 1)
                if child.tail:
                    collector.add(child.tail)
            text = " ".join(collector.lines())
            if not text:
                whole = " ".join(_text_of(el, depth, stats))
                if len(whole) <= 200:
                    text, split = whole, None
        tag = _tag(el)
        # role="heading" gives its level in aria-level
        level = int(tag[1]) if tag in _HEADINGS else max(1, min(_span(el.get("aria-level"), 2), 6))
        if text and _is_callout(el):
            self.emit("paragraph", (text,), stats, el)
        elif text:
            self.emit("heading", (text, level, _anchor(el)), stats, el)
        if split is not None:
            for child in children[split:]:
                self.node(child, depth + 1)
                if child.tail:
                    self.add(child.tail)
            self.flush()

    # -- lists ------------------------------------------------------------------------------

    def read_list(self, el: Any, depth: int) -> None:
        stats = _Stats()
        items = self.list_items(el, depth, stats, 0)
        if items:
            self.emit("list", (items, _tag(el) == "ol"), stats, el)

    def list_items(
        self, el: Any, depth: int, stats: _Stats, level: int
    ) -> list[tuple[str, list[Any]]]:
        if depth > _depth_limit.get():
            parts: list[str] = []
            _flat(el, parts)
            text = " ".join(_lines("".join(parts)))
            return [(text, [])] if text else []
        items: list[tuple[str, list[Any]]] = []
        for child in el:
            kind = _kind(child)
            if kind == _DROP:
                continue
            if kind == _LIST:  # a list directly in a list: the previous item's children
                nested = self.list_items(child, depth + 1, stats, level + 1)
                if items:
                    items[-1][1].extend(nested)
                else:
                    items.append(("", nested))
                continue
            if kind == _BLOCK and _tag(child) != "li" and any(_tag(c) == "li" for c in child):
                items.extend(self.list_items(child, depth + 1, stats, level))  # a wrapper
                continue
            if kind == _BLOCK and not len(child):  # plain text: the quick way
                lines = _text_of(child, depth + 1, stats)
                if lines:
                    items.append((lines[0], []))
                continue
            nested_lists: list[tuple[Any, int]] | None = [] if level < MAX_LIST_DEPTH else None
            collector = _Text(stats, nested_lists)
            if kind in (_INLINE, _DEL):
                collector.node(child, depth + 1)
            else:
                collector.walk(child, depth + 1)
            children: list[Any] = []
            for nested, nested_depth in nested_lists or ():
                children.extend(self.list_items(nested, nested_depth, stats, level + 1))
            text = " ".join(collector.lines())
            if text or children:
                items.append((text, children))
        return items

    # -- definition lists -------------------------------------------------------------------

    def read_definitions(self, el: Any, depth: int) -> None:
        """A definition list. A description holding a table keeps the text before the table;
        the table and what follows it in the description are read as blocks of their own
        (ending the definitions block there; the entries after it start another)."""
        stats = [_Stats()]  # the current definitions block's
        entries: list[tuple[str, str]] = []
        terms: list[str] = []
        descriptions: list[str] = []

        def close() -> None:
            if terms and not descriptions:  # terms sharing no description: one entry each
                entries.extend((term, "") for term in terms)
            elif terms or descriptions:
                entries.append((", ".join(terms), "\n".join(descriptions)))
            terms.clear()
            descriptions.clear()

        def emit() -> None:
            close()
            if entries:
                self.emit("definitions", (entries.copy(),), stats[0], el)
                entries.clear()
                stats[0] = _Stats()

        def describe(dd: Any, at: int) -> None:
            children = list(dd) if next(dd.iter("table"), None) is not None else []
            split = next(
                (n for n, c in enumerate(children) if _kind(c) != _DROP and _holds_table(c)),
                None,
            )
            if split is None:
                lines = _text_of(dd, at + 1, stats[0])
                if lines:
                    descriptions.append("\n".join(lines))
                return
            collector = _Text(stats[0])
            if dd.text:
                collector.add(dd.text)
            for child in children[:split]:
                collector.node(child, at + 2)
                if child.tail:
                    collector.add(child.tail)
            lines = collector.lines()
            if lines:
                descriptions.append("\n".join(lines))
            emit()
            for child in children[split:]:
                self.node(child, at + 2)
                if child.tail:
                    self.add(child.tail)
            self.flush()

        def read(container: Any, at: int) -> None:
            for child in container:
                kind = _kind(child)
                if kind == _DROP:
                    continue
                tag = _tag(child)
                if tag == "dt":
                    if descriptions:
                        close()
                    term = " ".join(_text_of(child, at + 1, stats[0]))
                    if term:
                        terms.append(term)
                elif tag == "dd":
                    describe(child, at)
                elif tag == "div" and at - depth < 3:  # <div> grouping a dt and its dd
                    read(child, at + 1)
                else:
                    lines = _text_of(child, at + 1, stats[0])
                    if lines:
                        descriptions.append("\n".join(lines))

        read(el, depth)
        emit()

    # -- tables -----------------------------------------------------------------------------

    def read_table(self, el: Any, depth: int) -> None:
        caption_el: Any = None
        groups: list[tuple[str, list[Any]]] = []  # (section tag, rows)
        footers: list[tuple[str, list[Any]]] = []

        def collect(container: Any, at: int) -> None:
            loose: list[Any] = []
            for child in container:
                kind = _kind(child)
                if kind == _DROP:
                    continue
                tag = _tag(child)
                if tag == "tr":
                    loose.append(child)
                elif tag in ("thead", "tbody", "tfoot"):
                    if loose:
                        groups.append(("tbody", loose))
                        loose = []
                    rows = [row for row in child if _tag(row) == "tr" and _kind(row) != _DROP]
                    (footers if tag == "tfoot" else groups).append((tag, rows))
                elif tag == "caption":
                    nonlocal caption_el
                    if caption_el is None:
                        caption_el = child
                elif tag not in ("colgroup", "col") and at < 2 and kind != _TABLE:
                    if loose:
                        groups.append(("tbody", loose))
                        loose = []
                    collect(child, at + 1)  # a wrapper (<form>) holding rows
            if loose:
                groups.append(("tbody", loose))

        collect(el, 0)
        groups.extend(footers)
        caption_stats = _Stats()
        caption = (
            " ".join(_text_of(caption_el, depth + 1, caption_stats))
            if caption_el is not None
            else ""
        )
        cells = [
            [cell for cell in row if _tag(cell) in ("td", "th") and _kind(cell) != _DROP]
            for _, rows in groups
            for row in rows
        ]
        if _is_layout(cells):
            if caption:
                self.emit("paragraph", (caption,), caption_stats)
            for row in cells:
                for cell in row:
                    self.containers.append(cell)
                    self.walk(cell, depth + 2)
                    self.flush()
                    self.containers.pop()
            return
        stats = caption_stats
        header, body, labels, size = _grid(groups, depth, stats, self.char_limit - self.chars)
        if any(len(row) >= MAX_SPAN for row in header + body):
            self.notes.add(f"a table wider than {MAX_SPAN} columns was cut")
        stats.chars = max(stats.chars, size)  # cells repeated by spans count as written
        if header or body:
            self.emit("table", (header, body, caption, labels), stats, el)
        elif caption:
            self.emit("paragraph", (caption,), stats)
        if self.chars > self.char_limit:
            raise _Stop


def _is_callout(heading: Any) -> bool:
    """A heading that labels a small box inside a section (a "Note" or "Warning" box: a
    `<div>`, `<aside>` or `<blockquote>` without an id, holding the heading first, then a
    little text), with the section's content going on after the box. Read as a heading it
    would take that content under it; it is read as a paragraph."""
    box = heading
    while True:  # up through the wrappers holding nothing but the heading
        parent = box.getparent()
        if parent is None:
            return False
        others = (parent.text or "").strip() or any(
            sibling is not box and (isinstance(sibling.tag, str) or (sibling.tail or "").strip())
            for sibling in parent
        )
        box = parent
        if others:
            break
    if _tag(box) not in _CALLOUT_BOXES or box.get("id"):  # an id: a section to link to
        return False
    if sum(1 for _ in box.iter(*_HEADINGS)) != 1:
        return False
    if (box.text or "").strip() or _text_before(box, heading):
        return False
    size = 0
    for piece in box.itertext():
        size += len(piece)
        if size > _CALLOUT_CHARS:
            return False
    if (box.tail or "").strip():
        return True
    after = box.getnext()
    while after is not None and _kind(after) == _DROP:
        after = after.getnext()
    return after is not None and not _starts_with_heading(after)


def _text_before(box: Any, heading: Any) -> bool:
    """Whether `box` has text before `heading` (which it holds)."""
    for el in box.iter():
        if el is heading:
            return False
        if el is not box and ((el.text or "").strip() or (el.tail or "").strip()):
            return True
    return False


def _starts_with_heading(el: Any) -> bool:
    """Whether the first text in `el` is a heading's."""
    for node in el.iter():
        if _tag(node) in _HEADINGS:
            return True
        if (node.text or "").strip():
            return False
    return False


def _holds_table(el: Any) -> bool:
    return _tag(el) == "table" or next(el.iter("table"), None) is not None


def _is_banner(header: Any) -> bool:
    """A `<header>` that is the page's banner (not the header of an article or section)."""
    return not any(_tag(parent) in _BANNER_FREE for parent in header.iterancestors())


def _is_layout(cells: list[list[Any]]) -> bool:
    """A table used to lay a page out rather than to hold data: one cell, or a cell holding
    headings, a long table or (in a table of a few rows: a data table of many rows may have a
    long cell, e.g. a description of several paragraphs) many blocks."""
    count = sum(len(row) for row in cells)
    if count == 0:
        return False
    if count == 1:
        return True
    few_rows = len(cells) <= 3
    for row in cells:
        for cell in row:
            if not len(cell):
                continue
            if next(cell.iter(*_HEADINGS), None) is not None:
                return True
            blocks = 0
            for inner in cell.iter("table", "p", "div", "li", "dd", "pre", "blockquote", "tr"):
                if _tag(inner) != "table":
                    blocks += 1
                elif len(inner.xpath("./tr|./*/tr")) > 3:
                    return True
            if few_rows and blocks >= 10 and len("".join(cell.itertext()).strip()) >= 300:
                return True
    return False


def _grid(
    groups: Sequence[tuple[str, Sequence[Any]]], depth: int, stats: _Stats, budget: int
) -> tuple[list[list[str]], list[list[str]], list[str], int]:
    """Header and body rows of a data table, spans resolved (a spanning cell's text repeated
    in every position it covers; a rowspan stays inside its row group), the group label of
    each body row (`_group_rows`; [] when there are none), and about how many characters they
    take written out. Header rows are the `<thead>` rows, else the leading rows whose cells
    are all `<th>` (up to a row of one cell spanning it under another header row: a group row).
    Rows past `budget` characters are not read."""
    header: list[list[str]] = []
    body: list[list[str]] = []
    single: list[bool] = []  # whether body row i is one cell spanning its whole row
    size = 0
    has_thead = any(section == "thead" for section, _ in groups)
    leading = not has_thead  # still in the leading all-<th> rows
    for section, rows in groups:
        row_cells = []
        for row in rows:
            cells = [c for c in row if _tag(c) in ("td", "th") and _kind(c) != _DROP]
            if cells:
                row_cells.append(cells)
        pending: dict[int, tuple[int, str]] = {}  # column -> (rows still covered, text)
        left = len(row_cells)
        for cells in row_cells:
            left -= 1
            line: list[str] = []
            all_th = True
            for cell in cells:
                _fill(line, pending)
                if len(line) >= MAX_SPAN:
                    break
                if all_th and _tag(cell) != "th":
                    all_th = False
                text = " ".join(_text_of(cell, depth + 3, stats))
                colspan = max(_span(cell.get("colspan")), 1)
                rowspan = _span(cell.get("rowspan"))
                if rowspan == 0 or rowspan > left + 1:
                    rowspan = left + 1
                spanned = min(colspan, MAX_SPAN - len(line))
                for _ in range(spanned):
                    if rowspan > 1:
                        pending[len(line)] = (rowspan - 1, text)
                    line.append(text)
            _fill(line, pending)
            if pending and max(pending) >= len(line):  # spans from above past a short row
                last = max(pending)
                while len(line) <= last:
                    if len(line) in pending:
                        _fill(line, pending)
                    else:
                        line.append("")
            alone = len(cells) == 1 and 2 <= len(line) == spanned  # no cell from above
            if section == "thead" or (
                leading and all_th and section != "tfoot" and not (alone and header)
            ):
                header.append(line)
            else:
                leading = False
                body.append(line)
                single.append(alone)
            size += sum(map(len, line)) + 3 * len(line)
            if size > budget:
                break
        if size > budget:
            break
    if header and not body and not has_thead:
        # every row all-<th>: the first row names the columns, the rest are data
        header, body = header[:1], header[1:]
        single = [False] * len(body)
    body, labels = _group_rows(body, single, max(map(len, header + body), default=0))
    return header, body, labels, size


def _group_rows(
    body: list[list[str]], single: list[bool], width: int
) -> tuple[list[list[str]], list[str]]:
    """The body rows without their group rows, and the group label of each ([] when none).

    A group row is one cell spanning the table's whole width (a `<td colspan>` or a `<th>`:
    "Class 12 — Widget Errors") with a row of data below it; its text (short, one line, no
    '|', not sentences) labels the rows down to the next group row. A group row with no data
    row under it (the last row, or one above another group row) stays a row. Empty rows go."""
    rows = [(row, alone) for row, alone in zip(body, single, strict=True) if any(row)]
    found = [alone and len(row) == width and _group_label(row[0]) for row, alone in rows]
    kept: list[list[str]] = []
    labels: list[str] = []
    label = ""
    for index, (row, _) in enumerate(rows):
        if found[index] and index + 1 < len(rows) and not found[index + 1]:
            label = one_line(row[0])
            continue
        kept.append(row)
        labels.append(label)
    return kept, labels if any(labels) else []


def _group_label(text: str) -> bool:
    """Whether a cell's text reads as the label of a group of rows: one short line, no '|', not
    sentences, no heading or fence mark at its start."""
    text = one_line(text)
    if not text or len(text) > MAX_GROUP_CHARS or "|" in text or text[0] in "#`~":
        return False
    return not (_SENTENCES.search(text) or (text[-1] == "." and text.count(" ") >= 4))


def _fill(line: list[str], pending: dict[int, tuple[int, str]]) -> None:
    """Append the cells that rowspans from rows above put at the end of `line`."""
    column = len(line)
    while column in pending:
        remaining, text = pending[column]
        line.append(text)
        if remaining <= 1:
            del pending[column]
        else:
            pending[column] = (remaining - 1, text)
        column += 1


# --- boilerplate --------------------------------------------------------------------------


def _trim_boilerplate(events: list[_Event], root: Any) -> list[_Event]:
    """Drop the boilerplate around the content.

    The content runs from the first h1/h2 heading (on a page without one: the first heading
    or block that is more than a short line) to the last block that is neither a heading nor
    link-dense; its container is the smallest element holding both ends. Dropped: runs of
    link-dense blocks (three links or more, or a table with links) before the content or
    inside the page's top-level `<header>`; after the content, such runs outside its
    container (with headings there left with nothing under them), and inside it the short
    bars of links (paragraphs, tables: not lists, and not what a heading introduces)."""
    total = sum(event.stats.chars for event in events)
    big = {
        i
        for i, e in enumerate(events)
        if e.stats.chars > _BIG_SHARE * total and e.stats.chars >= _BIG_CHARS
    }
    content = [i for i, e in enumerate(events) if not e.banner and (i in big or not _link_dense(e))]
    if not content:
        return events
    first = next(
        (i for i in content if events[i].kind == "heading" and events[i].args[1] <= 2),
        None,
    )
    if first is None:
        first = next(
            (i for i in content if events[i].kind == "heading" or _substantial(events[i], 80)),
            content[0],
        )
    last = max((i for i in content if _substantial(events[i], 40)), default=content[-1])
    container = _common_ancestor(events[first].holder, events[last].holder, root)
    drop: set[int] = set()
    head = [i for i, e in enumerate(events) if i < first or e.banner]
    for run in _runs(events, head):
        if _is_nav(run, events) and not big.intersection(run):
            drop.update(run)
    tail = list(range(last + 1, len(events)))
    inside = {i for i in tail if _within(events[i].holder, container)}
    lists = ("list", "definitions")
    for run in _runs(events, tail, lambda i: (i in inside, events[i].kind in lists)):
        if not _is_nav(run, events) or big.intersection(run):
            continue
        if run[0] not in inside:
            drop.update(run)
        elif events[run[0] - 1].kind == "heading":
            continue  # what a heading introduces
        elif events[run[0]].kind not in lists and _links(run, events) <= _BAR_LINKS:
            drop.update(run)
    for i in tail:  # headings outside the content left with nothing under them
        if events[i].kind == "heading" and i not in inside:
            under = i + 1
            while (
                under < len(events)
                and events[under].kind != "heading"
                and _within(events[under].holder, events[i].holder)
            ):
                under += 1
            if all(j in drop for j in range(i + 1, under)):
                drop.add(i)
    kept = [e for i, e in enumerate(events) if i not in drop]
    return kept or events


_BIG_SHARE = 0.3
_BIG_CHARS = 400
"""A block holding more than `_BIG_SHARE` of the page's text, and at least `_BIG_CHARS`
characters, is content however many links it has (the list of a contents page)."""

_BAR_LINKS = 12
"""A run of link paragraphs or tables inside the content's container, after its last block,
is a link bar (prev/next, footer links) up to this many links; more is a list of content."""


def _substantial(event: _Event, chars: int) -> bool:
    """A block of content rather than a short line: not a heading, and a paragraph of at
    least `chars` characters (not counting spaces) or a block of another kind."""
    if event.kind == "paragraph":
        return event.stats.chars >= chars
    return event.kind != "heading"


def _links(run: list[int], events: Sequence[_Event]) -> int:
    return sum(events[i].stats.links for i in run)


def _is_nav(run: list[int], events: Sequence[_Event]) -> bool:
    """Three links or more; two with next to no other text (a prev/next bar); any links in
    a table."""
    links = _links(run, events)
    if links >= 3 or (links > 0 and any(events[i].kind == "table" for i in run)):
        return True
    other = sum(events[i].stats.chars - events[i].stats.link_chars for i in run)
    return links == 2 and other <= 6


def _common_ancestor(a: Any, b: Any, root: Any) -> Any:
    """The smallest element holding both `a` and `b` (`root` if there is none)."""
    if a is None or b is None:
        return root
    chain = {id(a)} | {id(el) for el in a.iterancestors()}
    node = b
    while node is not None:
        if id(node) in chain:
            return node
        node = node.getparent()
    return root


def _within(el: Any, container: Any) -> bool:
    node = el
    while node is not None:
        if node is container:
            return True
        node = node.getparent()
    return False


def _link_dense(event: _Event) -> bool:
    return event.kind != "heading" and event.dense


def _runs(
    events: Sequence[_Event], indexes: list[int], key: Callable[[int], object] | None = None
) -> list[list[int]]:
    """The runs of consecutive link-dense blocks among `indexes` (a run also ends where
    `key` of the block changes)."""
    runs: list[list[int]] = []
    run: list[int] = []
    for i in indexes:
        if _link_dense(events[i]):
            if run and (run[-1] != i - 1 or (key is not None and key(i) != key(run[-1]))):
                runs.append(run)
                run = []
            run.append(i)
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


# --- parsing --------------------------------------------------------------------------------


def _parse_tree(data: bytes, problems: list[str], encoding: str | None = "utf-8") -> Any:
    """The page's element tree (None if there is nothing), with errors noted in `problems`.

    `</body>` and `</html>` end tags are removed first: libxml2 stops at `</html>` and puts
    what follows `</body>` outside the body, where browsers read both as part of the body.
    libxml2 also stops reading at its nesting limit and loses the rest of the page: then the
    tags that make up most of the deepest chain are removed from the source and it is read
    again."""
    data = _PAGE_END.sub(b" ", data)
    for attempt in range(4):
        parser = lxml.html.HTMLParser(
            encoding=encoding,
            remove_comments=True,
            remove_pis=True,
            no_network=True,
            huge_tree=True,
            default_doctype=False,
        )
        try:
            root = lxml.etree.fromstring(data, parser)
        except (lxml.etree.LxmlError, ValueError) as error:
            problems.append(f"HTML parse error: {error}; nothing could be read")
            return None
        errors = [e for e in parser.error_log if e.level >= lxml.etree.ErrorLevels.ERROR]
        too_deep = [e for e in errors if "depth" in e.message.lower()]
        if too_deep and root is not None and attempt < 3:
            culprits = _deepest_tags(root)
            if culprits:
                problems.append(
                    "HTML nested too deeply for the parser; read again without "
                    + ", ".join(f"<{t}>" for t in culprits)
                    + " tags"
                )
                pattern = "|".join(re.escape(t) for t in culprits)
                data = re.sub(
                    rb"</?(?:" + pattern.encode() + rb")(?=[\s/>])[^>]*>",
                    b" ",
                    data,
                    flags=re.IGNORECASE,
                )
                continue
        # libxml2 recovers from what browsers recover from (stray end tags, bad entities):
        # those are noise to a user; only an error it could not recover from is a problem
        fatal = [e for e in errors if e.level >= lxml.etree.ErrorLevels.FATAL]
        if fatal:
            first = fatal[0]
            problems.append(
                f"HTML parse error ({len(fatal)} in all), first at line {first.line}: "
                f"{first.message}; kept what was read"
            )
        elif errors:
            log.debug("HTML: %d parse errors recovered", len(errors))
        return root
    return None


def _deepest_tags(root: Any) -> list[str]:
    """The tags making up most of the deepest chain of elements in the tree."""
    node = root
    chain: list[str] = []
    while len(node):
        node = node[-1] if len(node[-1]) else max(node, key=len)
        if isinstance(node.tag, str):
            chain.append(node.tag)
    counts = Counter(chain)
    return [tag for tag, n in counts.most_common(3) if n >= len(chain) // 4 and n > 16]


def _looks_binary(sample: str) -> bool:
    if "\x00" in sample:
        return True
    odd = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    return odd > max(8, len(sample) // 20)


def _choose_root(body: Any) -> Any | None:
    """The page's one `<main>`/`role="main"` element, else its one `<article>`, else None."""
    mains = body.xpath(".//main | .//*[@role]")
    mains = [el for el in mains if _tag(el) == "main" or _role(el) == "main"]
    for candidates in (mains, list(body.iter("article"))):
        visible = [el for el in candidates if not _inside_dropped(el, body)]
        chosen = set(visible)
        outer = [el for el in visible if not any(a in chosen for a in el.iterancestors())]
        if len(outer) == 1:
            return outer[0]
    return None


def _role(el: Any) -> str:
    role = (el.get("role") or "").strip().lower()
    return role.split(" ", 1)[0]


def _inside_dropped(el: Any, top: Any) -> bool:
    node = el
    while node is not None and node is not top:
        if _kind(node) == _DROP:
            return True
        node = node.getparent()
    return False


def _walk(root: Any, char_limit: int, problems: list[str]) -> tuple[list[_Event], bool]:
    """The blocks read from `root`, and whether reading stopped at `char_limit`."""
    page = _Page(root, char_limit)
    stopped = False
    try:
        page.walk(root, 0)
        page.flush()
    except _Stop:
        stopped = True
    problems.extend(sorted(page.notes))
    return page.events, stopped


def _render(events: Sequence[_Event], title: str, max_chars: int) -> tuple[RenderedDocument, bool]:
    """Write the events up to `max_chars` characters: an event that might not fit is first
    written on a scratch renderer to find how much of it does (whole rows, items, entries,
    lines or words). Whether anything was left out is returned with the document."""
    renderer = DocumentRenderer(title)
    for index, event in enumerate(events):
        room = max_chars - renderer.length - (2 if renderer.length else 0)
        if _size_bound(event) <= room:
            event.write(renderer)
            if renderer.length <= max_chars:
                continue
            # the bound was wrong (it should not be): write the page again without this event
            renderer = DocumentRenderer(title)
            for earlier in events[:index]:
                earlier.write(renderer)
            return renderer.finish(), True
        if room <= 0 or not _write_part(event, renderer, room):
            return renderer.finish(), True
    return renderer.finish(), False


def _size_bound(event: _Event) -> int:
    """At least as many characters as `event` takes written out (a cell may double, '|'
    being written '\\|'; rows are padded to the widest)."""
    kind, args = event.kind, event.args
    if kind == "heading":
        return len(args[0]) + 10
    if kind in ("paragraph", "code"):
        return len(args[0])
    if kind == "table":
        rows = [*args[0], *args[1]]
        width = max(map(len, rows), default=0)
        labels = sum(
            2 * len(label) + 1
            for label, above in zip(args[3], ["", *args[3]], strict=False)
            if label and label != above
        )
        return (
            len(args[2]) + 1 + labels + sum(2 * sum(map(len, row)) + 3 * width + 1 for row in rows)
        )
    if kind == "list":
        total = 0
        stack = [(item, 0) for item in args[0]]
        while stack:
            (text, children), depth = stack.pop()
            total += len(text) + 2 * depth + 12
            stack.extend((child, depth + 1) for child in children)
        return total
    return sum(len(term) + 3 * len(description) + 6 for term, description in args[0])


def _write_part(event: _Event, renderer: DocumentRenderer, budget: int) -> bool:
    """Write the leading part of `event` that takes at most `budget` characters; whether that
    was all of it."""
    args = _could_fit(event, budget)
    scratch = DocumentRenderer()
    _Event(event.kind, args, event.stats).write(scratch)
    blocks = scratch.finish().structure.blocks()
    complete = args == event.args
    if not blocks:  # a heading, or nothing to write
        if event.kind == "heading" and scratch.length <= budget:
            event.write(renderer)
            return True
        return complete and not scratch.length
    block = blocks[0][1]
    if isinstance(block, Table):
        fits = sum(1 for _, end in block.row_spans if end <= budget)
        if fits:
            renderer.table(block.header, block.rows[:fits], block.caption, block.groups[:fits])
        return complete and fits == len(block.rows)
    if isinstance(block, ListBlock):
        fits = sum(1 for item in block.items if item.end <= budget)
        if fits:
            items = [(t, c) for t, c in args[0] if one_line(t) or c][:fits]
            renderer.list(items, bool(args[1]))
        return complete and fits == len(block.items)
    if isinstance(block, DefinitionList):
        fits = sum(1 for entry in block.entries if entry.end <= budget)
        if fits:
            entries = [(t, d) for t, d in args[0] if one_line(t) or clean_lines(d)][:fits]
            renderer.definitions(entries)
        return complete and fits == len(block.entries)
    if isinstance(block, Code | Paragraph):
        if len(block.text) <= budget:
            event.write(renderer)
            return True
        text = block.text[: budget + 1]
        cut = max(text.rfind("\n"), text.rfind(" "))
        if cut > 0 and isinstance(block, Code):
            renderer.code(text[:cut], block.language)
        elif cut > 0:
            renderer.paragraph(text[:cut])
    return False


def _could_fit(event: _Event, budget: int) -> tuple[Any, ...]:
    """`event`'s arguments without the rows, items or entries that cannot fit in `budget`
    characters (by a lower bound of their written length), so a huge block is not written
    out in full only to be cut."""
    args = event.args
    if event.kind == "table":
        parts = args[1]
        sizes = (sum(min(len(cell), MAX_CELL_CHARS) for cell in row) for row in parts)
    elif event.kind == "list":
        parts = args[0]
        sizes = (len(text) for text, _ in parts)
    elif event.kind == "definitions":
        parts = args[0]
        sizes = (len(term) + len(description) for term, description in parts)
    else:
        return args
    total = 0
    for count, size in enumerate(sizes):
        total += size // 2
        if total > budget:
            parts = parts[:count]
            break
    if event.kind == "table":
        return (args[0], parts, args[2], args[3][: len(parts)])
    return (parts, *args[1:])


def _empty(title: str, problems: list[str], truncated: bool = False) -> HtmlParse:
    renderer = DocumentRenderer(title)
    return HtmlParse(title, renderer.finish(), truncated, problems)


def parse_html(
    html: str | bytes,
    *,
    url: str = "",
    main_only: bool = True,
    max_chars: int = 1_000_000,
) -> HtmlParse:
    """Parse an HTML page into its title and rendered document (see the module docstring).

    Never raises: input that cannot be read gives an empty document and a problem saying why.
    `url` only names the page in log messages."""
    problems: list[str] = []
    token = _depth_limit.set(_depth_room())
    try:
        return _parse(html, main_only, max(0, int(max_chars)), problems)
    except Exception as error:  # a safety net: bad input must never break the caller
        log.warning("parse_html failed on %s", url or "a page", exc_info=True)
        problems.append(f"HTML could not be read: {type(error).__name__}: {error}")
        return _empty("", problems)
    finally:
        _depth_limit.reset(token)


def _depth_room() -> int:
    """How deep the walk may recurse: `MAX_DEPTH`, or less where the caller's stack already
    takes much of the recursion limit."""
    frames = 0
    frame = sys._getframe()
    while frame is not None and frames < 10_000:
        frames += 1
        frame = frame.f_back  # type: ignore[assignment]
    room = (sys.getrecursionlimit() - frames - 100) // _FRAMES_PER_LEVEL
    return max(4, min(MAX_DEPTH, room))


def _parse(html: Any, main_only: bool, max_chars: int, problems: list[str]) -> HtmlParse:
    root = _read(html, problems)
    if root is None:
        return _empty("", problems)
    title = _title(root)
    body = root.find("body")
    if body is None:
        body = root
    char_limit = _READ_AHEAD * max_chars + 100_000
    events: list[_Event] = []
    stopped = False
    chosen = _choose_root(body) if main_only else None
    if chosen is not None:
        events, stopped = _walk(chosen, char_limit, problems)
    if not events:
        events, stopped = _walk(body, char_limit, problems)
        if main_only:
            events = _trim_boilerplate(events, body)
    if not title:
        title = next((e.args[0] for e in events if e.kind == "heading" and e.args[1] == 1), "")
    document, truncated = _render(events, title, max_chars)
    if stopped:
        truncated = True
    if truncated:
        problems.append(f"text cut at {max_chars} characters")
    if not document.text:
        problems.append("no text found in the page")
    return HtmlParse(title, document, truncated, problems[:_MAX_PROBLEMS])


def _read(html: Any, problems: list[str]) -> Any:
    """The element tree of `html` (text, or bytes in UTF-8 or a declared charset); None with a
    problem noted when there is nothing to read."""
    if isinstance(html, bytes | bytearray | memoryview):
        raw = bytes(html)
        if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            problems.append("input looks binary (NUL bytes), not HTML; nothing read")
            return None
        try:
            html = raw.decode("utf-8")
        except UnicodeDecodeError:
            if not raw.strip():
                problems.append("empty page: no HTML to read")
                return None
            return _parse_tree(_CONTROL_BYTES.sub(b" ", raw), problems, encoding=None)
    if not isinstance(html, str):
        problems.append(f"input is a {type(html).__name__}, not HTML text; nothing read")
        return None
    if not html.strip():
        problems.append("empty page: no HTML to read")
        return None
    if _looks_binary(html[:4096]):
        problems.append("input looks binary (control characters), not HTML; nothing read")
        return None
    data = _CONTROL.sub(" ", html).encode("utf-8", "replace")
    root = _parse_tree(data, problems)
    if root is None and not problems:
        problems.append("no HTML elements could be read")
    return root


def _title(root: Any) -> str:
    """`<title>` (whitespace collapsed), else the first `<h1>`'s text."""
    for title in root.iter("title"):
        parent = title.getparent()
        if parent is not None and _tag(parent) in ("head", "html"):
            text = one_line("".join(title.itertext()))
            if text:
                return text
    for h1 in root.iter("h1"):
        if _inside_dropped(h1, root):
            continue
        text = one_line(" ".join(_text_of(h1, 0, _Stats())))
        if text:
            return text
    return ""
