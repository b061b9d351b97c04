"""Typed comparisons of a value a source states with a condition's bound
(agent/wide/compare.py): dates, versions and numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.wide.compare import compare, read_date, read_version


@pytest.mark.parametrize(
    ("test", "value", "bound", "holds"),
    [
        # ISO dates
        ("more_than", "2021-03-04", "2020-03-01", True),
        ("less_than", "2021-03-04", "2020-03-01", False),
        ("at_least", "released 2020-03-01", "2020-03-01", True),
        ("more_than", "2020-03-01", "2020-03-01", False),
        ("equals", "2020-3-1", "2020-03-01", True),
        # written dates, either side
        ("less_than", "March 4, 2021", "2021-05-01", True),
        ("at_least", "4 March 2021", "2021-03-04", True),
        ("more_than", "Sept. 9, 2019", "1 January 2020", False),
        ("at_most", "9 Dec 2019", "December 9, 2019", True),
        # a year bound against a full date: the date's year
        ("more_than", "2021-01-01", "2020", True),
        ("at_least", "2019-12-31", "2020", False),
        ("equals", "4 March 2021", "2021", True),
        ("less_than", "Sept. 9, 2019", "in 2020", True),
        ("at_most", "released on 31 December 2020", "2020", True),
    ],
)
def test_dates(test: str, value: str, bound: str, holds: bool) -> None:
    assert compare(test, value, bound) is holds


@pytest.mark.parametrize(
    ("test", "value", "bound", "holds"),
    [
        ("more_than", "3.10", "3.9", True),  # not 3.1 < 3.9
        ("less_than", "2.10", "2.9", False),
        ("at_least", "2.4", "2.4", True),
        ("more_than", "2.4", "2.4", False),
        ("at_most", "2.4", "2.4", True),
        ("at_least", "Added in version 2.10.", "2.5", True),
        ("at_least", "New in version 2.4.", "2.5", False),
        ("more_than", "v3.10.2", "3.10", True),
        ("equals", "2.4.0", "2.4", True),  # missing parts are zeros
        ("less_than", "3.2.1", "3.10", True),
        ("at_least", "3", "2.5", True),  # a whole number against a version
        ("less_than", "2", "2.5", True),
    ],
)
def test_versions(test: str, value: str, bound: str, holds: bool) -> None:
    assert compare(test, value, bound) is holds


@pytest.mark.parametrize(
    ("test", "value", "bound", "holds"),
    [
        ("more_than", "1,230 km", "1000", True),
        ("more_than", "346 km", "1,000", False),
        ("less_than", "1 234 567", "2,000,000", True),  # spaces as separators
        ("less_than", "1\u202f234\u202f567", "2,000,000", True),
        ("equals", "2,850 km", "2850", True),
        ("equals", "2,851 km", "2850", False),
        ("more_than", "1.3 million", "900,000", True),  # scaled
        ("at_least", "25", "25", True),
        ("more_than", "\u221240 \u00b0C", "-50", True),  # a Unicode minus
        ("at_most", "12 m", "9", False),
    ],
)
def test_numbers(test: str, value: str, bound: str, holds: bool) -> None:
    assert compare(test, value, bound) is holds


@pytest.mark.parametrize(
    ("test", "value", "bound", "holds"),
    [
        ("more_than", "1.25 million", "1.5 million", False),
        ("less_than", "2.25 km", "2.5 km", True),
    ],
)
def test_decimal_numbers_with_a_unit_are_not_versions(
    test: str, value: str, bound: str, holds: bool
) -> None:
    assert compare(test, value, bound) is holds


@pytest.mark.parametrize(
    ("test", "value", "bound"),
    [
        ("more_than", "unknown", "1000"),
        ("more_than", "see below", "3.9"),
        ("at_least", "not yet released", "2.5"),
        ("more_than", "no date given", "2020"),
        ("at_most", "n/a", "2020-01-01"),
        ("less_than", "", "10"),
        ("more_than", "2.5", "a lot"),  # the bound states nothing comparable either
    ],
)
def test_nothing_comparable_is_none(test: str, value: str, bound: str) -> None:
    assert compare(test, value, bound) is None


def test_read_date_takes_the_first_date_stated() -> None:
    assert read_date("built 1872, rebuilt on 4 March 1921 and 2001-05-06") == dt.date(1921, 3, 4)
    assert read_date("from 2001-05-06 to March 4, 2002") == dt.date(2001, 5, 6)
    assert read_date("2021-02-30") is None  # no such day
    assert read_date("in 2021") is None  # a year is no full date


def test_read_version_reads_dotted_numbers() -> None:
    assert read_version("tidyup v3.10.2 (stable)") == (3, 10, 2)
    assert read_version("Added in version 2.4.") == (2, 4)
    assert read_version("release 7") is None
