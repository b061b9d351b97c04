"""Candidate rows inside documents: a wide question's rows come from listings (table rows, list
and definition entries, runs of entry sections) or from whole pages about one entity.

`candidate_rows(plan, document, structure)` decides, for one document, where its rows are:

- the listings whose rows are the question's entities: a table whose header holds the key
  column (or several asked-for columns), a list, definition list or run of sections under a
  heading or caption that shares words with the question, with at least one row that meets a
  text condition when the plan has one;
- else, the document itself as one row (a page about one entity), named by a field labelled like
  the key column, else by the name its title leads with.

A document that labels the asked-for values itself ("Version: 2.4", "Homepage: ...") is a record
of one entity: its definition lists are that record's fields, not a listing of entities.
Every row keeps its evidence span (a table row, an entry, a section) so membership and cells are
read from the row's own text, and its table cells under their column names.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any

from agent.wide.fields import (
    DocField,
    best_fields,
    fold,
    match_score,
    mentions,
    parse_fields,
    words,
)
from agent.wide.table_plan import TablePlan, ask_of, column_example, place_terms
from retriever.listings import Listing, ListingKind, listings, row_name
from retriever.structure import DocumentStructure

MIN_LISTING_SCORE = 2.0
"""A listing scoring below this is not where the question's rows are."""
STRONG_LISTING_SCORE = 4.0
"""A listing this sure to hold the question's rows makes the answer a listing's rows: pages are
then kept only as more evidence about the rows listed (their own pages), not as rows."""
SCOPE_BONUS = 3.0
MIN_SCOPE_SHARE = 0.5
"""A listing's place names the question's scope when it holds this share of its words."""
MIN_COLUMN_SCORE = 1.0
"""A table column answers a plan column when every word of the plan column's name is in it."""
MAX_ROWS_PER_DOCUMENT = 2000
MIN_ENTRIES = 3
MIN_DESCRIPTION_CHARS = 40
"""Entries of a definition list describe things in sentences; a record's labelled values are
short ("Version: 2.4-1"): most descriptions must be this long, or end a sentence."""
MAX_NAME_CHARS = 60
"""Entries of a list, definition list or run of sections are names when they are this short."""

_OUTLINE_NUMBER = re.compile(r"^(?:[A-Z]|\d+)(?:\.\d+)*\.\s+(?=\S)")
_MARKUP = re.compile(r"~~|\*\*|`")
_FOOTNOTE_MARKS = re.compile(r"[\u00b9\u00b2\u00b3\u2070-\u2079*\u2020\u2021]+$")
_NOTE_MARK = re.compile(r"([\u00b9\u00b2\u00b3\u2070-\u2079]+|\[\d{1,2}\])(?:~~|\*\*|`)*\s*$")
"""A numbered note mark ending a name ("count_changes¹", "~~old_mode²~~", "gauge[3]")."""
_SUPERSCRIPTS = str.maketrans(
    "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079", "0123456789"
)
_NOTE_LINE = re.compile(
    r"^[ \t]*(?:[-*][ \t]+)?(?:\[(\d{1,2})\]|(\d{1,2})[.)]|([\u00b9\u00b2\u00b3\u2070-\u2079]+))"
    r"[ \t]+(\S.*)$",
    re.M,
)
"""A note's line: "1. ...", "[1] ...", "¹ ..."."""
_HEADING_LINE = re.compile(r"^#{1,6}[ \t]", re.M)
NOTES_WINDOW = 3000
"""How far after a listing its notes may be (up to the next heading)."""


class RowKind(StrEnum):
    PAGE = "page"
    TABLE = "table"
    LIST = "list"
    DEFINITIONS = "definitions"
    SECTIONS = "sections"
    SENTENCE = "sentence"


