"""Small text helpers shared by the agent's nodes."""

from __future__ import annotations

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
