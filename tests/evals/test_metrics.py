"""Cell metrics: the official evaluator's behaviour, quirks included, and the strict fixes."""

from __future__ import annotations

import datetime as dt

import pytest

from evals import metrics as m


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234,567", "1234567"),
        ("1,5", "15"),  # every comma is deleted
        ("12.5%", "12.5%"),
        ("12 %", "12"),  # only a directly attached % survives
        ("about 1.2 million", "1.2"),  # scale words are ignored
        ("\u22125", "5"),  # Unicode minus lost
        ("(1,000)", "1000"),  # accounting parentheses lost
        ("1e6", "1"),
        ("-3.", "-3."),
        (".5", ".5"),
        ("n/a", "NULL"),
        ("nan", "NULL"),
        (1983.0, "1983.0"),
    ],
)
def test_official_extract_number(text: object, expected: str) -> None:
    assert m.extract_number(text) == expected


def test_official_number_near() -> None:
    assert m.number_near("105", "100", 0.05) == 1.0
    assert m.number_near("105.1", "100", 0.05) == 0.0
    assert m.number_near("12%", "0.12", 0.0) == 1.0  # % divides by 100
    assert m.number_near("NULL", "NULL", 0.05) == 1.0  # two non-numbers match
    assert m.number_near("NULL", "100", 0.05) == 0.0
    assert m.number_near("nan", "nan", 0.05) == 0.0  # float('nan') never matches
    assert m.number_near("0", "0", 0.0) == 1.0
    assert m.number_near("1983.0", "1983", 0.0) == 1.0


def test_official_norm_str_and_exact_match() -> None:
    assert m.norm_str("  **New York** City ") == "newyorkcity"
    assert m.norm_str("a\u00a0b\nc") == "a\u00a0b\nc"  # only ASCII spaces go
    assert m.exact_match("ABC", "abc") == 1.0
    assert m.exact_match("1983.0", "1983") == 0.0


def test_official_dates() -> None:
    this_year = dt.date.today().year
    assert m.norm_date("Mar 05, 1981") == "1981-03-05"
    assert m.norm_date("03/04/2021") == "2021-03-04"  # month-first
    assert m.norm_date("13/04/2021") == "2021-04-13"
    assert m.norm_date("nan") == f"{this_year}-08-01"  # an empty cell: 1 August this year
    assert m.norm_date("incumbent") == "incumbent"
    assert m.date_near("2020-01-01", "2020-01-31") == 1.0
    assert m.date_near("2020-01-01", "2020-02-01") == 1.0  # 31 days apart
    assert m.date_near("2020-01-01", "2020-02-02") == 0.0  # 32 days
    assert m.date_near("incumbent", "present") == 1.0  # neither parses
    assert m.date_near("incumbent", "2020-01-01") == 0.0


def test_official_urls_compare_hosts() -> None:
    assert m.url_match("https://www.mit.edu/about", "http://www.mit.edu/") == 1.0
    assert m.url_match("https://mit.edu", "https://www.mit.edu") == 0.0
    assert m.url_match("no url", "none either") == 1.0  # two empty host sets
    assert m.url_match("see https://a.org and https://b.org", "https://b.org https://a.org") == 1.0
    with pytest.raises(ValueError):
        m.url_match("http://[oops", "http://a.org")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234,567", 1234567.0),
        ("1,5", 1.0),  # a comma not followed by 3 digits ends the number
        ("12 %", 0.12),
        ("about 1.2 million", 1.2e6),
        ("3.5bn", 3.5e9),
        ("2.5M", 2.5e6),
        ("1.8m", 1.8),  # lower-case m is not a scale (metres)
        ("\u22125", -5.0),
        ("(1,000)", -1000.0),
        ("1e6", 1e6),
        ("1.2万", 12000.0),
        ("n/a", None),
    ],
)
def test_strict_extract_number(text: str, expected: float | None) -> None:
    assert m.strict_extract_number(text) == (
        expected if expected is None else pytest.approx(expected)
    )


def test_strict_metrics_fix_the_quirks() -> None:
    assert m.strict_norm_str("a\u00a0B\nc\u200b*") == "abc"
    assert m.strict_number_near("n/a", "unknown", 0.05) == 0.0
    assert m.strict_number_near("n/a", "N/A", 0.05) == 1.0
    assert m.strict_number_near(0.30000000000000004, 0.3, 0.0) == 1.0
    assert m.strict_date_near("", "2020-08-01") == 0.0  # no "1 August" for empty cells
    assert m.strict_date_near("incumbent", "present") == 0.0
    assert m.strict_date_near("Incumbent", "incumbent") == 1.0
    assert m.strict_date_near("03/02/2001", "2001-02-03") == 1.0  # either reading
    assert m.strict_date_near("1984", "1984-01-20") == 1.0
    assert m.strict_date_near("2023年8月", "2023-08-15") == 1.0
    assert m.strict_url_match("https://www.mit.edu:443/x", "mit.edu") == 1.0
    assert m.strict_url_match("http://[oops", "http://[oops") == 1.0  # no exception
    assert m.strict_url_match("none", "other") == 0.0


def test_f1() -> None:
    assert m.f1(0.0, 0.0) == 0.0
    assert m.f1(1.0, 1.0) == 1.0
    assert m.f1(1.0, 0.5) == pytest.approx(2 / 3)
