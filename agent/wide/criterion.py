"""The question's own words as the test of its rows, when the plan kept none.

A small planner often turns "which parameters take effect only at server start" into no test
at all, or into one word every page states ("only"). Once a listing sure to hold the rows has
been read, the question's words can be tried against its entries instead: a run of two or more
of the question's content words (not the place, the columns or the kind of row) that some
entries state and others do not is what tells the asked-for entries apart ("server start" in
"This parameter can only be set at server start"). It is used as a "contains" test of each
row's own text, and the answer says so. Deterministic: no model call, no wording of a source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from agent.wide.fields import STOP, fold, singular
from agent.wide.rows import STRONG_LISTING_SCORE, CandidateRow, RowKind
from agent.wide.schemas import Condition
from agent.wide.table_plan import TablePlan, ask_of
from agent.wide.verdicts import GroupVerdict, row_verdicts

MIN_ENTRIES = 4
"""Entries a listing needs before its entries can tell a criterion apart."""
MIN_WORDS = 2
"""Content words a criterion holds (one word, "only" or "new", is stated anywhere)."""
MAX_WORDS = 6

_ASKING = """i me my we our you your he she they them their which what who whom whose where when
    how why there here these those than then so such if but about also are was were be been
    being can could may might must shall should will would do does did has have had am please
    list show give tell need want know find"""
_FUNCTION_WORDS = STOP | frozenset(_ASKING.split())
"""Words that state no property of a row: function words and the verbs of asking."""
_WORD = re.compile(r"[^\W_]+")
_CLAUSE_END = re.compile(r"[.;:!?](?:\s|$)|\n|[()\[\]]")


@dataclass(frozen=True)
class Criterion:
    """A run of the question's words that some of the listing's entries state."""

    words: tuple[str, ...]
    phrase: str
    """As the first entry stating it writes it ("server start")."""
    stated_by: int
    entries: int


def _tokens(text: str) -> list[list[tuple[str, int, int]]]:
    """Content words (folded, plural -s off) with their spans, in runs that no clause end or
    bracket breaks."""
    runs: list[list[tuple[str, int, int]]] = []
    start = 0
    for piece in [*_CLAUSE_END.finditer(text), None]:
        end = piece.start() if piece is not None else len(text)
        run = [
            (singular(fold(m.group(0))), start + m.start(), start + m.end())
            for m in _WORD.finditer(text[start:end])
            if fold(m.group(0)) not in _FUNCTION_WORDS
        ]
        if run:
            runs.append(run)
        start = piece.end() if piece is not None else end
    return runs


def _excluded(plan: TablePlan) -> set[str]:
    """Words that name the rows, their columns or their place: no test of a row."""
    text = " ".join([plan.entity, plan.key_column, plan.scope, *plan.column_names])
    return {w for run in _tokens(text) for w, _, _ in run}


def _windows(question: str, plan: TablePlan) -> set[tuple[str, ...]]:
    """Runs of 2..MAX_WORDS content words of the question's ask (its first paragraph) with at
    least MIN_WORDS words that do not name the rows, their columns or their place."""
    excluded = _excluded(plan)
    found = set()
    for run in _tokens(ask_of(question)):
        words = [w for w, _, _ in run]
        for size in range(MIN_WORDS, MAX_WORDS + 1):
            for i in range(len(words) - size + 1):
                window = tuple(words[i : i + size])
                if sum(w not in excluded and not w.isdigit() for w in window) >= MIN_WORDS:
                    found.add(window)
    return found


def _find(window: tuple[str, ...], runs: list[list[tuple[str, int, int]]]) -> tuple[int, int]:
    """The span of the first place `runs` state the window's words in a row, else (-1, -1)."""
    size = len(window)
    for run in runs:
        for i in range(len(run) - size + 1):
            if all(run[i + k][0] == window[k] for k in range(size)):
                return run[i][1], run[i + size - 1][2]
    return -1, -1


def criterion(question: str, plan: TablePlan, entries: list[str]) -> Criterion | None:
    """The longest run of the question's words that some entries state and others do not (the
    one most entries state among runs as long), or None: too few entries, or no run that
    tells them apart."""
    if len(entries) < MIN_ENTRIES:
        return None
    windows = _windows(question, plan)
    if not windows:
        return None
    tokenised = [_tokens(text) for text in entries]
    best: Criterion | None = None
    for window in windows:
        stated, phrase = 0, ""
        for text, runs in zip(entries, tokenised, strict=True):
            start, end = _find(window, runs)
            if start >= 0:
                stated += 1
                phrase = phrase or " ".join(text[start:end].split())
        if not 0 < stated < len(entries):
            continue
        found = Criterion(window, phrase, stated, len(entries))
        if best is None or (len(window), stated) > (len(best.words), best.stated_by):
            best = found
    return best


def entries_of(enumeration: dict[str, Any], kept: set[str]) -> list[str]:
    """The own texts of the kept candidates from listings sure to hold the rows, once per
    entry (a row of signatures gives several candidates one text)."""
    texts: dict[tuple[str, int], str] = {}
    for row_id in sorted(kept):
        entry = enumeration["candidates"][row_id]
        row = entry["row"]
        evidence = entry.get("evidence")
        if row["kind"] == RowKind.PAGE or not evidence:
            continue
        if row.get("score", 0.0) >= STRONG_LISTING_SCORE:
            texts.setdefault((row["source_id"], row["start"]), evidence)
    return list(texts.values())


def apply_criterion(
    question: str, plan: TablePlan, enumeration: dict[str, Any], kept: set[str]
) -> Criterion | None:
    """Where the plan tests nothing of its rows and a sure listing's entries tell a run of the
    question's words apart (`criterion`): that run as the plan's one condition, every
    candidate judged by it from its own text (a candidate whose text is not kept, a page, is
    unknown), and the plan's `criterion` saying so. Changes `plan` and `enumeration`."""
    if plan.conditions:
        return None
    found = criterion(question, plan, entries_of(enumeration, kept))
    if found is None:
        return None
    condition = Condition(field="", test="contains", value=found.phrase)
    plan.conditions = [condition]
    plan.criterion = found.phrase
    for entry in enumeration["candidates"].values():
        row = CandidateRow.from_state(entry["row"])
        evidence = entry.get("evidence")
        if row.is_page or not evidence:
            entry["verdicts"] = [GroupVerdict.UNKNOWN.value]
            continue
        own = replace(row, start=0, end=len(evidence))  # its text is what it keeps
        verdict = row_verdicts([[condition]], own, evidence, entry.get("title", ""), [])
        entry["verdicts"] = [v.value for v in verdict]
    return found
