from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest

from retriever import parse_text as parse_text_module
from retriever.parse_text import parse_text
from retriever.structure import (
    Block,
    Code,
    Definition,
    DefinitionList,
    DocumentRenderer,
    DocumentStructure,
    ListBlock,
    ListItem,
    Paragraph,
    Section,
    Table,
)

FIXTURES = Path(__file__).parent / "fixtures" / "text"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _skipped_lines(text: str, markdown: bool) -> set[int]:
    """Line numbers parse_text may leave out of every block: Markdown front matter and
    thematic breaks."""
    lines = text.split("\n")
    skipped: set[int] = set()
    if markdown and lines and lines[0].rstrip() == "---":
        for number in range(1, len(lines)):
            if lines[number].rstrip() in ("---", "..."):
                skipped.update(range(number + 1))
                break
    if markdown:
        for number, line in enumerate(lines):
            compact = line.replace(" ", "").replace("\t", "").rstrip("\r")
            if len(compact) >= 3 and len(set(compact)) == 1 and compact[0] in "-*_":
                skipped.add(number)
    return skipped


def _check_items(
    text: str, items: list[ListItem], low: int, high: int, problems: list[str]
) -> None:
    last = low
    for item in items:
        if not (last <= item.start <= item.end <= high):
            problems.append(f"list item {item.text!r} at {item.start}-{item.end} out of order")
        if text[item.start] not in "-*+•0123456789" and not text.startswith(item.text, item.start):
            problems.append(f"list item {item.text!r} does not start at its marker or text")
        last = item.end
        _check_items(text, item.children, item.start, item.end, problems)


def _check_sections(section: Section, low: int, high: int, problems: list[str]) -> None:
    if not (low <= section.start <= section.end <= high):
        problems.append(f"section {section.heading!r} {section.start}-{section.end} not nested")
    if section.level > 0 and not (section.start <= section.heading_end <= section.end):
        problems.append(f"section {section.heading!r} heading_end {section.heading_end}")
    for child in section.children:
        _check_sections(child, section.start, section.end, problems)


def span_problems(text: str, structure: DocumentStructure, markdown: bool = False) -> list[str]:
    """What is wrong with the spans of `structure` over `text` (nothing: an empty list)."""
    problems: list[str] = []
    n = len(text)
    spans: list[tuple[int, int, str]] = [(b.start, b.end, b.kind) for _, b in structure.blocks()]
    spans += [(s.start, s.heading_end, "heading") for s in structure.sections()]
    spans.sort()
    covered = bytearray(n)
    previous_end = 0
    for start, end, kind in spans:
        if not (0 <= start <= end <= n):
            problems.append(f"{kind} span {start}-{end} outside the text")
        if start < previous_end:
            problems.append(f"{kind} at {start} overlaps what ends at {previous_end}")
        previous_end = max(previous_end, end)
        covered[start:end] = b"\x01" * (end - start)
    for _, block in structure.blocks():
        if (
            text[block.start : block.start + 1].isspace()
            or text[block.end - 1 : block.end].isspace()
        ):
            problems.append(f"{block.kind} span {block.start}-{block.end} not trimmed")
        if isinstance(block, Table):
            if len(block.row_spans) != len(block.rows):
                problems.append("a table's row_spans and rows differ in number")
            last = block.start
            flat = "\n\n" in text[block.start : block.end]  # written one paragraph per cell
            for (start, end), row in zip(block.row_spans, block.rows, strict=False):
                line = text[start:end]
                if not (last <= start <= end <= block.end) or ("\n" in line and not flat):
                    problems.append(f"row span {start}-{end} is not one line of its table")
                if flat and (line != line.strip() or not line.startswith(row[0].split("\n")[0])):
                    problems.append(f"row span {start}-{end} does not start with its first cell")
                unescaped = line.replace("\\|", "|")
                for cell in row:
                    word = cell.split()[0] if cell.split() else ""
                    if word not in line and word not in unescaped:
                        problems.append(f"row {row} is not read from {line!r}")
                last = end
        elif isinstance(block, ListBlock):
            _check_items(text, block.items, block.start, block.end, problems)
        elif isinstance(block, DefinitionList):
            last = block.start
            for entry in block.entries:
                if not (last <= entry.start <= entry.end <= block.end):
                    problems.append(f"definition {entry.term!r} span out of order")
                last = entry.end
    _check_sections(structure.root, 0, n, problems)
    skipped = _skipped_lines(text, markdown)
    offset = 0
    for number, line in enumerate(text.split("\n")):
        if number not in skipped:
            for k, char in enumerate(line):
                if not covered[offset + k] and not char.isspace() and char != "\ufeff":
                    problems.append(f"line {number} {line[:60]!r} is in no block")
                    break
        offset += len(line) + 1
    return problems


def assert_spans_valid(text: str, structure: DocumentStructure, markdown: bool = False) -> None:
    problems = span_problems(text, structure, markdown)
    assert not problems, problems[:10]


def _text(block: object) -> str:
    assert isinstance(block, Paragraph | Code), block
    return block.text


def _items(block: object) -> list[str]:
    assert isinstance(block, ListBlock), block
    return [item.text for item in block.items]


def _entries(block: object) -> list[tuple[str, str]]:
    assert isinstance(block, DefinitionList), block
    return [(entry.term, entry.description) for entry in block.entries]


