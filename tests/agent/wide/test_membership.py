"""Membership checks against a document's fields."""

from __future__ import annotations

from agent.wide.enumeration import searched_text
from agent.wide.fields import parse_fields
from agent.wide.membership import check_condition, check_membership
from agent.wide.schemas import Condition

DOC = """ghemical — molecular modelling
Package: ghemical
Description:
A GNOME molecular modelling environment with Nagios hooks.
Package details:
- Section: science
- Homepage: http://www.bioinformatics.org/ghemical/
- Installed size: 2,340 KiB
- Maintainer: Debichem Team <debichem-devel@lists.alioth.debian.org>
Debtags (classification tags):
- Culture: Brazilian [culture::brazilian]
"""
FIELDS = parse_fields(DOC)


def check(field: str, test: str, value: str) -> str:
    return check_condition(Condition(field=field, test=test, value=value), DOC, FIELDS).verdict


def test_text_tests_read_the_named_field() -> None:
    assert check("Homepage", "contains", "bioinformatics.org") == "pass"
    assert check("Homepage", "contains", "gnu.org") == "fail"
    # stated elsewhere (the maintainer's address) is not stated by the field
    assert check("Homepage", "contains", "debian.org") == "fail"
    assert check("Section", "equals", "science") == "pass"
    assert check("Section", "equals", "sci") == "fail"
    assert check("Debtag", "equals", "culture::brazilian") == "pass"  # tagged list value
    assert check("Description", "contains", "nagios") == "pass"


def test_a_field_the_document_lacks() -> None:
    assert check("Region", "equals", "Europe") == "unknown"
    assert check("Population", "more_than", "5") == "unknown"
    # contains with no such field reads the whole text
    assert check("Upstream", "contains", "GNOME") == "pass"
    assert check("", "contains", "KDE") == "fail"


def test_numeric_tests_compare_the_fields_first_number() -> None:
    assert check("Installed size", "more_than", "2000") == "pass"
    assert check("Installed size", "at_most", "2,000") == "fail"
    assert check("Installed size", "less_than", "about") == "unknown"


def test_same_field_same_test_are_alternatives_and_groups_must_all_hold() -> None:
    either = [
        Condition(field="Maintainer", test="contains", value="astro@lists.example"),
        Condition(field="Maintainer", test="contains", value="debichem-devel@lists"),
    ]
    assert check_membership(either, DOC, FIELDS).verdict == "pass"
    both = [*either, Condition(field="Section", test="equals", value="games")]
    assert check_membership(both, DOC, FIELDS).verdict == "fail"
    unknown = [*either, Condition(field="Region", test="equals", value="Europe")]
    result = check_membership(unknown, DOC, FIELDS)
    assert result.verdict == "unknown" and [c.field for c in result.unknown] == ["Region"]
    assert result.evidence[0].evidence.startswith("Package details / Maintainer:")


def test_alike_values_on_one_field_are_alternatives_unlike_ones_are_not() -> None:
    from agent.wide.membership import groups

    conditions = [
        Condition(field="Debtags", test="contains", value="culture::brazilian"),
        Condition(field="Debtag", test="contains", value="main"),
        Condition(field="Maintainer", test="contains", value="astro@alioth-lists.debian.net"),
        Condition(field="Maintainer", test="contains", value="astro@lists.alioth.debian.org"),
    ]
    assert [[c.value for c in g] for g in groups(conditions)] == [
        ["culture::brazilian"],
        ["main"],
        ["astro@alioth-lists.debian.net", "astro@lists.alioth.debian.org"],
    ]


def test_a_quote_must_itself_meet_the_condition() -> None:
    from agent.wide.membership import quote_meets

    longer = Condition(field="Length", test="more_than", value="1,000 km")
    assert quote_meets(longer, "the river is 2,850 km long")
    assert not quote_meets(longer, "the river is 346 km long")
    assert not quote_meets(longer, "a long river")
    europe = Condition(field="Region", test="equals", value="Europe")
    assert quote_meets(europe, "a river in Europe") and not quote_meets(europe, "in Asia")


