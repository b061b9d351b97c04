"""The ``llm_judge`` seam: a :class:`Judge` scores a whole column in one call.

The WideSearch evaluator uses an LLM three ways, all batched: it grades every cell of an
``llm_judge`` column against the gold cell with the column's ``criterion`` (one call per
column), and it maps differently spelled response headers and key values onto the gold ones
(one call each). A :class:`Judge` does the same through two async methods.

- :class:`ChatModelJudge` uses wideseek's :class:`agent.llm.base.ChatModel` (any backend).
  As in the evaluator, a failed call, an unparseable reply or a reply of the wrong length
  scores the column 0 rather than failing the task.
- :class:`FallbackJudge` is the deterministic default when no judge model is configured:
  a cell scores 1 when the response and the gold cell are equal after the column's
  preprocessing plus NFKC normalisation, case-folding and removal of whitespace, punctuation
  and symbols, else 0 (two cells with nothing left compare their stripped texts). Headers and
  key values are mapped only onto a reference value with the same loose form (the one such
  value; ambiguous ones stay), a deterministic stand-in for the evaluator's LLM alignment.
  Scores computed with it are flagged ``judge_fallback_used``: it under-counts semantically
  equal answers ("USA" vs "United States").
- :class:`ZeroJudge` reproduces the evaluator run without a working judge model (every
  ``llm_judge`` cell 0); also flagged.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from agent.llm.base import ChatModel, Message, ModelError
from agent.llm.repair import strip_think


@runtime_checkable
class Judge(Protocol):
    """Grades columns and maps spellings. ``deterministic`` judges are flagged in scores."""

    name: str
    deterministic: bool

    async def judge_column(
        self, responses: Sequence[str], targets: Sequence[str], criterion: str | None
    ) -> list[float]:
        """One score in [0, 1] per (response, target) pair, in order."""
        ...

    async def map_values(self, values: Sequence[str], reference: Sequence[str]) -> dict[str, str]:
        """Map response values (headers or keys) to the reference spelling they denote."""
        ...


_PUNCT_CATEGORIES = ("P", "S", "Z", "C")


def loose_text(value: str) -> str:
    """NFKC, case-fold, drop whitespace, punctuation, symbols and control characters."""
    text = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in _PUNCT_CATEGORIES)


def _fallback_cell(response: str, target: str) -> float:
    a, b = loose_text(response), loose_text(target)
    if a or b:
        return 1.0 if a == b else 0.0
    return 1.0 if response.strip() == target.strip() else 0.0


def loose_alignment(values: Sequence[str], reference: Sequence[str]) -> dict[str, str]:
    """Map each value absent from ``reference`` to the one reference value with the same
    :func:`loose_text` (non-empty); ambiguous or unmatched values are left out."""
    exact = set(reference)
    by_loose: dict[str, set[str]] = {}
    for ref in reference:
        key = loose_text(str(ref))
        if key:
            by_loose.setdefault(key, set()).add(ref)
    mapping: dict[str, str] = {}
    for value in values:
        if value in exact:
            continue
        candidates = by_loose.get(loose_text(str(value)), set())
        if len(candidates) == 1:
            mapping[value] = next(iter(candidates))
    return mapping


class FallbackJudge:
    """Deterministic stand-in for a judge model (see the module docstring)."""

    name = "fallback"
    deterministic = True

    async def judge_column(
        self, responses: Sequence[str], targets: Sequence[str], criterion: str | None
    ) -> list[float]:
        return [_fallback_cell(str(r), str(t)) for r, t in zip(responses, targets, strict=True)]

    async def map_values(self, values: Sequence[str], reference: Sequence[str]) -> dict[str, str]:
        return loose_alignment(values, reference)


class ZeroJudge:
    """The evaluator without a judge model: every ``llm_judge`` cell scores 0, no mapping."""

    name = "none"
    deterministic = True

    async def judge_column(
        self, responses: Sequence[str], targets: Sequence[str], criterion: str | None
    ) -> list[float]:
        return [0.0] * len(responses)

    async def map_values(self, values: Sequence[str], reference: Sequence[str]) -> dict[str, str]:
        return {}


_GRADE_PROMPT = """You grade answers in a table column. For every item below you get the \
response cell and the reference (standard) cell. Score 1 if the response is correct with \
respect to the reference under the grading criterion, else 0. Only the integers 0 and 1 are \
allowed.