def _outline(structure: DocumentStructure) -> list[tuple[str, ...]]:
    """Headings and blocks in text order, as short tuples to compare."""
    found: list[tuple[int, tuple[str, ...]]] = []
    for section in structure.sections():
        found.append((section.start, ("heading", str(section.level), section.heading)))
    for _, block in structure.blocks():
        found.append((block.start, (block.kind,)))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


# --- fixtures ----------------------------------------------------------------------------------


def test_markdown_page() -> None:
    text = _fixture("guide.md")
    structure = parse_text(text, markdown=True, title="Widget guide")
    assert_spans_valid(text, structure, markdown=True)
    assert structure.title == "Widget guide"
    assert _outline(structure) == [
        ("heading", "1", "Widget guide"),
        ("paragraph",),
        ("heading", "1", "Installing"),
        ("paragraph",),
        ("heading", "2", "Sizes"),
        ("table",),
        ("list",),
        ("list",),
        ("code",),
        ("code",),
        ("heading", "2", "Troubleshooting"),
        ("list",),
    ]
    sections = structure.sections()
    assert [(s.anchor, s.path) for s in sections] == [
        ("widget-guide", ("Widget guide",)),
        ("install", ("Installing",)),
        ("sizes", ("Installing", "Sizes")),
        ("troubleshooting", ("Installing", "Troubleshooting")),
    ]
    setext = sections[1]
    assert text[setext.start : setext.heading_end] == "Installing {#install}\n" + "=" * 21
    assert text[sections[2].start : sections[2].heading_end] == "## Sizes ##"
    assert sections[0].end == setext.start and sections[1].end == len(text)

    blocks = [block for _, block in structure.blocks()]
    assert blocks[0] == Paragraph(
        "An introduction to widgets.\nIt spans two lines.", blocks[0].start, blocks[0].end
    )
    table = blocks[2]
    assert isinstance(table, Table)
    assert table.header == [["Size", "Width (mm)", "Notes"]]
    assert table.rows == [["S", "10", "small | light"], ["M", "20", ""]]
    assert table.caption == ""
    assert [text[a:b] for a, b in table.row_spans] == [
        "| S    | 10         | small \\| light |",
        "| M    | 20         | |",
    ]
    assert text[table.start : table.end].startswith("| Size |")

    parts = blocks[3]
    assert isinstance(parts, ListBlock) and not parts.ordered
    assert [item.text for item in parts.items] == ["Parts", "Tools"]
    assert [child.text for child in parts.items[0].children] == ["bolt", "nut with a washer"]
    nut = parts.items[0].children[1]
    assert text[nut.start : nut.end] == "- nut\n    with a washer"
    assert text[parts.items[0].start : parts.items[0].end].endswith("with a washer")
    steps = blocks[4]
    assert isinstance(steps, ListBlock) and steps.ordered
    assert [item.text for item in steps.items] == ["Unpack", "Assemble"]

    fenced, indented = blocks[5], blocks[6]
    assert fenced == Code(
        'print("a | b")\n\n# not a heading', fenced.start, fenced.end, language="python"
    )
    assert text[fenced.start : fenced.end].startswith("```python") and text[
        fenced.start : fenced.end
    ].endswith("```")
    assert indented == Code("indented code\nsecond line", indented.start, indented.end)
    assert _items(blocks[7]) == ["Reset the widget.", "Call support."]


def test_markdown_syntax_is_text_in_plain_mode() -> None:
    text = _fixture("guide.md")
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    headings = [section.heading for section in structure.sections()]
    assert headings == ["Widget guide", "Sizes"]  # no Setext; the ATX ones stay
    kinds = [block.kind for _, block in structure.blocks()]
    assert kinds.count("table") == 1 and kinds.count("code") == 1  # the indented code is text


def test_plain_text_tables() -> None:
    text = _fixture("sizes.txt")
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert _outline(structure) == [
        ("paragraph",),
        ("table",),
        ("paragraph",),
        ("table",),
        ("heading", "2", "Ordering"),
        ("paragraph",),
    ]
    (_, sizes), (_, colours) = structure.tables()
    assert sizes.header == [["Size", "Width", "Weight"]]
    assert sizes.rows == [["S", "10 mm", "1 kg"], ["M", "20 mm", "2 kg"], ["L", "30 mm", ""]]
    assert [text[a:b] for a, b in sizes.row_spans] == [
        "S | 10 mm | 1 kg",
        "M | 20 mm | 2 kg",
        "L | 30 mm",
    ]
    assert sizes.records()[0] == {"Size": "S", "Width": "10 mm", "Weight": "1 kg"}
    assert colours.header == [["Colour", "Code", "Stock"]]
    assert colours.rows == [["red", "R1", "yes"], ["blue", "B2", "no"]]
    assert [text[a:b] for a, b in colours.row_spans] == ["red\tR1\tyes", "blue\tB2\tno"]
    caption_line = structure.blocks()[2][1]
    assert caption_line == Paragraph("Colours in stock:", caption_line.start, caption_line.end)
    assert structure.find_table("Weight") == structure.tables()[0]


def _record_structure(text: str) -> list[Block]:
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    return [block for _, block in structure.blocks()]


