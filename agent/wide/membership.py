"""Does a candidate's own document meet the table's conditions? Checked deterministically.

Small models answer a yes/no "does this document match" question with yes almost always, so
membership is decided by the conditions the planner wrote, read against the document's labelled
fields: "contains" / "equals" on text, comparisons on the field's first number. Alike conditions
on the same field with the same test are alternatives (any one is enough); the groups must all
hold. A condition whose field the document does not state is *unknown*: the row is kept aside
and settled later from its extracted cells or by a targeted check."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.wide.compare import compare, read_date
from agent.wide.fields import (
    DocField,
    FieldMatch,
    best_fields,
    first_number,
    fold,
    format_number,
    mentions,
    numbers_in,
    words,
)
from agent.wide.schemas import Condition

Verdict = Literal["pass", "fail", "unknown"]
MIN_FIELD_SCORE = 1.0
"""A field answers a condition when all the condition's field words are in its label."""
_TRAILING_NOTE = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")


@dataclass(frozen=True)
class ConditionCheck:
    condition: Condition
    verdict: Verdict
    evidence: str = ""  # the line that decided it
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class MembershipCheck:
    verdict: Verdict
    checks: tuple[ConditionCheck, ...]

    @property
    def unknown(self) -> list[Condition]:
        return [c.condition for c in self.checks if c.verdict == "unknown"]

    @property
    def evidence(self) -> list[ConditionCheck]:
        return [c for c in self.checks if c.verdict == "pass" and c.evidence]


def _comparable(text: str) -> str:
    return fold(text).strip(" .;,")


def _equals(value: str, item: DocField) -> bool:
    wanted = _comparable(value)
    candidates = [item.value, item.full_value, *(c.value for c in item.children)]
    for text in candidates:
        text = _comparable(text)
        if not text:
            continue
        bare = _comparable(_TRAILING_NOTE.sub("", text))
        if wanted in (text, bare):
            return True
        # a tagged list value ("Culture: Brazilian [culture::brazilian]")
        if f"[{wanted}]" in text:
            return True
    return False


_YEAR = re.compile(r"\s*([12]\d{3})\s*")
MAX_DATE_VALUE_CHARS = 80
"""A field read as a date states little else ("Released: 2024-03-01 (a Friday)")."""
_TIME_WORDS = frozenset(["year", "date", "when", "time"])
_YEAR_TESTS = {
    "equals": lambda a, b: a == b,
    "more_than": lambda a, b: a > b,
    "less_than": lambda a, b: a < b,
    "at_least": lambda a, b: a >= b,
    "at_most": lambda a, b: a <= b,
}


def _year_from_dates(condition: Condition, fields: Sequence[DocField]) -> ConditionCheck | None:
    """A test of a year ("Year equals 2025") on a document with no field of that name, read
    from the years of its fields that state a full date ("Release date: 2025-02-13"): passes
    when one of them passes; fails when they all fail; None when none states a date."""
    year = _YEAR.fullmatch(condition.value)
    if year is None or condition.test not in _YEAR_TESTS:
        return None
    named = set(words(condition.field))
    timely = bool(named & _TIME_WORDS)  # "Year", "Release year": any date tells it
    held = _YEAR_TESTS[condition.test]
    failed: DocField | None = None
    for item in fields:
        if len(item.full_value) > MAX_DATE_VALUE_CHARS:
            continue
        if not timely and not named & set(words(item.path)):
            continue  # "Length more than 1500" is no year of "Opened: 1 May 1998"
        date = read_date(item.full_value)
        if date is None:
            continue
        if held(date.year, int(year.group(1))):
            return ConditionCheck(
                condition, "pass", f"{item.path}: {item.full_value}", item.start, item.end
            )
        failed = failed or item
    if failed is None:
        return None
    return ConditionCheck(condition, "fail", f"{failed.path}: {failed.full_value}")


_WILDCARD_VERSION = re.compile(r"\s*v?(\d+(?:\.\d+)*)\.(?:x|X|\*)(?:\.(?:x|X|\*))*\s*")


