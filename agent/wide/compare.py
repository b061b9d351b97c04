"""Typed comparisons of a stated value with a condition's bound: dates, versions, numbers.

A condition like "released after 2020-03-01", "added in version 3.10 or later" or "more than
1,000 km" compares a value read from a source with a bound from the question. Comparing them as
plain numbers is wrong for versions (3.10 > 3.9, and "3.10" is not 3.1) and for dates (a year
bound against a full date). `compare` reads both sides as the most specific type they share and
says whether the test holds, or None when the value cannot be read as that type."""

from __future__ import annotations

import datetime as dt
import re

from agent.wide.fields import numbers_in

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_FIRST = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_VERSION_WORD = re.compile(r"\b(?:versions?|releases?|v(?=\d))", re.IGNORECASE)
_MEASURED = re.compile(r"[$€£¥]\s*\d|\d\s*(?:%|[^\W\d_]{1,15}\b)")
"""A number with a unit, a scale or a currency ("2.25 km", "1.5 million", "$4.50", "12%")."""
_YEAR_ONLY = re.compile(r"^\s*(?:in\s+|year\s+)?(\d{4})\s*$", re.IGNORECASE)
_VERSION = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)+)(?![\w.]*\d)", re.IGNORECASE)


def read_date(text: str) -> dt.date | None:
    """The first full date the text states (2021-03-04, March 4, 2021, 4 March 2021)."""
    candidates: list[tuple[int, dt.date]] = []
    for match in _ISO_DATE.finditer(text):
        date = _date(match.group(1), match.group(2), match.group(3))
        if date:
            candidates.append((match.start(), date))
            break
    for match in _MONTH_FIRST.finditer(text):
        date = _date(match.group(3), str(_MONTHS[match.group(1).lower()]), match.group(2))
        if date:
            candidates.append((match.start(), date))
            break
    for match in _DAY_FIRST.finditer(text):
        date = _date(match.group(3), str(_MONTHS[match.group(2).lower()]), match.group(1))
        if date:
            candidates.append((match.start(), date))
            break
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def _date(year: str, month: str, day: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def read_version(text: str) -> tuple[int, ...] | None:
    """The first dotted version number the text states ("3.10.2", "v2.4"), as integers."""
    match = _VERSION.search(text)
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def _holds(test: str, found: object, bound: object) -> bool:
    if test == "equals":
        return found == bound
    if test == "more_than":
        return found > bound  # type: ignore[operator]
    if test == "less_than":
        return found < bound  # type: ignore[operator]
    if test == "at_least":
        return found >= bound  # type: ignore[operator]
    return found <= bound  # type: ignore[operator]


def looks_like_version(bound: str, value: str = "", hint: str = "") -> bool:
    """Whether a dotted bound is a version: three or more parts (3.10.2), the word version /
    release / v2 near it (in the bound, the value or the hint: the compared field's name), or
    no unit or currency beside the numbers on either side ("3.10" > "3.9"). "1.5 million",
    "2.25 km" and "$4.50" are decimals."""
    parsed = read_version(bound)
    if parsed is None:
        return False
    if len(parsed) >= 3 or _VERSION_WORD.search(f"{hint} {bound} {value}"):
        return True
    return not (_MEASURED.search(bound) or _MEASURED.search(value))


def compare(test: str, value: str, bound: str, hint: str = "") -> bool | None:
    """Whether `value` (read from a source) passes `test` against `bound` (from the question),
    compared as dates, versions or numbers, whichever both sides can be read as first; a year
    bound compares with the year of a date; a dotted bound is a version only with a sign of one
    (`looks_like_version`; `hint` is the name of the field compared). None when the value
    states nothing comparable."""
    bound_date = read_date(bound)
    year = _YEAR_ONLY.match(bound)
    found_date = read_date(value)
    if bound_date is not None and found_date is not None:
        return _holds(test, found_date, bound_date)
    if year is not None and found_date is not None:
        return _holds(test, found_date.year, int(year.group(1)))
    bound_version = read_version(bound)
    if bound_version is not None and looks_like_version(bound, value, hint):
        found_version = read_version(value)
        if found_version is None:
            plain = numbers_in(value)
            if not plain or plain[0] != int(plain[0]):
                return None
            found_version = (int(plain[0]),)
        width = max(len(found_version), len(bound_version))
        padded = found_version + (0,) * (width - len(found_version))
        return _holds(test, padded, bound_version + (0,) * (width - len(bound_version)))
    bounds = numbers_in(bound)
    found = numbers_in(value)
    if not bounds or not found:
        return None
    if test == "equals":
        return abs(found[0] - bounds[0]) <= 1e-9 * max(1.0, abs(bounds[0]))
    return _holds(test, found[0], bounds[0])
