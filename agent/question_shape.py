"""Whether a question asks for one fact: then it needs no plan, its own words are the search.

A planner call costs 5-15 s on a CPU and, for a one-fact question, can only restate it. A
question is taken as one fact when it is one short interrogative sentence with a single ask: no
second clause joined by "and"/"or" to another question word, no comparison between things
("A or B", "than", "between", "both", "each"), no list ("list", "all", "every", a plural asked
for: "which countries ..."). Anything else goes to the planner. A wrong "one fact" costs little: the
reflection still says what is missing and searches for it.
"""

from __future__ import annotations

import re

MAX_WORDS = 20

_QUESTION_WORDS = r"(?:who|whom|whose|what|when|where|which|why|how|in which|on which|at which)"
_SECOND_ASK = re.compile(
    rf"(?:,|\band\b|\bor\b|\bas well as\b|\balso\b)\s+(?:{_QUESTION_WORDS}|give|name|list|"
    r"state|say)\b",
    re.IGNORECASE,
)
_MANY = re.compile(
    r"\b(?:or|than|versus|vs|between|both|each|either|every|all|list|compare|comparison|"
    r"respectively|and)\b",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.?!;]\s+\S")
_PLURAL_ASK = re.compile(r"\b(?:which|what)\s+(\w+[^s\W]s)\b", re.IGNORECASE)
_NOT_PLURAL = frozenset({"is", "was", "has", "does", "this", "its", "his", "us", "gas", "bus"})


def one_fact(question: str) -> bool:
    """True when `question` asks a single thing (see the module doc)."""
    text = " ".join(question.split())
    if not text or len(text.split()) > MAX_WORDS:
        return False
    if text.count("?") > 1 or _SENTENCE_BREAK.search(text.rstrip("?.! ")):
        return False
    if _SECOND_ASK.search(text) or _MANY.search(text):
        return False
    plural = _PLURAL_ASK.search(text)  # "which countries ...": several answers, maybe a table
    return not (plural and plural.group(1).lower() not in _NOT_PLURAL)