def version_series(value: str) -> str:
    """The series a wildcard version names ("3.32.x", "2.*" -> "3.32", "2"), else ""."""
    match = _WILDCARD_VERSION.fullmatch(value)
    return match.group(1) if match else ""


def _series_member(series: str) -> re.Pattern[str]:
    """A version of `series` in a text: the series itself or it followed by more parts."""
    return re.compile(rf"(?<![\w.]){re.escape(series)}(?:\.\d+)*(?![\w]|\.\d)")


def _in_series(
    condition: Condition, series: str, text: str, matches: Sequence[FieldMatch], title: str
) -> ConditionCheck:
    """A test of a wildcard version ("3.32.x"): any release of the series (3.32, 3.32.0,
    3.32.3) in the named field, or in the text when the document has no such field."""
    member = _series_member(series)
    for match in matches:
        item = match.field
        if member.search(item.full_value):
            return ConditionCheck(
                condition, "pass", f"{item.path}: {item.full_value}", item.start, item.end
            )
    if matches:
        return ConditionCheck(condition, "fail")
    stated = member.search(f"{title}\n{text}")
    if stated is None:
        return ConditionCheck(condition, "fail")
    return ConditionCheck(condition, "pass", *line_around(text, stated.group(0)))


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"\s*[-\u2212]?[\d.,]+\s*", text)) and bool(numbers_in(text))


def check_condition(
    condition: Condition, text: str, fields: Sequence[DocField], title: str = ""
) -> ConditionCheck:
    matches = (
        [m for m in best_fields(list(fields), condition.field) if m.score >= MIN_FIELD_SCORE]
        if condition.field.strip()
        else []
    )
    if not matches and condition.field.strip():
        dated = _year_from_dates(condition, fields)
        if dated is not None:
            return dated
    if condition.test == "equals" and _is_number(condition.value):
        # "Coastline equals 0" against "0 km (landlocked)": the field's number
        target = numbers_in(condition.value)[0]
        for match in matches:
            found = first_number(match.field.full_value)
            if found is not None:
                item = match.field
                verdict: Verdict = (
                    "pass" if abs(found - target) <= 1e-9 * max(1, abs(target)) else "fail"
                )
                return ConditionCheck(
                    condition, verdict, f"{item.path}: {item.full_value}", item.start, item.end
                )
        return ConditionCheck(condition, "unknown")
    series = version_series(condition.value)
    if series and condition.test in ("contains", "equals"):
        return _in_series(condition, series, text, matches, title)
    if condition.test in ("contains", "equals"):
        wanted = _comparable(condition.value)
        if not wanted:
            return ConditionCheck(condition, "unknown")
        for match in matches:
            item = match.field
            hit = (
                _equals(condition.value, item)
                if condition.test == "equals"
                else mentions(item.full_value, condition.value) >= 0
            )
            if hit:
                return ConditionCheck(
                    condition, "pass", f"{item.path}: {item.full_value}", item.start, item.end
                )
        if matches:
            best = matches[0].field
            return ConditionCheck(condition, "fail", f"{best.path}: {best.full_value}")
        if condition.test == "equals" and condition.field.strip():
            return ConditionCheck(condition, "unknown")
        # no such field: the whole document (title included) is the field
        if mentions(f"{title}\n{text}", condition.value) < 0:
            return ConditionCheck(condition, "fail")
        line = line_around(text, condition.value)
        return ConditionCheck(condition, "pass", line[0], line[1], line[2])
    if not numbers_in(condition.value):
        return ConditionCheck(condition, "unknown")
    for match in matches:
        held = compare(condition.test, match.field.full_value, condition.value, match.field.path)
        if held is None:
            continue
        item = match.field
        return ConditionCheck(
            condition,
            "pass" if held else "fail",
            f"{item.path}: {item.full_value}",
            item.start,
            item.end,
        )
    inline = inline_number(text, condition.field) if condition.field.strip() else None
    if inline is not None:
        found, stated, start, end = inline
        number = _stated_number(stated, condition.field) or format_number(found)
        held = compare(condition.test, number, condition.value, condition.field)
        if held is not None:
            return ConditionCheck(condition, "pass" if held else "fail", stated, start, end)
    return ConditionCheck(condition, "unknown")


