"""Whether a question needs no plan: its own words are the search, the question the goal.

A planner call costs 5-15 s on a CPU and, for a question about one thing, can only restate it;
the facts about one thing are usually stated together (who did it and when, on one page).

- `one_fact`: one short interrogative sentence with a single ask: no second clause joined by
  "and"/"or" to another question word, no comparison between things ("A or B", "than",
  "between", "both", "each"), no list ("list", "all", "every", a plural asked for: "which
  countries ...").
- `one_subject`: the same, except that a second ask about the same thing may follow, joined by
  a comma or "and" and a question word ("Who built it, and when?"). Two things compared, two
  things named with "and", lists and plurals are still planned: each of them is a search.

A wrong guess costs little: the reflection still says what is missing and searches for it.
"""

from __future__ import annotations

import re

MAX_WORDS = 20
MAX_WORDS_SEVERAL_ASKS = 26

_QUESTION_WORDS = r"(?:who|whom|whose|what|when|where|which|why|how|in which|on which|at which)"
_PREPOSITION = r"(?:in|on|at|with|for|from|by|under|near|to|of|after|before|during)"
_SECOND_ASK = re.compile(
    rf"(?:,\s*(?:and\s+)?|\band\s+|\bor\s+|\bas well as\s+|\balso\s+)(?:{_PREPOSITION}\s+)?"
    rf"(?:{_QUESTION_WORDS}|give|name|list|state|say)\b",
    re.IGNORECASE,
)
_PRONOUN = r"(?:it|its|he|his|she|her|they|their)"
_SAME_SUBJECT_ASK = re.compile(
    # "... and the year it was painted": a second ask that refers back to the subject
    rf",?\s*\band\s+(?:the|a)\s+\w+\s+(?:{_PREPOSITION}\s+)?(?:which\s+)?{_PRONOUN}\b",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(r"(?:give|state|name|say|include)\b", re.IGNORECASE)
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
    return len(text.split()) <= MAX_WORDS and not _SECOND_ASK.search(text) and _one_thing(text)


def one_subject(question: str) -> bool:
    """True when `question` asks one or more things about a single subject (see the module
    doc)."""
    text = " ".join(question.split())
    if len(text.split()) > MAX_WORDS_SEVERAL_ASKS:
        return False
    first, *rest = re.split(r"(?<=[.?!])\s+(?=\S)", text.rstrip())
    # "When did it begin? Give the full date.": a follow-up that asks more of the same thing
    if any(not _FOLLOW_UP.match(more) or _MANY.search(more) for more in rest):
        return False
    return _one_thing(_SAME_SUBJECT_ASK.sub(" ", _SECOND_ASK.sub(" ", first)))


def _one_thing(text: str) -> bool:
    """One sentence, nothing compared or listed, no plural asked for."""
    if not text or text.count("?") > 1 or _SENTENCE_BREAK.search(text.rstrip("?.! ")):
        return False
    if _MANY.search(text):
        return False
    plural = _PLURAL_ASK.search(text)  # "which countries ...": several answers, maybe a table
    return not (plural and plural.group(1).lower() not in _NOT_PLURAL)