def test_label_value_record_exactly() -> None:
    text = _fixture("record.txt")
    at = text.index
    assert _record_structure(text) == [
        DefinitionList(
            [
                Definition("Name", "widget", 0, at("\n")),
                Definition("Version", "1.2.3", at("Version"), at("\nSize")),
                Definition("Size", "42 KiB", at("Size"), at("\n\nPackage")),
            ],
            0,
            at("\n\nPackage"),
        ),
        Paragraph("Package details:", at("Package"), at("\n- Maintainer")),
        DefinitionList(
            [
                Definition(
                    "Maintainer",
                    "Ann Example <ann@example.org>",
                    at("- Maintainer"),
                    at("\n- License"),
                ),
                Definition("License", "MIT", at("- License"), at("\n- Homepage")),
                Definition(
                    "Homepage", "https://example.org/widget", at("- Homepage"), at("\n\nDescr")
                ),
            ],
            at("- Maintainer"),
            at("\n\nDescr"),
        ),
        DefinitionList(
            [
                Definition(
                    "Description",
                    "A small widget for testing.\nIt has two lines.",
                    at("Description"),
                    at("\n\nSome"),
                )
            ],
            at("Description"),
            at("\n\nSome"),
        ),
        Paragraph("Some closing prose.", at("Some"), len(text) - 1),
    ]


def test_crlf_text_gives_the_same_structure_with_crlf_offsets() -> None:
    text = _fixture("record.txt").replace("\n", "\r\n")
    blocks = _record_structure(text)
    lf_blocks = _record_structure(_fixture("record.txt"))
    assert [b.kind for b in blocks] == [b.kind for b in lf_blocks]
    description = blocks[3]
    assert isinstance(description, DefinitionList)
    assert description.entries[0].description == "A small widget for testing.\nIt has two lines."
    assert text[description.start : description.end].endswith("two lines.")
    markdown = _fixture("guide.md").replace("\n", "\r\n")
    structure = parse_text(markdown, markdown=True)
    assert_spans_valid(markdown, structure, markdown=True)
    assert _outline(structure) == _outline(parse_text(_fixture("guide.md"), markdown=True))
    table = structure.tables()[0][1]
    assert [markdown[a:b] for a, b in table.row_spans][1] == "| M    | 20         | |"


def test_what_is_not_a_table_or_a_definition() -> None:
    text = _fixture("prose.txt")
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    blocks = [block for _, block in structure.blocks()]
    assert [block.kind for block in blocks] == ["paragraph"] * 5
    assert [_text(block) for block in blocks] == [
        "See https://example.org/widgets for more.\nhttp://example.org/a: b",
        "The story began.\nHe said: this is fine and went on\nwith the story until the end.",
        "He said: this is fine and went on",
        "Pick one | or the other, as you like.",
        "The options are: small, medium and large.",
    ]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "Note: this is a long sentence that explains a detail of the widget in full.",
            "definitions",
        ),
        ("http://example.org/page", "paragraph"),
        ("As follows: nothing", "paragraph"),
        ("Installed size: 42 KiB", "definitions"),
        ("We found: nothing", "paragraph"),
        ("The results are as follows: none", "paragraph"),
        ("Diplomatic representation in the US: none", "definitions"),
        ("f(a: int) -> int", "paragraph"),
        ("a | b", "paragraph"),
        ("a | b\nc | d", "table"),
        ("- a | b\n- c | d", "list"),
        ("[ a | b ]\n[ c | d ]", "paragraph"),
        ("Key: a | b\nOther: c | d", "definitions"),
        ("x\ty", "paragraph"),
        ("x\ty\nz\tw", "table"),
        ("x\ty\nz\tw\tv", "paragraph"),
    ],
)
def test_single_line_forms(text: str, kind: str) -> None:
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert [block.kind for _, block in structure.blocks()] == [kind]


def test_label_lines_ending_a_paragraph_and_a_label_above_a_list() -> None:
    text = (
        "Widget\nFrom the catalogue\nShort description: a widget\nTopic: Tools\n\n"
        "Some parties are listed\nParts:\n  - bolt\n  - nut\n"
    )
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    blocks = [block for _, block in structure.blocks()]
    assert [block.kind for block in blocks] == [
        "paragraph",
        "definitions",
        "paragraph",
        "paragraph",
        "list",
    ]
    assert _text(blocks[0]) == "Widget\nFrom the catalogue"
    assert _entries(blocks[1]) == [
        ("Short description", "a widget"),
        ("Topic", "Tools"),
    ]
    assert _text(blocks[3]) == "Parts:"
    assert _items(blocks[4]) == ["bolt", "nut"]


def test_mixed_list_stays_a_list_and_wrapped_values_continue() -> None:
    text = (
        "- Size: 3\n- plain item\n\n"
        "Layout: the source folders (agent, tools),\nthe tests and the docs.\n"
        "Package: widget\nThe page for widget.\n"
    )
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    blocks = [block for _, block in structure.blocks()]
    assert isinstance(blocks[0], ListBlock)
    assert [item.text for item in blocks[0].items] == ["Size: 3", "plain item"]
    assert isinstance(blocks[1], DefinitionList)
    assert [(e.term, e.description) for e in blocks[1].entries] == [
        ("Layout", "the source folders (agent, tools),\nthe tests and the docs."),
        ("Package", "widget"),
    ]
    assert blocks[2] == Paragraph("The page for widget.", blocks[2].start, blocks[2].end)