def _stated_number(line: str, name: str) -> str:
    """The number as the line writes it after the field's name ("2.10", not 2.1)."""
    position = fold(line).find(fold(name).split()[0]) if fold(name).split() else -1
    match = re.search(r"\d[\d,.]*\d|\d", line[max(position, 0) :])
    return match.group(0).rstrip(".,") if match else ""


def inline_number(text: str, name: str) -> tuple[float, str, int, int] | None:
    """A number the text states right after a field's name in running prose ("... with
    atomic number 25 (Mn)", "a population of 5.5 million"): the first such mention, within
    three words of the name."""
    name_words = [re.escape(w) for w in fold(name).split() if w]
    if not name_words:
        return None
    pattern = re.compile(
        r"(?<!\w)" + r"\s+".join(name_words) + r"(?!\w)(?:\s+\w+){0,3}?\s*[:=]?\s*"
        r"(?P<number>[-\u2212]?\d[\d,.]*(?:\s+(?:thousand|million|billion))?)",
        re.IGNORECASE,
    )
    match = pattern.search(text)
    if not match:
        return None
    numbers = numbers_in(match.group("number"))
    if not numbers:
        return None
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    end = len(text) if end < 0 else end
    return numbers[0], text[start:end].strip()[:300], start, end


def line_around(text: str, value: str) -> tuple[str, int | None, int | None]:
    """The line of `text` that holds `value` (case-insensitive), with its span."""
    position = text.casefold().find(value.casefold())
    if position < 0:
        return "", None, None
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    end = len(text) if end < 0 else end
    return text[start:end].strip()[:300], start, end


def groups(conditions: Sequence[Condition]) -> list[list[Condition]]:
    """Alternatives form one group: "equals" tests of the same field (one field cannot equal
    two values), and other tests of the same field whose values are alike (they share a word:
    two addresses of one team, "Country in X" / "Island country in X"). Unlike "contains"
    values on one field are separate groups, all of which must hold (a small model lists
    "culture::brazilian" and "main" as two tests of one field)."""
    grouped: list[tuple[tuple[frozenset[str], str], list[Condition]]] = []
    for condition in conditions:
        key = (frozenset(words(condition.field)), condition.test)
        mine = set(w for w in words(condition.value) if len(w) >= 3)
        for other_key, members in grouped:
            # one field cannot equal two values: "equals" tests of a field are alternatives
            if other_key == key and (
                condition.test == "equals"
                or any(mine & {w for w in words(m.value) if len(w) >= 3} for m in members)
            ):
                members.append(condition)
                break
        else:
            grouped.append((key, [condition]))
    return [members for _, members in grouped]


def any_of(results: Sequence[ConditionCheck]) -> Verdict:
    """The verdict of alternatives: pass when one passes, else unknown when one cannot be
    read, else fail."""
    kinds = {r.verdict for r in results}
    if "pass" in kinds:
        return "pass"
    return "unknown" if "unknown" in kinds else "fail"


def check_membership(
    conditions: Sequence[Condition], text: str, fields: Sequence[DocField], title: str = ""
) -> MembershipCheck:
    """pass: every group has a passing condition; fail: some group has only failing ones;
    unknown: otherwise (some group could not be read from the document)."""
    checks: list[ConditionCheck] = []
    verdicts: list[Verdict] = []
    for group in groups(conditions):
        results = [check_condition(c, text, fields, title) for c in group]
        checks.extend(results)
        verdicts.append(any_of(results))
    if "fail" in verdicts:
        verdict: Verdict = "fail"
    elif "unknown" in verdicts:
        verdict = "unknown"
    else:
        verdict = "pass"
    return MembershipCheck(verdict, tuple(checks))


def quote_meets(condition: Condition, quote: str) -> bool:
    """Whether a quoted passage itself meets `condition`: it states the value (text tests),
    or a number that passes the comparison (numeric tests)."""
    if condition.test in ("contains", "equals"):
        return mentions(quote, condition.value) >= 0
    return bool(compare(condition.test, quote, condition.value, condition.field))
