"""Small text helpers shared by the agent's nodes."""

from __future__ import annotations

import math
import re

from agent.injection import neutralise_instructions

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "does",
        "do",
        "did",
        "done",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "it's",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "me",
        "him",
        "her",
        "us",
        "them",
        "my",
        "your",
        "his",
        "our",
        "their",
        "about",
        "into",
        "over",
        "under",
        "than",
        "then",
        "there",
        "here",
        "not",
        "no",
        "yes",
        "so",
        "such",
        "please",
        "tell",
        "me",
        "find",
        "list",
        "give",
        "show",
        "name",
        "all",
        "any",
        "each",
        "every",
        "some",
        "much",
        "many",
        "more",
        "most",
        "other",
        "also",
        "just",
        "only",
        "very",
    ]
)

_WORD = re.compile(r"[\w][\w'\-.]*", re.UNICODE)


def keywords(text: str, limit: int = 8) -> str:
    """A keyword query from free text: distinctive words in order, stopwords dropped."""
    seen: list[str] = []
    for word in _WORD.findall(text):
        word = word.strip(".'-")
        if not word or word.lower() in STOPWORDS or word.lower() in (w.lower() for w in seen):
            continue
        seen.append(word)
    return " ".join(seen[:limit]) or text.strip()


def clip(text: str, limit: int) -> str:
    """Trim to `limit` characters on a word boundary, marking the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def quote_untrusted(text: str) -> str:
    """Document text is data: neutralise anything that looks like our own markup, and cut the
    sentences that instruct an AI (`agent.injection`)."""
    unmarked = re.sub(
        r"</?\s*(result|source|document|system|user|assistant)\b[^>]*>", "", text, flags=re.I
    )
    return neutralise_instructions(unmarked)


_CITATION = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")
_SENTENCE_END = re.compile(
    r"(?<=[.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*)\s+(?=(?!\[\d)[\"'(\[]?[A-Z0-9])"
)
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Z]|Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|No|Vol|Fig|vs|ca|c|e\.g|i\.e|etc|approx))\.$"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph: a split after ., ! or ? (and any citation markers) before a
    capital or digit, except after an abbreviation or an initial ("Dr.", "J.") and inside
    parentheses ("(r. 1628-1658)")."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + len(match.group(1))  # markers after the stop belong to it
        bare = _CITATION.sub("", text[start : match.start()]).rstrip()
        if _ABBREVIATION.search(bare) or bare.count("(") > bare.count(")"):
            continue
        pieces.append(text[start:end].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def with_marker(sentence: str, marker: str) -> str:
    """`sentence` with a citation `marker` ("[2]") before its closing stop (a "." added when it
    has none): "It opened in 1962 [2]."."""
    body = sentence.rstrip()
    stop = body[-1] if body[-1:] in ".!?" else "."
    body = body.rstrip(".!?")
    return f"{body} {marker}{stop}" if marker else f"{body}{stop}"


def without_questions(text: str) -> str:
    """`text` without its questions (sentences ending in "?"): what it states."""
    kept = [s for s in split_sentences(" ".join(text.split())) if not s.rstrip().endswith("?")]
    return " ".join(kept)


def until_repeating(text: str) -> str:
    """`text`'s sentences up to the first that repeats an earlier one (all its words are in an
    earlier sentence): a small model that copies a sentence twice has nothing more to say."""
    kept: list[str] = []
    seen: list[set[str]] = []
    for sentence in split_sentences(" ".join(text.split())):
        words = {w.casefold().strip(".,;:!?") for w in sentence.split() if w[:1].isalnum()}
        if any(words <= earlier for earlier in seen):
            break
        kept.append(sentence)
        seen.append(words)
    return " ".join(kept)


def passage_sentences(text: str) -> list[str]:
    """The sentences of a passage, line by line (a line break always ends a sentence)."""
    return [s for line in text.splitlines() for s in split_sentences(line)]


HEADING_CHARS = 80
"""A line this short without a closing stop is a heading or a label line."""
_HEADING_LINES = 3


def _units(text: str) -> list[str]:
    """The sentences of a passage, line by line; a heading block at its top (up to three
    short lines without a closing stop, a title, a one-line description, a topic, above a
    paragraph) is one unit: one number for the reader to skip, not three to cite. Label lines
    with no paragraph after them ("Capital: Oslo") stay one unit each."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    top = 0
    while top < min(len(lines), _HEADING_LINES) and _heading(lines[top]):
        top += 1
    grouped = top > 1 and top < len(lines) and not _heading(lines[top])
    units = [" ".join(lines[:top])] if grouped else []
    for line in lines[top if grouped else 0 :]:
        units.extend(split_sentences(line))
    return units


def _heading(line: str) -> bool:
    return len(line) <= HEADING_CHARS and not line.endswith((".", "!", "?", ";"))


def focus(text: str, terms: str, limit: int) -> str:
    """`text` within `limit` characters (`focused_sentences`), each cut marked with "…"."""
    return " ".join(s if s is not None else "…" for s in focused_sentences(text, terms, limit))


def focused_sentences(text: str, terms: str, limit: int) -> list[str | None]:
    """The sentences of `text` (a line break ends one: a title line is no part of the sentence
    after it; a heading block is one unit), whitespace flattened; when they are longer than
    `limit` characters in all, the ones that bear most on `terms`, in their own order, with
    None where sentences were cut.

    A sentence scores the summed weight of the words of `terms` it holds, each weighted by how
    few of the text's sentences hold it (BM25's idf over sentences): the subject's name, in
    most sentences of a page about it, tells little; the relation asked about ("designed",
    "length") tells which sentence answers. The first sentence, which often names the subject,
    gets a small bonus."""
    sentences = [" ".join(s.split()) for s in _units(text)]
    if sum(len(s) + 1 for s in sentences) - 1 <= limit:
        return list(sentences)
    wanted = {w.lower()[:6] for w in _WORD.findall(terms) if w.lower() not in STOPWORDS}
    holds = [{w.lower()[:6] for w in _WORD.findall(s)} & wanted for s in sentences]
    count = len(sentences)
    weight = {
        word: math.log(1.0 + (count - df + 0.5) / (df + 0.5))
        for word in wanted
        if (df := sum(word in have for have in holds))
    }

    def score(i: int) -> tuple[float, int]:
        return (sum(weight[w] for w in holds[i]) + (0.5 if i == 0 else 0.0), -i)

    chosen: list[int] = []
    used = 0
    for i in sorted(range(len(sentences)), key=score, reverse=True):
        cost = len(sentences[i]) + 3
        if used + cost > limit:
            continue
        chosen.append(i)
        used += cost
    if not chosen:
        return [clip(" ".join(sentences), limit).removesuffix(" …"), None]
    parts: list[str | None] = []
    last = -1
    for i in sorted(chosen):
        if i != last + 1:
            parts.append(None)
        parts.append(sentences[i])
        last = i
    if last != len(sentences) - 1:
        parts.append(None)
    return parts