def test_renderer_output_reads_back_the_same() -> None:
    r = DocumentRenderer("Widget manual")
    r.paragraph("An introduction to widgets.")
    r.heading("Status codes", 2)
    r.table([["Code", "Meaning"]], [["W1", "ok"], ["W2", "a|b"]])
    r.heading("Setup", 3)
    r.list([("Unpack", [("Check the box", [("Twice", [])])]), ("Plug in", [])])
    r.list([("First", []), ("Second", [])], ordered=True)
    r.definitions(
        [
            ("Voltage", "230 V"),
            ("Long term", "First line.\nSecond line."),
            ("Two parts", "One paragraph.\n\nAnother one,\nover two lines."),
            ("Weight", "2 kg"),
        ]
    )
    r.heading("Notes", 2)
    r.paragraph("Last words.\nOn two lines.")
    rendered = r.finish()
    structure = parse_text(rendered.text, title="Widget manual")
    assert_spans_valid(rendered.text, structure)
    assert [block for _, block in structure.blocks()] == [
        block for _, block in rendered.structure.blocks()
    ]

    def sections(structure: DocumentStructure) -> list[tuple[object, ...]]:
        return [
            (s.heading, s.level, s.start, s.end, s.heading_end, s.path)
            for s in structure.sections()
        ]

    assert sections(structure) == sections(rendered.structure)
    assert [s.anchor for s in structure.sections()] == ["status-codes", "setup", "notes"]


def test_headings_anchors_and_front_matter() -> None:
    text = (
        "# Intro {#start}\n\n## Set-up ##\n\n### C#\n\n####### seven\n\n#no space\n  # indented\n"
    )
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert [(s.heading, s.level, s.anchor) for s in structure.sections()] == [
        ("Intro", 1, "start"),
        ("Set-up", 2, "set-up"),
        ("C#", 3, "c"),
    ]
    assert [_text(block) for _, block in structure.blocks()] == [
        "####### seven",
        "#no space\n  # indented",
    ]
    front = "---\ntitle: Doc\n---\nBody text.\n"
    structure = parse_text(front, markdown=True)
    assert [block for _, block in structure.blocks()] == [Paragraph("Body text.", 19, 29)]
    structure = parse_text(front)  # plain text has no front matter
    assert_spans_valid(front, structure)
    assert [block for _, block in structure.blocks()] == [Paragraph(front.strip(), 0, 29)]


def test_fences() -> None:
    text = "~~~\nraw ~~~ text\n~~~~\n\n``` not closed\nso just text\n"
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    blocks = [block for _, block in structure.blocks()]
    assert blocks[0] == Code("raw ~~~ text", 0, text.index("\n\n"))
    assert blocks[1] == Paragraph("``` not closed\nso just text", text.index("```"), len(text) - 1)
    structure = parse_text("```sh\necho hi\n", markdown=True)  # Markdown: open to the end
    assert structure.blocks()[0][1] == Code("echo hi", 0, 13, language="sh")


def test_empty_and_blank_texts() -> None:
    for text in ["", " ", "\n\n", "\r\n \t\r\n", "\ufeff"]:
        for markdown in (False, True):
            structure = parse_text(text, markdown=markdown, title="t")
            assert structure.blocks() == [] and structure.sections() == []
            assert (structure.root.start, structure.root.end, structure.title) == (
                0,
                len(text),
                "t",
            )


def test_byte_order_mark_and_odd_unicode() -> None:
    text = "\ufeff# Title\n\nCafé\u00a0menu \u2028 line\n\u3000\n- ünï\n\x0c\n\u200b\n"
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert [s.heading for s in structure.sections()] == ["Title"]
    assert structure.sections()[0].start == 1
    assert [block.kind for _, block in structure.blocks()] == ["paragraph", "list", "paragraph"]


def test_a_bug_inside_gives_an_empty_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, title: str) -> DocumentStructure:
        raise RuntimeError("bug")

    monkeypatch.setattr(parse_text_module._Parser, "parse", broken)
    structure = parse_text("some text", title="T")
    assert structure.blocks() == [] and structure.root.end == 9 and structure.title == "T"


def test_structure_survives_json() -> None:
    text = _fixture("guide.md")
    structure = parse_text(text, markdown=True)
    assert DocumentStructure.from_json(structure.to_json()) == structure


# --- term lines, plain-line lists, group rows (text rendered from HTML) ----------------------

OPTIONS = """# frobnicate

## Options

frobnicate reads widgets and writes gadgets. It takes these options.

-j njobs
--jobs=njobs

Run njobs frobnications at the same time, one per widget.

Each job opens its own connection, so the widget server must allow as many.

--verbose

Print every widget as it is read.

max_widgets (integer)

The most widgets read in one run; more are left for the next run.

```
frobnicate --max-widgets 10
```

The default is no limit at all.

## Exit status

frobnicate exits with 0 when every widget was read.
"""


def test_term_lines_over_paragraphs_are_a_definition_list() -> None:
    structure = parse_text(OPTIONS)
    assert_spans_valid(OPTIONS, structure)
    assert _outline(structure) == [
        ("heading", "1", "frobnicate"),
        ("heading", "2", "Options"),
        ("paragraph",),
        ("definitions",),
        ("heading", "2", "Exit status"),
        ("paragraph",),
    ]
    blocks = [block for _, block in structure.blocks()]
    assert _text(blocks[0]).startswith("frobnicate reads widgets")  # the intro stays
    options = blocks[1]
    assert isinstance(options, DefinitionList)
    assert _entries(options) == [
        (
            "-j njobs, --jobs=njobs",
            "Run njobs frobnications at the same time, one per widget.\n\n"
            "Each job opens its own connection, so the widget server must allow as many.",
        ),
        ("--verbose", "Print every widget as it is read."),
        (
            "max_widgets (integer)",
            "The most widgets read in one run; more are left for the next run.\n\n"
            "```\nfrobnicate --max-widgets 10\n```\n\n"
            "The default is no limit at all.",
        ),
    ]
    spans = [OPTIONS[entry.start : entry.end] for entry in options.entries]
    assert spans[0].startswith("-j njobs\n--jobs=njobs\n\nRun njobs")
    assert spans[0].endswith("allow as many.")
    assert spans[1] == "--verbose\n\nPrint every widget as it is read."
    assert spans[2].endswith("no limit at all.")  # the code inside the description too
    assert options.start == OPTIONS.index("-j njobs") and options.end == options.entries[-1].end


