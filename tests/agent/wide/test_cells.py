"""Excerpts, the extraction schema, grounding and normalisation of cells."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.wide.cells import (
    build_excerpt,
    extraction_schema,
    field_fallback,
    format_template,
    ground_number,
    ground_text,
    normalise,
    parse_date,
)
from agent.wide.fields import parse_fields
from agent.wide.table_plan import Column

DOC = """Chad
Region: Africa
Area:
  - total: 1.284 million sq km
Independence: 11 August 1960 (from France)
Maintainer: Thomas Leonard <talex5@gmail.com>
""" + "\n".join(f"Filler {i}: nothing to see here at all" for i in range(200))


def test_schema_types_numbers_as_numbers_and_allows_null() -> None:
    schema, names = extraction_schema(
        [Column("Total Area (sq km)", "number"), Column("Independence Date", "date")]
    )
    assert list(names) == ["total_area", "independence_date"]
    properties = schema.model_json_schema()["properties"]
    assert {"type": "number"} in properties["total_area"]["anyOf"]
    assert schema.model_validate({"total_area": None, "independence_date": None})
    with pytest.raises(ValidationError):
        schema.model_validate({"total_area": "lots", "independence_date": None})


def test_excerpt_holds_the_matching_lines_and_stays_small() -> None:
    columns = [Column("Total Area (sq km)", "number"), Column("Maintainer", "text")]
    excerpt = build_excerpt("Chad", DOC, parse_fields(DOC), columns)
    assert "Area / total: 1.284 million sq km" in excerpt.text
    assert "Maintainer: Thomas Leonard" in excerpt.text
    assert len(excerpt.text) <= 1000
    start, end = excerpt.span_of("1.284 million")
    assert start is not None and "1.284 million" in DOC[start:end]


def test_grounding_keeps_only_what_the_excerpt_states() -> None:
    text = "Area / total: 1.284 million sq km\nPopulation: 19,674,004"
    assert ground_number(1_284_000, text) == 1_284_000
    assert ground_number(19_674_004, text) == 19_674_004
    assert ground_number(20_000_000, text) is None
    assert ground_text("19,674,004", text) == "19,674,004"
    assert ground_text("Paris", text) is None


def test_normalisation_to_the_requested_format() -> None:
    assert normalise(Column("Population", "number"), "19,674,004 (2025 est.)") == "19674004"
    assert normalise(Column("Independence Date", "date"), "11 August 1960 (from France)") == (
        "1960-08-11"
    )
    assert parse_date("August 11, 1960") == "1960-08-11" and parse_date("soon") is None
    maintainer = Column("Maintainer", "text", "the maintainer's name, without the e-mail address")
    assert normalise(maintainer, "Thomas Leonard <talex5@gmail.com>") == "Thomas Leonard"


def test_a_value_is_cut_to_the_written_shape_its_column_asks_for() -> None:
    stamp = Column("Built At", "text", "when the build started, as written (YYYY-MM-DD HH:MM:SS)")
    assert normalise(stamp, "2019-03-04 08:15:00 a41fe09c77d2") == "2019-03-04 08:15:00"
    assert normalise(stamp, "built on  2019-03-04 08:15:00") == "2019-03-04 08:15:00"
    assert normalise(stamp, "not recorded") == "not recorded"  # no such shape: as it stands
    opening = Column("Opens", "text", "the opening hour (HH:MM)")
    assert normalise(opening, "weekdays from 9:30 until late") == "9:30"
    day = format_template("the day as DD/MM/YYYY")
    assert day is not None and day.search("on 04/03/2019.") and not day.search("2019-03-04")
    # a column that writes no template, or a word that only looks like part of one
    assert format_template("the release date") is None
    assert format_template("the MM value of the HHS survey") is None
    assert normalise(Column("Note", "text", "free text"), "2019-03-04 08:15:00 x") == (
        "2019-03-04 08:15:00 x"
    )


def test_field_fallback_reads_a_label_that_answers_the_column() -> None:
    fields = parse_fields(DOC)
    value, item = field_fallback(Column("Total Area (sq km)", "number"), fields)
    assert value == "1284000" and item.path == "Area / total"
    assert field_fallback(Column("Capital", "text"), fields) is None


def test_values_must_sit_on_a_line_that_can_state_the_column() -> None:
    from agent.wide.cells import Excerpt, related_lines

    excerpt = Excerpt()
    excerpt.add("Title: Gabon", -1, -1)
    excerpt.add("Gabon is a country with an area of 270,000 km2, bordered by ...", 0, 60)
    excerpt.add("Short description: Gabonese singer (1931–1999)", 61, 100)
    population = Column("Population", "number", "the total population estimate")
    assert ground_number(270_000, related_lines(excerpt, population)) is None
    birth = Column("Birth Year", "number", "year of birth as given in the short description")
    assert ground_number(1931, related_lines(excerpt, birth)) == 1931
    assert ground_text("fr", "Gabon gained independence from France") is None
    assert ground_text(".ga", "Internet country code: .ga") == ".ga"
