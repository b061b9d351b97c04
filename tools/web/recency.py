"""How recent the results of a question must be, read off its wording.

"What happened this week", "the latest release", "news from today" ask for recent pages; a web
search backend then restricts results to the last day, week, month or year. Only explicit
wording counts (a question naming a past year is about that year, not about recent pages).
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Recency", "recency_from_text"]

Recency = Literal["day", "week", "month", "year"]

_DAY = r"\b(?:today|tonight|yesterday|breaking news)\b|\b(?:past|last) (?:24 hours|day)\b"
_WEEK = r"\b(?:this|past|last) week\b|\b(?:past|last) (?:few|seven|7) days\b"
_MONTH = r"\b(?:this|past|last) month\b|\b(?:past|last) (?:30|thirty) days\b"
_YEAR = r"\b(?:this|past|last) year\b|\b(?:latest|newest|most recent|recent(?:ly)?)\b"
_RULES: tuple[tuple[Recency, re.Pattern[str]], ...] = (
    ("day", re.compile(_DAY, re.I)),
    ("week", re.compile(_WEEK, re.I)),
    ("month", re.compile(_MONTH, re.I)),
    ("year", re.compile(_YEAR, re.I)),
)


def recency_from_text(text: str) -> Recency | None:
    """The narrowest recency the text asks for, or None when it asks for none."""
    for recency, pattern in _RULES:
        if pattern.search(text):
            return recency
    return None