def test_the_first_term_is_the_one_with_the_longer_description() -> None:
    # a header line ("Description") above the first term could be read as a term itself
    text = (
        "Description\n\nwidget_id integer\n\nThe number of the widget in its batch\n\n"
        "widget_name text\n\nThe name the widget was given when it was made\n\n"
        "batch_id integer (references batches.id)\n\nThe batch the widget belongs to\n"
    )
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    blocks = [block for _, block in structure.blocks()]
    assert [block.kind for block in blocks] == ["paragraph", "definitions"]
    assert [term for term, _ in _entries(blocks[1])] == [
        "widget_id integer",
        "widget_name text",
        "batch_id integer (references batches.id)",
    ]


@pytest.mark.parametrize(
    "text",
    [
        # short lines followed by text no longer than they are
        "Fast\n\nSmall\n\nFree\n\nSafe\n\nOpen\n\nTested\n",
        # only two terms with descriptions
        "--quiet\n\nPrint nothing but errors while running.\n\n"
        "--loud\n\nPrint every widget and every gadget as it goes.\n",
        # prose: sentences, lines ending with ':' or cut mid-sentence
        "The frobnicate tool got faster this year.\n\nWe thank everyone who helped:\n\n"
        "Ann, Bo and Cy sent patches for the widget reader and the gadget writer.\n\n"
        "It is twice as fast as the last release on every widget we tried.\n\n"
        "It now reads widgets from\n\nany server that speaks the widget protocol, old or new.\n\n"
        "See you next year.\n\nThe frobnicate team, writing from the widget works.\n",
    ],
)
def test_prose_with_short_lines_is_no_definition_list(text: str) -> None:
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert "definitions" not in [block.kind for _, block in structure.blocks()]


def test_runs_of_plain_lines_are_lists() -> None:
    text = (
        "Contents\n\n"
        "E.1. Release 4.2\nE.1.1. Migration to Version 4.2\nE.1.2. Changes\n"
        "E.2. Release 4.1\nE.2.1. Migration to Version 4.1\n\n"
        "Chapter 1 Widgets\nChapter 2 Gadgets\nChapter 3 Frobnicators\n"
    )
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    blocks = [block for _, block in structure.blocks()]
    assert [block.kind for block in blocks] == ["paragraph", "list", "list"]
    releases, chapters = blocks[1], blocks[2]
    assert isinstance(releases, ListBlock) and not releases.ordered
    assert [(item.text, [child.text for child in item.children]) for item in releases.items] == [
        ("E.1. Release 4.2", ["E.1.1. Migration to Version 4.2", "E.1.2. Changes"]),
        ("E.2. Release 4.1", ["E.2.1. Migration to Version 4.1"]),
    ]
    first = releases.items[0]
    assert text[first.start : first.end] == (
        "E.1. Release 4.2\nE.1.1. Migration to Version 4.2\nE.1.2. Changes"
    )
    assert _items(chapters) == ["Chapter 1 Widgets", "Chapter 2 Gadgets", "Chapter 3 Frobnicators"]
    assert all(not item.children for item in chapters.items)


@pytest.mark.parametrize(
    "text",
    [
        "The widget reader was rewritten\nfrom scratch this year, and it is\nmuch faster now.",
        "Widgets are read by the reader\nGadgets are written by the writer\nAll of it is fast.",
        "Frobnicate reads widgets (and\ngadgets) from the server\nWidget Works Ltd",
        "x = 1\ny = 2\nz = x + y",
        "name    size\nwidget  10\ngadget  20",
        "Widget one\nColour: blue\nWidget two",
        "Only two\nshort lines",
        "* * *\n#\n(…)",
    ],
)
def test_what_plain_lines_are_not_a_list(text: str) -> None:
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert "list" not in [block.kind for _, block in structure.blocks()]


def test_group_rows_keep_a_table_whole() -> None:
    text = (
        "Code | Name\n"
        "Class 12 — Widget Errors\n"
        "12000 | widget_error\n12001 | widget_jammed\n"
        "Class 13 — Gadget Errors\n"
        "13000 | gadget_error\n\n"
        "| Code | Name |\n|------|------|\n"
        "Frobnication\n"
        "| F1 | frob_started |\n| F2 | frob_stopped |\n"
    )
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    (_, errors), (_, frobs) = structure.tables()
    assert [block.kind for _, block in structure.blocks()] == ["table", "table"]
    assert errors.header == [["Code", "Name"]]
    assert errors.rows == [
        ["12000", "widget_error"],
        ["12001", "widget_jammed"],
        ["13000", "gadget_error"],
    ]
    assert errors.groups == [
        "Class 12 — Widget Errors",
        "Class 12 — Widget Errors",
        "Class 13 — Gadget Errors",
    ]
    assert [text[a:b] for a, b in errors.row_spans][2] == "13000 | gadget_error"
    assert frobs.rows == [["F1", "frob_started"], ["F2", "frob_stopped"]]
    assert frobs.groups == ["Frobnication", "Frobnication"]
    again = DocumentStructure.from_json(structure.to_json())
    assert [table for _, table in again.tables()] == [errors, frobs]


