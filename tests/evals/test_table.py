"""Finding and reading the response table, official and strict."""

from __future__ import annotations

import pandas as pd
import pytest

from evals import TableError, read_table_official, read_table_strict, render_markdown_table
from evals.table import official_table_text, split_row

TABLE = "| Name | Year |\n|---|---|\n| Ann | 1983 |\n| Bob | 1990 |"


def test_official_takes_the_first_markdown_fence() -> None:
    text = f"intro | a | b |\n```markdown\n{TABLE}\n```\n```markdown\n| x |\n|---|\n| 1 |\n```"
    frame = read_table_official(text)
    assert list(frame.columns) == ["name", "year"]  # header lower-cased, spaces removed
    assert frame["name"].tolist() == ["Ann", "Bob"]
    assert frame["year"].tolist() == [1983, 1990]


def test_official_without_fence_uses_the_first_pipe_block() -> None:
    text = f"Here you go:\n\n{TABLE}\n\nSources: [1] | [2]"
    frame = read_table_official(text)
    assert frame["name"].tolist() == ["Ann", "Bob"]
    # a fence tagged `md` is not a markdown fence for the evaluator: the pipe block is used
    assert read_table_official(f"```md\n{TABLE}\n```")["name"].tolist() == ["Ann", "Bob"]


def test_official_no_table() -> None:
    assert official_table_text("no table | here |") is None  # fewer than 4 pipes
    with pytest.raises(TableError, match="no markdown table"):
        read_table_official("just prose")


def test_official_pandas_quirks_are_kept() -> None:
    text = (
        "| Name | Year | Note |\n|---|---|---|\n"
        '| Ann | 1983 | N/A |\n| Bob | | "quoted" text |\n| NA | 1990 | nan |'
    )
    frame = read_table_official(text)
    as_text = frame.astype(str)
    assert as_text["year"].tolist() == ["1983.0", "nan", "1990.0"]  # a blank makes floats
    assert as_text["note"].tolist() == ["nan", "quoted text", "nan"]  # NA strings, quotes
    assert as_text["name"].tolist() == ["Ann", "Bob", "nan"]


def test_official_pipe_inside_a_cell_or_empty_table_raises() -> None:
    with pytest.raises(pd.errors.ParserError):
        read_table_official("| a | b |\n|---|---|\n| x | y |\n| p \\| q | r | s |")
    with pytest.raises(pd.errors.EmptyDataError):
        read_table_official("```markdown\n```")
    header_only = read_table_official("```markdown\n| a | b |\n|---|---|\n```")
    assert list(header_only.columns) == ["a", "b"] and len(header_only) == 0


def test_strict_parses_markdown_properly() -> None:
    text = (
        "```md\n| Name | Note |\n|:--|--:|\n| Ann | a \\| b |\n| Bob | N/A |\n"
        "| Cy | x | extra |\n| Dee | |\n```"
    )
    table = read_table_strict(text)
    assert table.columns == ["name", "note"]
    assert table.rows == [["Ann", "a | b"], ["Bob", "N/A"], ["Dee", ""]]
    assert table.malformed == [3]
    assert table.predicted_rows == 4


def test_strict_finds_unfenced_tables_and_reports_none() -> None:
    assert read_table_strict(f"Answer:\n{TABLE}\nDone.").rows == [["Ann", "1983"], ["Bob", "1990"]]
    with pytest.raises(TableError):
        read_table_strict("no table at all")
    with pytest.raises(TableError, match="header is empty"):
        read_table_strict("| |\n|---|\n| x |")
    assert read_table_strict("| a | b |\n|---|---|").rows == []


def test_split_row() -> None:
    assert split_row("| a | b |") == ["a", "b"]
    assert split_row("a | b") == ["a", "b"]
    assert split_row("| a \\| b | c |") == ["a | b", "c"]
    assert split_row("| a |  |") == ["a", ""]


def test_render_round_trips_in_both_modes() -> None:
    rows = [["Ann", "x | y"], ["Bob", "line one\r\nline two"]]
    text = render_markdown_table(["Name", "Note"], rows)
    assert text.startswith("```markdown\n| Name | Note |")
    assert read_table_strict(text).rows == [["Ann", "x | y"], ["Bob", "line one line two"]]
    plain = render_markdown_table(["Name"], [["Ann"]], fence=False)
    assert "```" not in plain and read_table_official(plain)["name"].tolist() == ["Ann"]
