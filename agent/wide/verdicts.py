"""Membership of candidate rows: one verdict per condition group, and what they add up to.

A row passes when every active condition group passes; it fails when one fails; otherwise it is
unknown (its own text does not settle a group) and is settled later from its cells or by a
targeted check. RELAXED is a group that fails as written but passes read loosely (an "equals"
test as "contains"; a phrase the row's own text words differently as most of its words): it
counts as a pass only once the enumeration relaxed its tests, because no candidate met them as
written (and the answer says so)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from agent.wide.fields import DocField, best_fields, fold, match_score, mentions, words
from agent.wide.membership import any_of, check_condition
from agent.wide.pairs import RESULT_WORDS, result_sides
from agent.wide.rows import STRONG_LISTING_SCORE, CandidateRow
from agent.wide.schemas import Condition


class GroupVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    RELAXED = "relaxed"


class RowStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


def row_status(
    verdicts: Sequence[str], dropped: Sequence[int], relaxed: bool, *, pointer: bool = False
) -> RowStatus:
    """pass / fail / unknown over the active condition groups. A candidate none of whose
    groups passes is no candidate (a page of another kind, stating none of the fields),
    unless it is an entry of contents (`pointer`): what is true of it is said on its page."""
    active = []
    for index, verdict in enumerate(verdicts):
        if index in dropped:
            continue
        if verdict == GroupVerdict.RELAXED:
            verdict = GroupVerdict.PASS if relaxed else GroupVerdict.FAIL
        active.append(verdict)
    if GroupVerdict.FAIL in active:
        return RowStatus.FAIL
    if GroupVerdict.UNKNOWN in active:
        passed = GroupVerdict.PASS in active
        return RowStatus.UNKNOWN if passed or pointer else RowStatus.FAIL
    return RowStatus.PASS


def _loose(group: list[Condition]) -> list[Condition]:
    return [c.model_copy(update={"test": "contains"}) if c.test == "equals" else c for c in group]


def _alternatives(
    group: list[Condition], text: str, fields: Sequence[DocField], title: str
) -> GroupVerdict:
    """One group's verdict: its conditions are alternatives (any pass is enough). Read here,
    not regrouped: a group whose tests were rewritten ("equals" of a field the row lacks read
    as "contains" of its text) stays one group of alternatives."""
    return GroupVerdict(any_of([check_condition(c, text, fields, title) for c in group]))


MIN_WORDS_SHARE = 2 / 3
"""A row's own text "states most words" of a phrase when it holds this share of them."""


def states_most_words(phrase: str, text: str) -> bool:
    """Whether `text` holds most content words of a phrase of two or more ("a wrapper around
    a C interface" in "a thin wrapper around the C-language interface")."""
    wanted = set(words(phrase))
    if len(wanted) < 2:
        return False
    have = set(words(text))
    return sum(w in have for w in wanted) >= MIN_WORDS_SHARE * len(wanted)


def group_verdict(
    group: list[Condition],
    text: str,
    fields: Sequence[DocField],
    title: str,
    *,
    by_words: bool = False,
) -> GroupVerdict:
    """The group's verdict, RELAXED where it fails as written but holds read loosely: an
    "equals" test as "contains", and (`by_words`: for a row's own short text, not a whole
    page, where any phrase's words are somewhere) a phrase as most of its words."""
    verdict = _alternatives(group, text, fields, title)
    if verdict is not GroupVerdict.FAIL:
        return verdict
    if any(c.test == "equals" for c in group):
        relaxed = [check_condition(c, text, fields, title) for c in _loose(group)]
        if any(r.verdict == "pass" for r in relaxed):  # still alternatives
            return GroupVerdict.RELAXED
    if by_words and any(c.test == "contains" and states_most_words(c.value, text) for c in group):
        return GroupVerdict.RELAXED
    return verdict