@pytest.mark.parametrize(
    "between",
    [
        "The widget table ends here. The gadget table follows.",  # sentences
        "## Gadgets",  # a heading
        "----+----",  # a rule
        "Gadgets  sorted by size",  # aligned columns
    ],
)
def test_lines_between_rows_that_are_no_group_rows(between: str) -> None:
    text = f"Code | Name\nW1 | widget\nW2 | wodget\n{between}\nG1 | gadget\nG2 | gidget\n"
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    first = structure.tables()[0][1]
    assert len(first.rows) == 2 and not first.groups
    assert all(not table.groups for _, table in structure.tables())


def test_a_line_above_the_header_of_another_table_is_no_group_row() -> None:
    text = "Code | Name\n-----+-----\nW1 | widget\nGadgets\nCode | Size\n-----+-----\nG1 | 10\n"
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert [table.header for _, table in structure.tables()] == [
        [["Code", "Name"]],
        [["Code", "Size"]],
    ]
    assert all(not table.groups for _, table in structure.tables())


def test_a_table_indented_under_a_list_item_is_a_table() -> None:
    text = (
        "Steps to take:\n\n"
        "1. Lower the quotas. Suggested values:\n"
        "  Quota | Default | Strict\n"
        "  MAX_WIDGETS | 1,000 | 10\n"
        "  MAX_GADGETS | 500 | 5\n"
        "2. Watch the logs.\n"
        "3. Rotate the keys.\n"
    )
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    kinds = [block.kind for _, block in structure.blocks()]
    assert kinds == ["paragraph", "list", "table", "list"]
    ((_, table),) = structure.tables()
    assert table.header == [["Quota", "Default", "Strict"]]
    assert table.rows == [["MAX_WIDGETS", "1,000", "10"], ["MAX_GADGETS", "500", "5"]]
    lists = [block for _, block in structure.blocks() if block.kind == "list"]
    assert [item.text for item in lists[0].items] == ["Lower the quotas. Suggested values:"]
    assert [item.text for item in lists[1].items] == ["Watch the logs.", "Rotate the keys."]


# --- properties ---------------------------------------------------------------------------------

_FRAGMENTS = [
    "", "", "", " ", "# Title", "## Sub {#x}", "### C# ##", "Title", "=====", "-----", "---",
    "***", "* * *", "- item", "  - nested", "    deeper", "   continued", "* star", "+ plus",
    "• bullet", "1. one", "2) two", "10. ten", "-", "1.", "a | b | c", "| x | y |", "|---|:-:|",
    "----+----", "+---+---+", "a\tb\tc", "x\ty", "Label: value", "Label:", "total: 3",
    "- Key: v", "term", "  described here", "```py", "```", "~~~", "    code", "\tcode",
    "He said: so", "http://x.y/z: w", "plain words here.", "a \\| b | c", "[ a | b ]",
    "ünïcødé ≠ ascii", "\u2028sep", "\x0cform", "\u200b", "\u00a0", "#", "# ", "- ", "> quote",
    "Table 1. Sizes", "f(x) = y", "a|b", "|", "||", " | ", ":", ": x", "::", "\ufeff",
    "Term", "  desc line", "  second para", "- | cell", "# | cell", "x |", "| a | b",
]  # fmt: skip


def _random_text(rng: random.Random) -> str:
    if rng.random() < 0.2:  # character soup
        alphabet = "#-*+|:\t \n\r`~>1.aA{}()[]\\=_•\u00a0é"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
    lines = [rng.choice(_FRAGMENTS) for _ in range(rng.randrange(0, 30))]
    if rng.random() < 0.5:
        lines = [" " * rng.choice((0, 0, 1, 2, 4)) + line for line in lines]
    return ("\r\n" if rng.random() < 0.3 else "\n").join(lines)


def test_random_texts_give_valid_spans(caplog: pytest.LogCaptureFixture) -> None:
    """A seeded fuzz loop (hypothesis is not installed): parse_text never fails on a text and
    every structure it returns is valid over it."""
    rng = random.Random(20240607)
    with caplog.at_level(logging.ERROR, logger="retriever.parse_text"):
        for _ in range(3000):
            text = _random_text(rng)
            for markdown in (False, True):
                structure = parse_text(text, markdown=markdown)
                problems = span_problems(text, structure, markdown)
                assert not problems, (text, markdown, problems[:5])
    assert not caplog.records  # no text fell back to the empty structure


def test_speed_stays_linear() -> None:
    """Generous bounds that catch quadratic behaviour (minutes on these inputs), not a
    benchmark: each input parses in under 0.3 s on a quiet 2-core machine, and the bounds leave
    room for a machine busy with other work."""
    rng = random.Random(7)
    documents = ["\n".join(rng.choice(_FRAGMENTS[4:]) for _ in range(40)) for _ in range(300)]
    started = time.perf_counter()
    for text in documents:
        parse_text(text)
    assert time.perf_counter() - started < 10.0
    for text in [
        "A: x | y\n" * 20_000,
        "```x\n" * 20_000,
        "".join(" " * k + "- a\n" for k in range(2_000)),
        "a | b\n---+---\n" * 10_000,
        "term\n  desc\n" * 20_000,
        "term\n  desc\n" + "\n" * 50_000 + "  more",
        "- item\n" + "\n" * 50_000 + "  more",
        "word " * 400_000,
        "--opt\n\nThe option does this.\n\n" * 20_000,
        "a\n\nbb\n\n" * 20_000,
        "Short line\n" * 50_000,
        "A | B\nGroup\n" * 20_000,
    ]:
        started = time.perf_counter()
        structure = parse_text(text)
        assert time.perf_counter() - started < 10.0, text[:20]
        assert structure.blocks()