Grading criterion:
{criterion}

Items:
{items}

Reply with one JSON object mapping every item id to its score, e.g. {{"idx_0": 1, "idx_1": 0}}, \
and nothing else."""

_MAP_PROMPT = """Align two vocabularies by meaning, not by position. For each value in the \
list to align, find the value in the reference list that denotes the same thing (differences \
only in spelling, format or markdown); identical strings always correspond. Leave out values \
that have no counterpart.

Values to align:
{values}

Reference values:
{reference}

Reply with one JSON object mapping each aligned value (exactly as given) to its reference \
value (exactly as given), and nothing else."""

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def _parse_object(text: str) -> dict[str, Any] | None:
    text = strip_think(text)
    fenced = re.findall(r"```(?:json)?\s*(\{.*?\})\s*```", text, re.DOTALL)
    candidates = [*reversed(fenced)]
    whole = _JSON_OBJECT.search(text)
    if whole:
        candidates.append(whole.group(0))
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    return None


def _as_score(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return 1.0 if value >= 0.5 else 0.0
    if isinstance(value, str) and value.strip() in ("1", "1.0", "true", "yes"):
        return 1.0
    return 0.0


class ChatModelJudge:
    """A judge backed by a wideseek :class:`ChatModel` (one call per column or mapping)."""

    deterministic = False

    def __init__(
        self,
        model: ChatModel,
        *,
        max_tokens: int = 2048,
        map_headers_and_keys: bool = True,
    ) -> None:
        self.model = model
        self.name = f"chat:{model.name}"
        self.max_tokens = max_tokens
        self.map_headers_and_keys = map_headers_and_keys
        self.errors: list[str] = []

    async def _ask(self, prompt: str) -> dict[str, Any] | None:
        try:
            completion = await self.model.complete(
                [Message("user", prompt)], max_tokens=self.max_tokens, temperature=0.0
            )
        except ModelError as exc:
            self.errors.append(str(exc))
            return None
        parsed = _parse_object(completion.text)
        if parsed is None:
            self.errors.append("judge reply was not a JSON object")
        return parsed

    async def judge_column(
        self, responses: Sequence[str], targets: Sequence[str], criterion: str | None
    ) -> list[float]:
        if not responses:
            return []
        items = {
            f"idx_{i}": {"response": r, "target": t}
            for i, (r, t) in enumerate(zip(responses, targets, strict=True))
        }
        prompt = _GRADE_PROMPT.format(
            criterion=criterion or "The response must mean the same as the reference.",
            items=json.dumps(items, ensure_ascii=False, indent=1),
        )
        reply = await self._ask(prompt)
        if reply is None:
            return [0.0] * len(responses)
        return [_as_score(reply.get(f"idx_{i}", 0)) for i in range(len(responses))]

    async def map_values(self, values: Sequence[str], reference: Sequence[str]) -> dict[str, str]:
        if not self.map_headers_and_keys or not values or not reference:
            return {}
        prompt = _MAP_PROMPT.format(
            values=json.dumps(list(values), ensure_ascii=False),
            reference=json.dumps(list(reference), ensure_ascii=False),
        )
        reply = await self._ask(prompt)
        if reply is None:
            return {}
        return {str(k): str(v) for k, v in reply.items() if isinstance(v, str | int | float)}


def resolve_judge(judge: Judge | ChatModel | None) -> Judge:
    """``None`` gives the :class:`FallbackJudge`; a bare ``ChatModel`` is wrapped."""
    if judge is None:
        return FallbackJudge()
    if isinstance(judge, ChatModel):
        return ChatModelJudge(judge)
    return judge
