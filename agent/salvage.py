"""What can be kept of a reflection whose reply was cut off (at `max_tokens`, or stopped when
it began repeating itself): its evidence numbers, its drafted answer up to where it began to
repeat, and its facts and decision when they were written before the cut.

The evidence numbers are pattern-constrained and written first, so they survive a cut in the
answer; the answer's sentences are checked against the sources like any draft.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError

from agent.llm.repair import partial_object
from agent.schemas import FactItem, Reflection
from agent.text import split_sentences, until_repeating

log = logging.getLogger(__name__)

_SENTENCE_MARKER = re.compile(r"\[(\d+)\.\d+\]")

__all__ = ["salvaged_reflection"]


def salvaged_reflection(raw: str) -> Reflection | None:
    """The reflection a cut-off reply holds, or None when it names no evidence."""
    fields = partial_object(raw)
    evidence = fields.get("evidence")
    if not evidence or not isinstance(evidence, list | str):
        return None
    answer = _before_repeating(fields.get("answer"))
    facts = [f for f in (_fact(item) for item in _items(fields.get("facts"))) if f is not None]
    verdict = fields.get("verdict")
    if verdict not in ("satisfied", "partial", "off_track"):
        verdict = "satisfied" if answer else "partial"
    action = fields.get("next_action")
    if action not in ("next_goal", "search", "read", "answer"):
        action = "next_goal"
    try:
        return Reflection(
            evidence=evidence,
            answer=answer,
            facts=facts[:4],
            missing=str(fields.get("missing") or ""),
            verdict=verdict,
            next_action=action,
            query=str(fields.get("query") or ""),
            read=fields.get("read") if isinstance(fields.get("read"), int) else 0,
        )
    except ValidationError as error:
        log.debug("cut-off reflection not salvaged: %s", error)
        return None


def _before_repeating(answer: Any) -> str:
    """The answer's complete sentences up to the first that repeats an earlier one or is cut
    off (no closing stop or marker)."""
    if not isinstance(answer, str):
        return ""
    answer = _SENTENCE_MARKER.sub(r"[\1]", answer)  # [2.1] -> [2]
    kept = split_sentences(until_repeating(answer))
    if kept and not kept[-1].rstrip().endswith((".", "!", "]", ")")):
        kept.pop()  # cut inside its last sentence
    return " ".join(kept)


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fact(item: Any) -> FactItem | None:
    try:
        return FactItem.model_validate(item)
    except ValidationError:
        return None