# --- tables written one paragraph per cell ------------------------------------------------------

UNIT_FUNCTIONS = """\
Table 7.2. Unit Conversion Functions

Function

Description

Example(s)

to_feet ( length numeric ) → numeric

Converts metres to feet

to_feet(2.0) → 6.5617

to_miles ( length numeric ) → numeric

to_miles ( length double precision ) → double precision

Converts kilometres to miles; rounds to the nearest mile when asked

to_miles(8.0) → 4.97

to_miles(1.6) → 0.99

kelvin ( celsius numeric ) → numeric

Converts Celsius to Kelvin

kelvin(0) → 273.15

The functions above accept any numeric type.
"""


def _table_then_paragraph(text: str) -> tuple[Table, list[Block]]:
    """The table a text opens with and its blocks, checked to be that table then prose."""
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    blocks = [block for _, block in structure.blocks()]
    assert [block.kind for block in blocks] == ["table", "paragraph"]
    assert isinstance(blocks[0], Table)
    return blocks[0], blocks


def _flat_rows_text(text: str, table: Table) -> list[str]:
    return [text[start:end] for start, end in table.row_spans]


def test_a_table_written_one_paragraph_per_cell() -> None:
    text = UNIT_FUNCTIONS
    table, blocks = _table_then_paragraph(text)
    assert table.caption == "Table 7.2. Unit Conversion Functions"
    assert table.header == [["Function", "Description", "Example(s)"]]
    assert table.rows == [
        [
            "to_feet ( length numeric ) → numeric",
            "Converts metres to feet",
            "to_feet(2.0) → 6.5617",
        ],
        [
            "to_miles ( length numeric ) → numeric\n"
            "to_miles ( length double precision ) → double precision",
            "Converts kilometres to miles; rounds to the nearest mile when asked",
            "to_miles(8.0) → 4.97\nto_miles(1.6) → 0.99",
        ],
        [
            "kelvin ( celsius numeric ) → numeric",
            "Converts Celsius to Kelvin",
            "kelvin(0) → 273.15",
        ],
    ]
    # spans: the caption starts the table, each row runs from its first to its last paragraph
    assert table.start == 0 and text[table.start : table.end].endswith("kelvin(0) → 273.15")
    rows = _flat_rows_text(text, table)
    assert rows[0] == "to_feet ( length numeric ) → numeric\n\nConverts metres to feet\n\n" + (
        "to_feet(2.0) → 6.5617"
    )
    assert rows[1].startswith("to_miles ( length numeric )") and rows[1].endswith("→ 0.99")
    assert rows[2].startswith("kelvin ( celsius") and rows[2].endswith("273.15")
    assert table.records()[2]["Description"] == "Converts Celsius to Kelvin"
    # the prose after it is a paragraph again
    assert _text(blocks[1]) == "The functions above accept any numeric type."
    assert blocks[1].start == text.index("The functions above")


PLANETS = """\
# Planets

The inner planets are listed first.

Table 3: Inner Planets

Planet

Mean radius

Moons

Discovered by

Mercury

2,440 km

0

known since antiquity

Venus

6,052 km

0

known since antiquity

Earth

6,371 km

1

not applicable

Mars

3,390 km

2

known since antiquity

Table 4: Dwarf Planets

Name

Orbit

Pluto

beyond Neptune, in the Kuiper belt

Ceres

between Mars and Jupiter, in the main asteroid belt

Eris

in the scattered disc, far beyond Pluto

## Moons

Most moons orbit the giant planets.
"""


def test_one_paragraph_per_cell_and_a_second_table_right_after() -> None:
    structure = parse_text(PLANETS)
    assert_spans_valid(PLANETS, structure)
    assert _outline(structure) == [
        ("heading", "1", "Planets"),
        ("paragraph",),
        ("table",),
        ("table",),
        ("heading", "2", "Moons"),
        ("paragraph",),
    ]
    (_, inner), (_, dwarf) = structure.tables()
    assert inner.caption == "Table 3: Inner Planets"
    assert inner.header == [["Planet", "Mean radius", "Moons", "Discovered by"]]
    assert inner.rows == [
        ["Mercury", "2,440 km", "0", "known since antiquity"],
        ["Venus", "6,052 km", "0", "known since antiquity"],
        ["Earth", "6,371 km", "1", "not applicable"],
        ["Mars", "3,390 km", "2", "known since antiquity"],
    ]
    assert _flat_rows_text(PLANETS, inner)[3] == "Mars\n\n3,390 km\n\n2\n\nknown since antiquity"
    assert PLANETS[inner.end : dwarf.start] == "\n\n"  # the caption starts the next table
    assert dwarf.caption == "Table 4: Dwarf Planets" and dwarf.header == [["Name", "Orbit"]]
    assert [row[0] for row in dwarf.rows] == ["Pluto", "Ceres", "Eris"]  # the heading ends it
    assert dwarf.rows[2][1] == "in the scattered disc, far beyond Pluto"


