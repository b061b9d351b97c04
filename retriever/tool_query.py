"""Query rewriting for tool retrieval: a step's goal and request as the texts to match.

Requests to an assistant carry words that say nothing about the tool ("Can you provide me
with...", "I'm a developer and..."), inline data ("###Input: ...", URLs, quoted text), and often
several needs at once ("... Additionally, ..."). `rewrite_tool_query` returns the whole request
with the boilerplate removed, plus one segment per need (sentences and "also"-clauses), so each
need can find its own tool. The goal, when the agent has one, is matched like another segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ToolQueryText", "rewrite_tool_query"]

_INPUT = re.compile(r"\s*###\s*(?:Input|Output)\s*:.*$", re.I | re.S)
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)
_SENTENCE = re.compile(r"(?<=[.?!;])\s+(?=[A-Z0-9\"'(])")
_ALSO = re.compile(
    r"\b(?:additionally|also|furthermore|moreover|in addition|besides|as well as|and then)\b,?",
    re.I,
)
_BOILERPLATE = re.compile(
    r"^(?:(?:hi|hello|hey)[,!.]?\s+)?"
    r"(?:(?:can|could|would|will) you (?:please )?(?:help me (?:to )?|provide (?:me )?(?:with )?"
    r"|give me |tell me |suggest |recommend |find |get |show )?"
    r"|please (?:help me (?:to )?)?"
    r"|i (?:would like|want|need|wish|am looking|'m looking) (?:to |for )?"
    r"|(?:what|which) is (?:an|the|a) (?:api|tool|model) (?:that|which|to) (?:can )?"
    r"(?:be used to )?"
    r"|(?:recommend|suggest|provide|find|give|show) (?:me )?(?:an?|the|some) (?:api|tool|model)s? "
    r"(?:that|which|to|for) (?:can )?)",
    re.I,
)
_TRAILING_AND = re.compile(r"\s+(?:and|or|but)$", re.I)
MIN_SEGMENT_WORDS = 3
MAX_SEGMENTS = 6


@dataclass(frozen=True)
class ToolQueryText:
    """What the retriever matches: the whole request (cleaned) and its segments."""

    text: str
    segments: list[str] = field(default_factory=list)


def _clean(text: str) -> str:
    text = _INPUT.sub("", text)
    text = _URL.sub(" ", text)
    return " ".join(text.split())


def _strip_boilerplate(segment: str) -> str:
    stripped = _BOILERPLATE.sub("", segment).strip(" ,")
    return stripped if len(stripped.split()) >= MIN_SEGMENT_WORDS else segment


def rewrite_tool_query(query: str, goal: str | None = None) -> ToolQueryText:
    """The request without inline data and boilerplate, and its segments (at most
    `MAX_SEGMENTS`; none when the request is one need). `goal` is added as a segment."""
    cleaned = _clean(query)
    parts: list[str] = []
    for sentence in _SENTENCE.split(cleaned):
        for clause in _ALSO.split(sentence):
            clause = _TRAILING_AND.sub("", clause.strip(" ,.")).strip(" ,.")
            if len(clause.split()) >= MIN_SEGMENT_WORDS:
                parts.append(_strip_boilerplate(clause))
    text = " ".join(parts) if parts else cleaned
    segments = parts if len(parts) > 1 else []
    if goal and _clean(goal) and _clean(goal).casefold() != text.casefold():
        segments = [*(segments or [text]), _clean(goal)]
    return ToolQueryText(text=text or query.strip(), segments=segments[:MAX_SEGMENTS])
