"""A document's labelled fields ("Label: value" lines, nested lists, headed sections) and the
matching of table columns and conditions to them.

Most reference pages (package pages, profiles, infoboxes, spec sheets) state their facts as
labelled lines. Reading those lines lets wide research check a condition or find a cell's
passage without a model call, and lets the extractor see only the lines a column needs. Nothing
here knows a particular corpus: labels are matched to column names by their words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_LABEL_LINE = re.compile(r"^(?P<indent>\s*)(?:[-*\u2022]\s+)?(?P<label>[^:\n]{1,60}?):(?:\s+|$)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_WORD = re.compile(r"[^\W_]+")
_URLISH = re.compile(r"^\s*(?:https?|ftp)$", re.IGNORECASE)
STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "per",
        "this",
        "that",
        "each",
        "every",
        "any",
        "all",
        "given",
        "exactly",
        "plain",
    ]
)


@dataclass
class DocField:
    """One labelled line: `path` is the label with its parent labels ("Area / total")."""

    label: str
    path: str
    value: str
    start: int
    end: int
    depth: int = 0
    children: list[DocField] = field(default_factory=list)

    @property
    def full_value(self) -> str:
        """The value, or for a parent line its children's lines."""
        if self.value or not self.children:
            return self.value
        return "; ".join(f"{c.label}: {c.full_value}" for c in self.children)


def fold(text: str) -> str:
    """Lower-case, accents removed, whitespace collapsed: the form texts are compared in."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


_JOIN = r"(?:\s*[-\u2010\u2011]\s*|\s+)"
"""What may stand between two words of a value in a text: a space or a hyphen ("C interface"
in "C-interface"); not a slash ("C/Rust Interface" names two things), never a sentence's end."""


def mentions(text: str, value: str) -> int:
    """Where folded `text` states folded `value` as whole words (-1 if it does not):
    "admin" is not in "administrator", "bioinformatics.org" is in "www.bioinformatics.org";
    the value's words may be joined by a hyphen ("e mail" in "e-mail")."""
    wanted = fold(value).strip()
    if not wanted:
        return -1
    left = r"(?<!\w)" if wanted[0].isalnum() else ""
    right = r"(?!\w)" if wanted[-1].isalnum() else ""
    body = _JOIN.join(re.escape(part) for part in wanted.split(" "))
    match = re.search(left + body + right, fold(text))
    return match.start() if match else -1


def singular(word: str) -> str:
    """A folded word with a plural -s taken off ("tags" -> "tag"; not "class" or "bus")."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def words(text: str) -> list[str]:
    """Content words, folded, with a plural -s taken off (so "Tags" matches "tag")."""
    return [singular(word) for word in _WORD.findall(fold(text)) if word not in STOP]


def parse_fields(text: str) -> list[DocField]:
    """Every labelled line of `text`, in order, with nesting by indentation and list marks.

    A label line with no value opens a group; the more-indented label lines under it are its
    children (their path is "Parent / child"); plain lines under it are its value (a
    paragraph). Headings ("## Geography") are not fields but close open groups. URL schemes
    ("http: //...") are not labels."""
    fields: list[DocField] = []
    stack: list[DocField] = []
    block: DocField | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        start = offset
        offset += len(line)
        body = line.rstrip("\r\n")
        if not body.strip():
            continue
        if _HEADING.match(body):
            stack.clear()
            block = None
            continue
        match = _LABEL_LINE.match(body)
        if not match or _URLISH.match(match.group("label")):
            # plain text under a label with no value of its own ("Description:" then a
            # paragraph) is that label's value
            if block is not None:
                block.value = f"{block.value} {body.strip()}".strip()
                block.end = start + len(body)
            continue
        label = match.group("label").strip()
        if not label or len(label.split()) > 8:
            continue
        indent = len(match.group("indent").expandtabs(4))
        bulleted = body.lstrip().startswith(("-", "*", "\u2022"))
        depth = indent + (1 if bulleted else 0)
        value = body[match.end() :].strip()
        while stack and stack[-1].depth >= depth:
            stack.pop()
        parent = stack[-1] if stack else None
        path = f"{parent.path} / {label}" if parent else label
        item = DocField(label, path, value, start, start + len(body), depth)
        if parent is not None:
            parent.children.append(item)
            if not parent.children[:-1] and parent.value:
                parent.value = ""  # a stray line before the list is not the group's value
        fields.append(item)
        block = None
        if not value:
            stack.append(item)
            block = item
    return fields


@dataclass(frozen=True)
class FieldMatch:
    field: DocField
    score: float


MIN_PREFIX_CHARS = 5
"""A word this long names a label word it begins ("Coast" the "Coastline" field)."""


def _has_word(word: str, have: set[str]) -> bool:
    if word in have:
        return True
    return len(word) >= MIN_PREFIX_CHARS and any(h.startswith(word) for h in have)


def match_score(name: str, path: str, hint: str = "") -> float:
    """How well a field `path` answers a column or condition `name` (plus a description
    `hint`): the share of the name's words in the path, plus a smaller share for how much of
    the path the name explains, plus a little for the hint's words. 0 when nothing matches."""
    wanted = words(re.sub(r"\([^)]*\)", " ", name)) or words(name)
    have = words(path)
    if not wanted or not have:
        return 0.0
    have_set = set(have)
    common = sum(_has_word(w, have_set) for w in set(wanted))
    hint_words = set(words(hint)) - set(wanted)
    hint_common = sum(w in have_set for w in hint_words)
    if not common and not hint_common:
        return 0.0
    score = common / len(set(wanted)) + 0.5 * common / len(have_set)
    if hint_words:
        score += 0.25 * hint_common / len(hint_words)
    return score


def best_fields(
    fields: list[DocField], name: str, hint: str = "", limit: int = 3, min_score: float = 0.5
) -> list[FieldMatch]:
    """The fields that best match `name`, best first (earlier lines win ties)."""
    scored = []
    for index, item in enumerate(fields):
        score = match_score(name, item.path, hint)
        if score >= min_score and (item.value or item.children):
            scored.append((score, -index, item))
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [FieldMatch(item, score) for score, _, item in scored[:limit]]


# --- numbers ---------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![\w.])[-\u2212]?\d{1,3}(?:[,\u202f\u00a0 ]\d{3})+(?:\.\d+)?(?![\d])"
    r"|(?<![\w.])[-\u2212]?\d+(?:\.\d+)?(?![\d])"
)
_SCALE = re.compile(r"^\s*(thousand|million|billion|trillion|mn|bn)\b", re.IGNORECASE)
_SCALES = {
    "thousand": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "trillion": 1e12,
}


def numbers_in(text: str) -> list[float]:
    """The numbers a text states, in order: separators removed, "1.284 million" scaled,
    a Unicode minus read as minus."""
    found: list[float] = []
    for match in _NUMBER.finditer(text):
        raw = match.group(0).replace("\u2212", "-")
        raw = re.sub(r"[,\u202f\u00a0 ]", "", raw)
        try:
            value = float(raw)
        except ValueError:
            continue
        scale = _SCALE.match(text[match.end() :])
        if scale:
            value *= _SCALES[scale.group(1).lower()]
        found.append(value)
    return found


def first_number(text: str) -> float | None:
    values = numbers_in(text)
    return values[0] if values else None


def format_number(value: float) -> str:
    """A plain number: no separators, no trailing ".0"."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")