def test_a_first_row_of_column_names_and_cells_of_several_paragraphs() -> None:
    # the first body cell ("Pancakes") reads as a column name too: the header is the run's first
    # three paragraphs, not all four
    text = (
        "Table 5. Breakfast Recipes\n\nDish\n\nIngredients\n\nMinutes\n\n"
        "Pancakes\n\nflour, eggs, milk\n\nbutter for the pan\n\n20\n\n"
        "Porridge\n\noats, water, a pinch of salt\n\n10\n\n"
        "Omelette\n\neggs, cheese\n\nfresh herbs, if there are any\n\n8\n\n"
        "All recipes serve two people and can be doubled without changing the times given.\n"
    )
    table, _ = _table_then_paragraph(text)
    assert table.caption == "Table 5. Breakfast Recipes"
    assert table.header == [["Dish", "Ingredients", "Minutes"]]
    assert table.rows == [
        ["Pancakes", "flour, eggs, milk\nbutter for the pan", "20"],
        ["Porridge", "oats, water, a pinch of salt", "10"],
        ["Omelette", "eggs, cheese\nfresh herbs, if there are any", "8"],
    ]


@pytest.mark.parametrize(
    "text",
    [
        # a contents page: short lines, one a paragraph
        "Contents\n\nIntroduction\n\nInstallation\n\nConfiguration\n\nUsage\n\n"
        "Troubleshooting\n\nLicense\n\nAcknowledgements\n",
        # a glossary of single words under a caption-like line, nothing else
        "Table 1. Words\n\nApple\n\nBanana\n\nCherry\n\nDate\n\nElderberry\n\nFig\n\nGrape\n",
        # prose paragraphs
        "The widget reader was rewritten this year.\n\nIt is twice as fast as before.\n\n"
        "Gadgets are written by the writer, which did not change.\n\n"
        "Both run on every platform we support.\n\nSee the release notes for more.\n",
        # short title-like lines, then prose
        "Overview\n\nGoals\n\nScope\n\nThe project reads widgets from many servers.\n\n"
        "It writes gadgets to a single store, one file a day.\n\n"
        "Both are tested every night on three platforms.\n\n"
        "Releases come out every spring and every autumn.\n\n"
        "Each release is supported for two years after it comes out.\n\n"
        "Older releases get no fixes, not even for security problems.\n",
        # a caption, column-name-like lines, then prose only
        "Table 2. Results\n\nRun\n\nTime\n\nThe runs were made on a quiet machine.\n\n"
        "Each was repeated five times and the best time kept.\n\n"
        "The times are in seconds, rounded to the nearest tenth.\n\n"
        "A run that failed was made again from the start.\n",
        # terms and short descriptions (a list of settings), no caption: definitions
        "Some variables can be set:\n\nCC\n\nC compiler\n\nCFLAGS\n\noptions to pass to the C "
        "compiler\n\nCPP\n\nC preprocessor\n\nCPPFLAGS\n\noptions to pass to the C preprocessor"
        "\n\nLDFLAGS\n\noptions to use when linking\n",
    ],
)
def test_what_is_no_table_written_one_paragraph_per_cell(text: str) -> None:
    structure = parse_text(text)
    assert_spans_valid(text, structure)
    assert "table" not in [block.kind for _, block in structure.blocks()]


CALLOUTS = """\
## Options

-r rate
--rate=rate

Readings per hour.

### Note

This option needs firmware 3.0 or later.

--dry-run

Prints what would be sent and sends nothing.

### Warning

Nothing is logged either.

--label name

Names the gauge in every line it prints.

## Notes

Rates above 60 are rounded down.
"""


def test_a_callout_title_is_no_section_and_its_box_belongs_to_the_entry_above() -> None:
    """ "### Note" and "### Warning" title boxes inside the Options section: they are no
    sections of their own (the entries after them stay in one definition list) and their text
    is part of the entry they follow; "## Notes" is a section."""
    structure = parse_text(CALLOUTS, markdown=True)
    assert_spans_valid(CALLOUTS, structure)
    assert _outline(structure) == [
        ("heading", "2", "Options"),
        ("definitions",),
        ("heading", "2", "Notes"),
        ("paragraph",),
    ]
    options = next(block for _, block in structure.blocks())
    assert isinstance(options, DefinitionList)
    entries = dict(_entries(options))
    assert list(entries) == ["-r rate, --rate=rate", "--dry-run", "--label name"]
    assert entries["-r rate, --rate=rate"].endswith("This option needs firmware 3.0 or later.")
    assert "Nothing is logged either." in entries["--dry-run"]
    assert "Nothing is logged" not in entries["--label name"]


SETTINGS = """\
## Sending

max_senders (integer)

How many senders may run at once. The default is 10.

sender_timeout (integer)

Seconds before an idle sender is stopped. The default is 60.

send_buffer (string)

Where outgoing data waits before it is sent. The default is memory.

## Receiving

Settings of the receiving side.

max_receivers (integer)

How many receivers may run at once. The default is 4.

receive_retry (integer)

Seconds between two attempts to reconnect. The default is 5.

## Examples

Set both before the first start.

Then restart the server.
"""


def test_two_terms_shaped_as_the_documents_other_entries_are_a_definition_list() -> None:
    """Two settings under their own heading are too few for a run of definitions on their
    own, but they are written as the three of the section before ("name (type)"); two plain
    paragraphs are not."""
    structure = parse_text(SETTINGS, markdown=True)
    assert_spans_valid(SETTINGS, structure)
    kinds = [type(block).__name__ for _, block in structure.blocks()]
    assert kinds == ["DefinitionList", "Paragraph", "DefinitionList", "Paragraph", "Paragraph"]
    receiving = [block for _, block in structure.blocks()][2]
    assert isinstance(receiving, DefinitionList)
    assert [term for term, _ in _entries(receiving)] == [
        "max_receivers (integer)",
        "receive_retry (integer)",
    ]