def row_verdicts(
    condition_groups: list[list[Condition]],
    row: CandidateRow,
    text: str,
    title: str,
    page_fields: Sequence[DocField],
) -> list[GroupVerdict]:
    """One verdict per condition group for one candidate row. A page row is read whole (its
    labelled fields, its text, its title). A listing row is read from its own evidence (its
    cells, its group label, its text); a text test it does not meet holds when the listing as a
    whole states it (the document's title or the listing's heading: "the 2.x releases" under a
    heading "Release 2.x"). An entry of contents or of an index that does not state a text
    test is unknown, not failed: its own page is where such things are said."""
    if row.is_page:
        return [group_verdict(g, text, page_fields, title) for g in condition_groups]
    evidence = row.evidence(text)
    cells = row.fields()
    place = f"{title}\n{row.where}"
    verdicts = []
    sides = result_sides(row.values)
    for group in condition_groups:
        fields = cells  # each group reads the row's own cells (and what it asks of them)
        asked = [c for c in group if _asks_result(c, fields)] if sides else []
        if asked:  # "Result Type equals integer" of a row of signatures: what its forms give
            given = [DocField(c.field, c.field, side, row.start, row.end) for c in asked
                     for side in sides]  # fmt: skip
            fields = [*cells, *given]
        # a test of a column the row's table leaves empty fails (the row states no such
        # value); a test of another field than the row's cells reads the row's text and group
        # ("Class 12" in a group label), as "contains"
        kept = [c for c in group if not _empty_cell(c, row)]
        own = [c if _names_row_field(c, fields) else _as_text_test(c) for c in kept]
        verdict = (
            group_verdict(own, evidence, fields, "", by_words=True) if own else GroupVerdict.FAIL
        )
        if verdict is GroupVerdict.PASS:
            verdict = _equal_or_loose(kept, own, evidence, fields)
        if row.score >= STRONG_LISTING_SCORE and verdict is not GroupVerdict.PASS:
            # the heading of a listing sure to hold the rows (its own heading or caption for
            # an "equals": a page's title describes the page, not the values of its lists'
            # rows; "dependency solver" is no "Status equals dependency")
            named = [(c, o) for c, o in zip(kept, own, strict=True) if o is not c
                     and names_value(place, o.value)]  # fmt: skip
            if any(c.test == "contains" or names_value(row.where, c.value) for c, _ in named):
                verdict = GroupVerdict.PASS
            elif named:
                verdict = GroupVerdict.RELAXED
        if (
            row.pointer
            and verdict in (GroupVerdict.FAIL, GroupVerdict.RELAXED)
            and own
            and not any(_names_row_field(c, fields) for c in own)
        ):
            verdict = GroupVerdict.UNKNOWN  # an entry of contents: its own page may state it
        verdicts.append(verdict)
    return verdicts


def names_value(place: str, value: str) -> bool:
    """Whether a listing's place (its title, heading or caption) states a value: as written,
    or as its words in a row, either in the plural ("trigonometric function" in a caption
    "Trigonometric Functions")."""
    if mentions(place, value) >= 0:
        return True
    wanted, have = words(value), words(place)
    if any(len(w) < 3 for w in wanted):
        return False  # "C interface" is not in "C/Rust Interface": only words take a plural
    n = len(wanted)
    return n > 0 and any(have[i : i + n] == wanted for i in range(len(have) - n + 1))


def _asks_result(condition: Condition, fields: Sequence[DocField]) -> bool:
    """Whether a test reads what a row gives (its field speaks of a result or return type)
    and no cell of the row is named so."""
    named = set(words(condition.field))
    return bool(named & RESULT_WORDS) and not _names_row_field(condition, fields)


def _empty_cell(condition: Condition, row: CandidateRow) -> bool:
    """Whether the condition reads a column of the row's table whose cell is empty."""
    if not condition.field.strip() or not row.values:
        return False
    best = max(row.values, key=lambda name: match_score(condition.field, name))
    return match_score(condition.field, best) >= 1.0 and not row.values[best].strip()


def _equal_or_loose(
    group: list[Condition], own: list[Condition], evidence: str, fields: Sequence[DocField]
) -> GroupVerdict:
    """A group a row's own text passes: PASS where a test as written passes, or an "equals"
    of a field the row lacks finds the value starting a line of its text or a cell, or after
    the field's name there (a group label: "Navigation", "Class 12 — Widget errors" for
    "Class equals 12"); RELAXED where only such an "equals" read as a
    mention passes ("Status equals dependency" in "... package and dependency information"),
    as a page's "equals" read as "contains" is."""
    loose = [i for i, c in enumerate(group) if c.test == "equals" and own[i].test != c.test]
    if not loose:
        return GroupVerdict.PASS
    exact = [c for i, c in enumerate(own) if i not in loose]
    if exact and group_verdict(exact, evidence, fields, "", by_words=True) is GroupVerdict.PASS:
        return GroupVerdict.PASS
    lines = [*evidence.splitlines(), *(item.full_value for item in fields)]  # and its cells
    if any(_stated(group[i], lines) for i in loose):
        return GroupVerdict.PASS
    return GroupVerdict.RELAXED


def _stated(condition: Condition, lines: Sequence[str]) -> bool:
    """Whether a line states an "equals" test's value as a name: first ("Navigation",
    "1.2.0 (2020-01-02)"), or after the field's name ("Class 12 — Widget errors" for "Class
    equals 12"); not inside a sentence."""
    value, name = re.escape(fold(condition.value.strip())), re.escape(fold(condition.field))
    stated = re.compile(rf"(?:{name}\s*[:=]?\s*)?{value}(?![\w.])")
    return any(stated.match(fold(line.strip().lstrip("-*+•#> "))) for line in lines)


def _as_text_test(condition: Condition) -> Condition:
    if condition.test in ("contains", "equals"):
        return condition.model_copy(update={"field": "", "test": "contains"})
    return condition


def _names_row_field(condition: Condition, fields: Sequence[DocField]) -> bool:
    """Whether the condition reads one of the row's own cells (then the cell decides)."""
    if not condition.field.strip():
        return False
    return bool(best_fields(list(fields), condition.field, limit=1, min_score=1.0))