def test_equals_a_number_compares_the_fields_number() -> None:
    doc = "Coastline: 0 km (landlocked)\nArea:\n  - total: 1,284 sq km\n"
    fields = parse_fields(doc)
    zero = Condition(field="Coastline", test="equals", value="0")
    assert check_condition(zero, doc, fields).verdict == "pass"
    area = Condition(field="Area", test="equals", value="1,284")
    assert check_condition(area, doc, fields).verdict == "pass"
    assert check_condition(area.model_copy(update={"value": "1285"}), doc, fields).verdict == (
        "fail"
    )


def test_a_number_stated_in_prose_after_the_fields_name() -> None:
    from agent.wide.membership import inline_number

    text = "Manganese\nShort description: Chemical element with atomic number 25 (Mn)\n"
    assert inline_number(text, "Atomic Number")[0] == 25
    assert inline_number("a population of 5.5 million people", "Population")[0] == 5_500_000
    assert inline_number("no such words here 12", "Atomic Number") is None
    in_range = Condition(field="Atomic Number", test="less_than", value="49")
    assert check_condition(in_range, text, parse_fields(text)).verdict == "pass"


def test_equals_tests_of_one_field_are_alternatives() -> None:
    from agent.wide.membership import groups

    conditions = [
        Condition(field="Dependency status", test="equals", value="territory"),
        Condition(field="Dependency status", test="equals", value="dependency"),
    ]
    assert len(groups(conditions)) == 1


def test_a_year_is_read_from_a_dated_field_when_no_field_is_named_so() -> None:
    """ "Year equals 2025" on a page that states "Released: 13 February 2025": the year of
    its date. A number that is no year test ("Length more than 1500") reads no date."""
    text = "Quill 4.2\nReleased: 13 February 2025\nOpened: 1998-05-01\nDownloads: 2,100\n"
    fields = parse_fields(text)

    def year(field: str, test: str, value: str) -> str:
        return check_condition(Condition(field=field, test=test, value=value), text,
                               fields).verdict  # fmt: skip

    assert year("Year", "equals", "2025") == "pass"
    assert year("Year", "equals", "2024") == "fail"
    assert year("Release year", "at_least", "2020") == "pass"
    assert year("Year", "less_than", "1990") == "fail"
    assert year("Length", "more_than", "1500") == "unknown"  # no field of that name, no year
    assert check("Year", "equals", "2025") == "unknown"  # a page stating no date


def test_a_wildcard_version_is_any_release_of_its_series() -> None:
    """ "Fixed in 3.32.x": 3.32.0 and 3.32.3 are in it, 3.3.2 and 3.320 are not; a document
    without the named field is read whole; the exact search looks for the series."""

    def series(field: str, value: str, text: str) -> str:
        condition = Condition(field=field, test="contains", value=value)
        return check_condition(condition, text, parse_fields(text)).verdict

    assert series("Fixed in", "3.32.x", "Fixed in: 3.32.3\n") == "pass"
    assert series("Fixed in", "3.32.x", "Fixed in: 3.32\n") == "pass"
    assert series("Fixed in", "3.32.x", "Fixed in: 3.3.2\n") == "fail"
    assert series("Fixed in", "3.32.x", "Fixed in: 3.320\n") == "fail"
    assert series("Fixed in", "2.*", "Fixed in: 2.4.1\n") == "pass"
    assert series("Release", "3.32.x", "The fix shipped with 3.32.0 in May.") == "pass"
    assert series("Release", "3.32.x", "The fix shipped with 3.31.0 in May.") == "fail"
    assert searched_text(Condition(field="", test="contains", value="3.32.x")) == "3.32"


def test_a_condition_on_a_shortened_field_name_reads_the_field() -> None:
    text = "Ruritania\nCoastline: 0 km (landlocked)\nArea: 1,200 sq km\n"
    condition = Condition(field="Coast", test="equals", value="0")
    assert check_condition(condition, text, parse_fields(text)).verdict == "pass"