@dataclass
class CandidateRow:
    """One possible row of the answer and the text it stands on."""

    row_id: str
    source_id: str
    key: str
    kind: RowKind
    start: int
    end: int
    where: str = ""
    """The listing's place: section path and caption (empty for a page)."""
    group: str = ""
    """The group label a table row sits under ("Class 12 — Widget errors")."""
    values: dict[str, str] = field(default_factory=dict)
    """A table row's cells under their column names; an entry's description."""
    columns: dict[str, str] = field(default_factory=dict)
    """Plan column -> the listing column that holds it (table rows)."""
    key_how: str = "title"
    score: float = 0.0
    """How well the listing matched the question (0 for a page)."""
    in_scope: bool = False
    """Whether it comes from where the question says the rows are listed (its listing's
    place, or a page's title, names the plan's scope)."""
    pointer: bool = False
    """Whether its listing points to entries described elsewhere (contents, an index): what
    its text does not state may be stated on the row's own page."""
    note: str = ""
    """The note its name's mark refers to, written after its listing ("count_changes¹" ->
    "1. Pragmas struck through are deprecated."): part of its own text."""

    def to_state(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> CandidateRow:
        return cls(**{**data, "kind": RowKind(data["kind"])})

    @property
    def is_page(self) -> bool:
        return self.kind is RowKind.PAGE

    def fields(self) -> list[DocField]:
        """The row's labelled values as fields (for membership), spanning the row."""
        out = [DocField(name, name, value, self.start, self.end) for name, value in
               self.values.items() if value.strip()]  # fmt: skip
        if self.group:
            out.append(DocField("group", "group", self.group, self.start, self.end))
        return out

    def evidence(self, text: str) -> str:
        """The row's own text with the group label it sits under (not its listing's heading:
        whether that vouches for the row depends on how sure the listing is)."""
        lines = [self.group, self.own_text(text)]
        return "\n".join(line for line in lines if line)

    def own_text(self, text: str) -> str:
        """Its span of `text`, with the note its mark refers to."""
        own = text[self.start : self.end]
        return f"{own}\nNote: {self.note}" if self.note else own


def note_mark(name: str) -> str:
    """The number of the note a name's mark refers to ("count_changes¹" -> "1"), else ""."""
    found = _NOTE_MARK.search(name)
    return found.group(1).strip("[]").translate(_SUPERSCRIPTS) if found else ""


def notes_after(text: str, end: int) -> tuple[dict[str, str], int]:
    """The numbered notes written after a listing, before the next heading (number -> its
    text: "Notes: 1. Pragmas struck through are deprecated. 2. ..."), and where the last ends
    (`end` if none)."""
    window = text[end : end + NOTES_WINDOW]
    heading = _HEADING_LINE.search(window)
    if heading is not None:
        window = window[: heading.start()]
    notes: dict[str, str] = {}
    last = end
    for found in _NOTE_LINE.finditer(window):
        number = (found.group(1) or found.group(2) or found.group(3)).translate(_SUPERSCRIPTS)
        notes.setdefault(number, found.group(4).strip())
        last = end + found.end()
    return notes, last


def _marked(listing: Listing) -> bool:
    return any(note_mark(row.name) for row in listing.rows)


def clean_key(text: str) -> str:
    """A row name as a table cell: outline numbers ("E.2. ", "9.4.1. "), inline markup and
    trailing footnote marks removed."""
    text = " ".join(_MARKUP.sub("", text).split())
    text = _FOOTNOTE_MARKS.sub("", text).strip()
    stripped = _OUTLINE_NUMBER.sub("", text)
    return stripped if words(stripped) else text


_SIGNATURE = re.compile(
    r"([A-Za-z_][\w.$:]*) ?\([^()]*(?:\([^()]*\)[^()]*)*\)"  # name ( arguments )
    r"[ \t]*(?:(?:→|->|=>|:)[ \t]*\S.*)?"  # what it returns
)
"""A call signature: a name, its arguments in brackets, maybe what it returns
("round ( v numeric, s integer ) → numeric", "os.path.join(a, *p)")."""


_BARE_SIGNATURE = re.compile(r"([A-Za-z_][\w.$:]*)[ \t]*(?:→|->|=>)[ \t]*\S.*")
"""A call signature of a name without arguments and what it returns ("current_date → date")."""

_CALL_EXAMPLE = re.compile(r"[A-Za-z_][\w.]*\([^()]*\)")


def names_by_signature(plan: TablePlan) -> bool:
    """Whether a row of call signatures is named by its function: unless the key column's
    description shows a call ("as written, e.g. abs(X)"): then the signature is the name."""
    column = next((c for c in plan.columns if c.name == plan.key_column), None)
    return column is None or not _CALL_EXAMPLE.search(column.description)


def _signature(line: str) -> str:
    """The name a line that is a call signature gives, else ""."""
    line = line.strip()
    match = _SIGNATURE.fullmatch(line) or _BARE_SIGNATURE.fullmatch(line)
    return match.group(1) if match else ""


def signature_name(text: str) -> str:
    """The name a cell of call signatures gives its row (its first line's name), else ""."""
    return _signature(text.strip().split("\n", 1)[0])


def signature_names(text: str) -> list[str]:
    """Every name a cell of call signatures gives, in order (a row may list aliases: "len (
    text ) → integer" and "length ( text ) → integer")."""
    return list(dict.fromkeys(n for n in map(_signature, text.strip().splitlines()) if n))


def merge_key(text: str) -> str:
    """The form rows of one entity share across documents."""
    return fold(clean_key(text)).strip(" .;:()")


def page_key(title: str, fields: list[DocField], key_column: str) -> tuple[str, str]:
    """A page row's name: a field labelled like the key column, else the name its title
    leads with (the text before a dash, colon, bracket or comma)."""
    for match in best_fields(fields, key_column, limit=1, min_score=1.5):
        value = match.field.value.strip()
        if value and len(value) <= 120:
            return value, "field"
    return clean_key(row_name(title) or title), "title"


def is_record(fields: list[DocField], plan: TablePlan) -> bool:
    """Whether the document labels values the question asks for ("Version: 2.4" for a Version
    column, under any parent label): a page about one entity, whose labelled lines are its
    fields, not a listing of entities."""
    names = [c.name for c in plan.columns if c.name != plan.key_column]
    return any(best_fields(fields, name, limit=1, min_score=MIN_COLUMN_SCORE) for name in names)


def map_columns(plan: TablePlan, header: list[str]) -> dict[str, str]:
    """Plan column -> the table column whose name holds all its words (best first; each table
    column used once)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in plan.columns:
        scored = sorted(
            ((match_score(column.name, name), -i, name) for i, name in enumerate(header)),
            reverse=True,
        )
        for score, _, name in scored:
            if score >= MIN_COLUMN_SCORE and name not in taken:
                mapping[column.name] = name
                taken.add(name)
                break
    return mapping


MIN_LIKE_EXAMPLE = 0.5
"""A listing is sure to hold the rows only when this share of its names look like the key
column's example."""


def key_example(plan: TablePlan) -> str:
    """The example of a row name the key column's description gives ("the identifier, e.g.
    CVE-2019-12345" -> "CVE-2019-12345"), else ""."""
    column = next((c for c in plan.columns if c.name == plan.key_column), None)
    return column_example(column.description) if column is not None else ""


_TOKEN = re.compile(r"[^\W_]+")


def name_shape(text: str) -> tuple[str, ...]:
    """How a name is built, by its first two words: each a number ("9"), a word in capitals
    ("U": "CVE", "ALTER"), in small letters ("a": "cosd") or other letters ("A": "Release",
    "What")."""
    shape = []
    for token in _TOKEN.findall(clean_key(text))[:2]:
        if token[0].isdigit():
            shape.append("9")
        elif token.isupper() and len(token) > 1:
            shape.append("U")
        elif token.islower():
            shape.append("a")
        else:
            shape.append("A")
    return tuple(shape)


@lru_cache(maxsize=64)
def example_pattern(example: str) -> re.Pattern[str] | None:
    """A pattern for names built exactly as an example that holds a number (an identifier or a
    version: "CVE-2019-12345" -> letters-digits-digits, "3.31.1" -> a version of two or more
    parts, "Release 4.2" -> letters and a version), else None (a word names anything)."""
    if not any(ch.isdigit() for ch in example):
        return None
    parts = []
    # a version stands for versions of any number of parts; a lone number is one only after a
    # word ("Release 15" is like "Release 15.3"; a bare "15" is no version like "3.31.1")
    worded = bool(re.search(r"[^\W\d_]", example))
    version = r"\d+(?:\.\d+)*" if worded else r"\d+(?:\.\d+)+"
    for token in re.findall(r"\d+(?:\.\d+)+|\d+|[^\W\d_]+|\s+|[^\w\s]|_", example.strip()):
        if token[0].isdigit() and "." in token:
            parts.append(version)
        elif token[0].isdigit():
            parts.append(r"\d+")
        elif token[0].isalpha():
            parts.append(re.escape(token) if token.isupper() and len(token) > 1 else r"[^\W\d_]+")
        elif token.isspace():
            parts.append(r"\s+")
        else:
            parts.append(re.escape(token))
    return re.compile(r"(?<![\w.-])" + "".join(parts) + r"(?![\w]|[.-]\d)")


MAX_REST_WORDS = 3
"""A listed name holds a name built like the example when little else is in it ("2022-12-28
(3.40.1)"), not in a sentence ("Fix a bug introduced in 3.38.0 by the planner")."""


def name_in(text: str, example: str, *, whole: bool = False) -> str:
    """The one name built like the key column's example (`example_pattern`) that `text`
    holds: in a page's title (`whole`: "SQLite Release 3.38.3 On 2022-04-27" -> "3.38.3"), or
    in a listed name with at most MAX_REST_WORDS other words; else ""."""
    pattern = example_pattern(example)
    found = {m.group(0) for m in pattern.finditer(text)} if pattern else set()
    if len(found) != 1:
        return ""
    name = found.pop()
    if not whole and len(_TOKEN.findall(text.replace(name, " "))) > MAX_REST_WORDS:
        return ""
    return name


_SIGIL = re.compile(r"[^\w\s\[\]()]+(?=\w)")
"""The marks an identifier starts with ("--jobs", "@cache", "$HOME", "%timeit", "\\section")."""
_ARGUMENT = re.compile(r"[\s=\[]")


def alias_like(term: str, example: str) -> str:
    """Of the names a term gives one entry, the one written as the key column's example is,
    where the example starts with marks ("-j njobs, --jobs=njobs" for "--jobs" -> "--jobs";
    "[-d] dbname, [--dbname=]dbname" -> "--dbname"): the same marks, cut before its argument
    (a space, "=" or "[") where the example has none; else ""."""
    sigil = _SIGIL.match(example.strip())
    if sigil is None:
        return ""
    whole = not _ARGUMENT.search(example.strip())
    found = []
    for alias in term.split(", "):
        alias = alias.replace("[", " ").replace("]", " ").strip()
        if whole:
            alias = _ARGUMENT.split(alias, 1)[0]
        mark = _SIGIL.match(alias)
        if mark is not None and mark.group(0) == sigil.group(0) and alias != mark.group(0):
            found.append(alias)
    return found[0] if len(found) == 1 else ""


def tags_like(text: str, example: str) -> list[str]:
    """The identifiers of a scheme with a fixed name in capitals ("CVE-2019-12345", "RFC
    9110", "PEP 8") that `text` states, in order, each once: how an item of a change list or
    a paragraph tags what it is about ("... (CVE-2023-2454)"). [] for other examples (a
    version or a date names no scheme: "Fix a bug introduced in 3.38.0")."""
    pattern = example_pattern(example)
    if pattern is None or not identifier_scheme(example):
        return []
    return list(dict.fromkeys(m.group(0) for m in pattern.finditer(text)))


_SCHEME = re.compile(r"(?<![^\W\d_])[A-Z]{2,}(?![^\W\d_])")


def identifier_scheme(example: str) -> str:
    """The fixed name of the identifier scheme an example is built in ("CVE" of
    "CVE-2019-12345", "RFC" of "RFC 9110"), else "": every row's text states it."""
    found = _SCHEME.search(example) if example_pattern(example) is not None else None
    return found.group(0) if found else ""


_UNTAGGED = (ListingKind.TABLE, ListingKind.SECTIONS)
"""Listings whose rows are named by their cells or headings, never by tags in their text."""


def _tagged(listing: Listing, text: str, example: str) -> list[str]:
    """The identifiers the items of a list or of entries tag themselves with (`tags_like`);
    [] for a table or a run of sections."""
    if listing.kind in _UNTAGGED:
        return []
    return [t for r in listing.rows for t in tags_like(text[r.start : r.end], example)]


def like_example(names: list[str], example: str) -> bool:
    """Whether most names are built as the example is (`name_shape`, as far as both go): a
    listing of dates ("2020-06-18") or of chapter titles ("What Is Quill?") is no listing of
    identifiers like "CVE-2019-12345"; "Release 4.10" is like "Release 4.2"."""
    listed = [n for n in names if n.strip()]
    pattern = example_pattern(example)
    if pattern is not None and listed:  # an identifier or version: built exactly like it
        alike = sum(bool(pattern.fullmatch(clean_key(n)) or name_in(n, example)) for n in listed)
        return alike >= MIN_LIKE_EXAMPLE * len(listed)
    wanted = name_shape(example)
    shapes = [name_shape(n) for n in listed]
    if not wanted or not shapes:
        return True
    alike = sum(s[: len(wanted)] == wanted[: len(s)] for s in shapes if s)
    return alike >= MIN_LIKE_EXAMPLE * len(shapes)


def question_words(plan: TablePlan, question: str) -> set[str]:
    first = ask_of(question)
    return set(words(f"{plan.entity} {plan.key_column} {first}"))


def text_conditions(plan: TablePlan) -> list[str]:
    return [c.value for c in plan.conditions if c.test in ("contains", "equals") and words(c.value)]


def score_listing(
    listing: Listing, plan: TablePlan, topic: set[str], text: str, title: str
) -> tuple[float, dict[str, str]]:
    """How likely the listing's rows are the question's rows, and its column mapping."""
    if len(listing.rows) < 2:
        return 0.0, {}
    mapping: dict[str, str] = {}
    score = 0.0
    if listing.kind is ListingKind.TABLE:
        mapping = map_columns(plan, listing.columns)
        score += 2.0 * len(mapping)
        if not mapping:
            score -= 2.0  # a header naming none of the asked-for columns
        elif plan.key_column not in mapping and len(mapping) < 2:
            score -= 1.0
    else:
        # rows named like the asked-for columns are one entity's fields, not entities
        names = {fold(r.name) for r in listing.rows}
        if sum(any(match_score(c.name, n) >= 1.0 for n in names) for c in plan.columns) >= 2:
            return 0.0, {}
        if listing.kind is ListingKind.DEFINITIONS:
            # labelled lines are a page's own fields when they are few ("Summary: ...",
            # "Topic: ..."; not two entries described in prose) or when one is a field the
            # conditions read
            fields = [c.field for c in plan.conditions if c.field.strip()]
            fields += [c.name for c in plan.columns if c.name != plan.key_column]
            described = [r.values.get("description", "") for r in listing.rows]
            prose = sum(len(d) >= MIN_DESCRIPTION_CHARS or d.rstrip().endswith(".")
                        for d in described)  # fmt: skip
            if (
                (len(listing.rows) < MIN_ENTRIES and prose < len(described))
                or 2 * prose < len(described)  # short values: "Maintainer: ...", not entries
                or any(match_score(f, n) >= 1.0 for f in fields for n in names)
            ):
                return 0.0, {}
    place = set(words(f"{title} {listing.where} {' '.join(listing.columns)}"))
    score += min(3.0, float(len(place & topic)))
    score += scope_bonus(plan, f"{title} {listing.where}")
    if listing.kind is not ListingKind.TABLE and len(listing.rows) >= MIN_ENTRIES:
        entry_names = [r.name for r in listing.rows]
        short = sum(len(n) <= MAX_NAME_CHARS for n in entry_names) >= 0.8 * len(entry_names)
        # a run of sections is any document's chapters unless its headings name the kind of
        # row asked for ("Release 4.2" for releases)
        kind_words = set(words(f"{plan.entity} {plan.key_column}"))
        named = sum(bool(kind_words & set(words(n))) for n in entry_names)
        if short and (listing.kind is not ListingKind.SECTIONS or 2 * named >= len(entry_names)):
            score += 1.0  # entries named by short names, not sentences
    wanted = text_conditions(plan)
    if wanted:
        hits = sum(
            any(mentions(text[r.start : r.end], v) >= 0 for v in wanted) for r in listing.rows
        )
        if hits:
            score += 1.0 + (1.0 if hits < len(listing.rows) else 0.0)
    if listing.kind is ListingKind.SENTENCE:
        score -= 1.0  # names in running text: weaker evidence than a list or table
    example = key_example(plan)
    # items tagged with identifiers like the example ("... (CVE-2023-2454)"): named by those
    tagged = bool(example) and bool(_tagged(listing, text, example))
    long_items = all(len(r.name) > 80 for r in listing.rows[:5])
    if listing.kind is ListingKind.LIST and long_items and not tagged:
        score -= 2.0  # items that are sentences, not names
    if listing.kind is ListingKind.TABLE and plan.key_column not in mapping:
        # rows named by their first cell, not by the asked-for key: never sure enough to
        # stand for the question's rows on their own, whatever else matches
        score = min(score, STRONG_LISTING_SCORE - 0.5)
    if example and not like_example(_names(listing, mapping, plan, text), example):
        if tagged:  # its rows are the identifiers its items are tagged with: no sure listing
            return min(score, STRONG_LISTING_SCORE - 0.5), mapping
        score = min(score - 1.0, STRONG_LISTING_SCORE - 0.5)  # rows named unlike the asked
    return score, mapping


def _names(listing: Listing, mapping: dict[str, str], plan: TablePlan, text: str) -> list[str]:
    """The names a listing gives its rows: the key column's cells, else the entries' names as
    their first line writes them ("2022-12-28 (3.40.1)", where the name is "2022-12-28")."""
    key_cell = mapping.get(plan.key_column)
    names = []
    for row in listing.rows:
        cell = row.values.get(key_cell, "") if key_cell else ""
        line = _first_line(text, row.start, row.end)
        names.append(cell or (line if row.name and row.name in line else row.name))
    return names


def _first_line(text: str, start: int, end: int) -> str:
    return text[start:end].lstrip().split("\n", 1)[0].lstrip("#-*. ")


def scope_bonus(plan: TablePlan, place: str) -> float:
    """What a listing's place (its document's title, its section path and caption) adds when
    it is where the question says the rows are listed: up to SCOPE_BONUS, for most of the
    scope's distinctive words in it (weighted by their rarity); else 0."""
    if not plan.scope_words:
        return 0.0
    have = place_terms(place)
    weights = plan.scope_weights or [1.0] * len(plan.scope_words)
    share = sum(wt for w, wt in zip(plan.scope_words, weights, strict=False) if w in have) / sum(
        weights
    )
    return SCOPE_BONUS * share if share >= MIN_SCOPE_SHARE else 0.0


def candidate_rows(
    plan: TablePlan,
    question: str,
    source_id: str,
    text: str,
    title: str,
    structure: DocumentStructure | None,
) -> list[CandidateRow]:
    """The rows one document offers: those of its matching listings, else the page itself."""
    fields = parse_fields(text)
    found: list[CandidateRow] = []
    if structure is not None:
        # a page labelling an asked-for value ("Result: 42" under an example) may be a record
        # of one entity: then only a table listing the key column sure to hold the rows
        # gives rows, not its labelled lines
        record = is_record(fields, plan)
        # a page named like the asked-for rows ("F.3. tide_ft" for "e.g. cosd") is one of
        # them: its listings named otherwise (its own sections, "Caution") are its parts
        example = key_example(plan)
        titled = name_in(title, example, whole=True)
        named_like = bool(titled) or (
            bool(example) and like_example([page_key(title, fields, "")[0]], example)
        )
        topic = question_words(plan, question)
        chosen: list[tuple[Listing, dict[str, str]]] = []
        scores: dict[int, float] = {}
        tagged: set[int] = set()  # listings whose items tag themselves with identifiers
        for listing in listings(structure):
            score, mapping = score_listing(listing, plan, topic, text, title)
            if example and _tagged(listing, text, example):
                tagged.add(id(listing))
            sure = plan.key_column in mapping and score >= STRONG_LISTING_SCORE
            if record and not sure and id(listing) not in tagged:
                continue
            if named_like and not like_example(_names(listing, mapping, plan, text), example):
                continue
            if score >= MIN_LISTING_SCORE:
                chosen.append((listing, mapping))
                scores[id(listing)] = score
        # the notes a listing's marks refer to are no listing of rows of their own
        notes = {id(li): notes_after(text, li.end) for li, _ in chosen if _marked(li)}
        spans = [(li.end, notes[id(li)][1]) for li, _ in chosen if id(li) in notes]
        chosen = [(li, m) for li, m in chosen
                  if not any(a <= li.start and li.end <= b for a, b in spans)]  # fmt: skip
        for listing, mapping in _outermost_or_finer(chosen):
            own = id(listing)
            noted = notes[own][0] if own in notes else {}
            rows = _listing_rows(listing, mapping, plan, source_id, scores[own], text,
                                 tagged=own in tagged, notes=noted)  # fmt: skip
            if record and own in tagged:
                rows = [with_page_fields(row, fields, plan) for row in rows]
            placed = scope_bonus(plan, f"{title} {listing.where}") > 0
            found.extend(replace(row, in_scope=placed) for row in rows)
            if len(found) >= MAX_ROWS_PER_DOCUMENT:
                break
    if found:
        return found[:MAX_ROWS_PER_DOCUMENT]
    key, how = page_key(title, fields, plan.key_column)
    if how == "title" and structure is not None and titled:
        key = titled  # the name its title holds, as the listings name the row
    in_scope = scope_bonus(plan, title) > 0
    return [CandidateRow(source_id, source_id, key, RowKind.PAGE, 0, len(text), key_how=how,
                         in_scope=in_scope)]  # fmt: skip


def with_page_fields(row: CandidateRow, fields: list[DocField], plan: TablePlan) -> CandidateRow:
    """A row tagged in a record page's list ("... (CVE-2023-2454)" among a release's
    changes), with the page's labelled values of the asked-for columns its own text lacks
    ("Release date: 2023-05-11"): what the page says of itself it says of every item it
    lists, and the row's cells and conditions read them as its own."""
    values, columns = dict(row.values), dict(row.columns)
    for column in plan.columns:
        if column.name == plan.key_column or column.name in columns:
            continue
        found = best_fields(fields, column.name, limit=1, min_score=MIN_COLUMN_SCORE)
        page = found[0].field if found else None
        if page is not None and page.full_value.strip() and page.path not in values:
            values[page.path] = page.full_value.strip()
            columns[column.name] = page.path
    return replace(row, values=values, columns=columns)


def _inside(inner: Listing, outer: Listing) -> bool:
    return inner is not outer and outer.start <= inner.start and inner.end <= outer.end


def _outermost_or_finer(
    chosen: list[tuple[Listing, dict[str, str]]],
) -> list[tuple[Listing, dict[str, str]]]:
    """The chosen listings without overlaps: a run of sections whose chosen inner listings
    (tables, lists, entries inside those sections) hold at least as many rows gives way to
    them, being a coarser view of the same rows, and any listing gives way to one inside it
    with more rows than it has (a table of contents in one entry of a short definition list);
    otherwise a listing inside a chosen one (an entry's own list) is dropped."""
    kept = []
    for listing, mapping in chosen:
        inner = [c for c, _ in chosen if _inside(c, listing)]
        finer = sum(len(c.rows) for c in inner) >= len(listing.rows)
        if listing.kind is ListingKind.SECTIONS and inner and finer:
            continue
        if any(len(c.rows) > len(listing.rows) for c in inner):
            continue  # a few entries, one of which holds a longer listing (contents) of its own
        kept.append((listing, mapping))
    result = [
        (listing, mapping)
        for listing, mapping in kept
        if not any(_inside(listing, outer) for outer, _ in kept)
    ]
    return sorted(result, key=lambda c: c[0].start)


def _listing_rows(
    listing: Listing,
    mapping: dict[str, str],
    plan: TablePlan,
    source_id: str,
    score: float,
    text: str,
    *,
    tagged: bool,
    notes: dict[str, str],
) -> list[CandidateRow]:
    """The candidate rows of one chosen listing (`tagged`: its items tag themselves with
    identifiers like the key's example; `notes`: the numbered notes written after it)."""
    rows = []
    key_column = mapping.get(plan.key_column)
    by_name = names_by_signature(plan)
    example = key_example(plan)
    pattern = example_pattern(example)
    for row in listing.rows:
        name = row.values.get(key_column, "") if key_column else ""
        if not name and listing.kind is not ListingKind.TABLE:
            name = row_name(row.name)  # "term (what it is)" -> "term"
        key = clean_key((by_name and signature_name(name)) or name or row.name)
        sigiled = alias_like(row.name, example) if pattern is None else ""
        if sigiled:  # "-j njobs, --jobs=njobs" for rows named like "--jobs"
            key = sigiled
        if pattern is not None and not pattern.fullmatch(key):
            # named as the question names rows inside a longer name: "2022-12-28 (3.40.1)"
            first_line = _first_line(text, row.start, row.end)
            key = next(
                (n for n in (name_in(t, example) for t in (name, row.name, first_line)) if n), key
            )
        # an item tagged with identifiers like the example is a row for each of them
        named = pattern is None or pattern.fullmatch(key) or listing.kind in _UNTAGGED
        tags = [] if named else tags_like(text[row.start : row.end], example)
        if tags:
            key = tags[0]
        elif not named and tagged:
            continue  # an untagged item of a list whose rows are its items' tags
        if not key:
            continue
        values = dict(row.values)
        # a row of signatures naming several functions (or tagged with several identifiers)
        # is a row for each of them
        aliases = tags[1:] or (signature_names(name)[1:] if by_name and name else [])
        for alias in [key, *aliases]:
            rows.append(
                CandidateRow(
                    row_id=f"{source_id}#{row.start}" + (f"~{alias}" if alias != key else ""),
                    source_id=source_id,
                    key=clean_key(alias),
                    kind=RowKind(listing.kind.value),
                    start=row.start,
                    end=row.end,
                    where=listing.where,
                    group=getattr(row, "group", ""),
                    values=values,
                    columns=dict(mapping),
                    key_how="listing",
                    score=score,
                    pointer=listing.pointers,
                    note=notes.get(note_mark(row.name), "") if notes else "",
                )
            )
    return rows
