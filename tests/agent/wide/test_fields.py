"""Labelled fields of a document, column matching, numbers."""

from __future__ import annotations

from agent.wide.fields import (
    best_fields,
    format_number,
    match_score,
    mentions,
    numbers_in,
    parse_fields,
)

PAGE = """Chad — The World Factbook
Region: Africa

## Geography
Area:
  - total: 1.284 million sq km
  - land: 1,259,200 sq km
Coastline: 0 km (landlocked)
Elevation:
  - highest point: Emi Koussi 3,445 m
  - lowest point: Djourab 160 m
Homepage: http://example.org/chad/
Description:
A landlocked country
in north-central Africa.

Package details:
- Version: 2.18-2
"""


def test_nested_fields_have_paths_and_spans() -> None:
    fields = parse_fields(PAGE)
    by_path = {f.path: f for f in fields}
    assert by_path["Area / total"].value == "1.284 million sq km"
    assert by_path["Elevation / lowest point"].value == "Djourab 160 m"
    assert by_path["Region"].value == "Africa"
    assert by_path["Package details / Version"].value == "2.18-2"
    area = by_path["Area"]
    assert [c.label for c in area.children] == ["total", "land"]
    assert area.full_value.startswith("total: 1.284 million sq km; land:")
    total = by_path["Area / total"]
    assert PAGE[total.start : total.end].strip() == "- total: 1.284 million sq km"


def test_url_is_a_value_not_a_label_and_paragraphs_belong_to_their_label() -> None:
    by_path = {f.path: f for f in parse_fields(PAGE)}
    assert by_path["Homepage"].value == "http://example.org/chad/"
    assert not any(p.startswith("http") for p in by_path)
    assert by_path["Description"].value == "A landlocked country in north-central Africa."


def test_columns_match_labels_by_their_words() -> None:
    fields = parse_fields(PAGE)
    assert best_fields(fields, "Total Area (sq km)")[0].field.path == "Area / total"
    assert best_fields(fields, "Lowest Point")[0].field.path == "Elevation / lowest point"
    assert best_fields(fields, "Coastline (km)")[0].field.path == "Coastline"
    assert best_fields(fields, "Population") == []


def test_numbers_are_read_with_separators_scales_and_signs() -> None:
    assert numbers_in("total: 1.284 million sq km") == [1_284_000.0]
    assert numbers_in("Lake Assal -155 m; 2,102,650 people; 16.9 years") == [
        -155.0,
        2_102_650.0,
        16.9,
    ]
    assert numbers_in("version 2.18-2") == [2.18, 2.0]  # a hyphen after a digit is no minus
    assert format_number(1_284_000.0) == "1284000" and format_number(16.90) == "16.9"


def test_a_word_names_a_label_word_it_begins() -> None:
    """ "Coast" asks the "Coastline" field; a short word ("Name") is no prefix of another
    ("Namespace"), and the label's word must begin with it ("Land" is not "Island")."""
    assert match_score("Coast", "Coastline") >= 1.0
    assert match_score("Name", "Namespace") == 0.0
    assert match_score("Island", "Land") == 0.0
    assert match_score("Coastal", "Coastline") == 0.0


def test_a_value_is_mentioned_as_whole_words_joined_by_spaces_or_joining_marks() -> None:
    assert mentions("The tide_ft wrapper around the C interface.", "C interface") >= 0
    assert mentions("a thin wrapper around the gauge() C-interface", "C interface") >= 0
    assert mentions("send an e-mail to the harbour master", "e mail") >= 0
    # not across a sentence's end or a slash, not inside a longer word or number
    assert mentions("calls the gauge() C/Rust interface directly", "C interface") < 0
    assert mentions("It is written in C. Interface files follow.", "C interface") < 0
    assert mentions("the administrator's guide", "admin") < 0
    assert mentions("Release 4.20 notes", "Release 4.2") < 0
