from __future__ import annotations

import itertools
import random

import pytest

from retriever.chunking import chunk_document, chunk_text
from retriever.structure import DocumentRenderer, DocumentStructure, Paragraph
from retriever.types import Passage


def _check_invariants(text: str, passages: list[Passage], size: int) -> None:
    for index, passage in enumerate(passages):
        assert passage.ordinal == index
        assert text[passage.start : passage.end] == passage.text
        assert 0 < passage.end - passage.start <= size
        assert not passage.text[0].isspace() and not passage.text[-1].isspace()
    starts = [p.start for p in passages]
    assert starts == sorted(set(starts)), "passages must move forward"
    # Every non-whitespace character is in some passage.
    covered = [False] * len(text)
    for passage in passages:
        covered[passage.start : passage.end] = [True] * (passage.end - passage.start)
    missing = [i for i, c in enumerate(text) if not c.isspace() and not covered[i]]
    assert missing == []


def _words(rng: random.Random, count: int) -> str:
    vocabulary = ["alpha", "beta", "gamma", "déjà", "日本語", "🙂", "x", "supercalifragilistic"]
    parts = []
    for _ in range(count):
        parts.append(rng.choice(vocabulary))
        parts.append(rng.choice([" ", " ", " ", "\n", ". ", "\n\n", "  \t"]))
    return "".join(parts)


def test_short_text_is_one_trimmed_passage() -> None:
    text = "  \n Hello, world.  \n"
    [passage] = chunk_text("d", text, size=800, overlap=150)
    assert passage == Passage("d", 0, 4, 17, "Hello, world.")
    assert text[passage.start : passage.end] == passage.text


def test_empty_and_blank_text_give_no_passages() -> None:
    assert chunk_text("d", "") == []
    assert chunk_text("d", " \n\t ") == []


def test_long_text_is_cut_on_word_boundaries_with_overlap() -> None:
    words = [f"word{i}" for i in range(600)]
    text = " ".join(words)
    passages = chunk_text("doc", text, size=200, overlap=50)
    assert len(passages) > 10
    _check_invariants(text, passages, 200)
    for passage in passages:
        assert passage.start == 0 or text[passage.start - 1].isspace()
        assert passage.end == len(text) or text[passage.end].isspace()
        assert all(p.doc_id == "doc" for p in passages)
    for before, after in itertools.pairwise(passages):
        shared = before.end - after.start
        assert 0 < shared <= 50 + 10  # about `overlap`, rounded to a word


def test_prefers_paragraph_and_sentence_boundaries() -> None:
    first = "First paragraph sentence one. " * 5
    text = first.strip() + "\n\n" + "Second paragraph goes on and on. " * 10
    passages = chunk_text("d", text, size=200, overlap=0)
    assert passages[0].text == first.strip()
    sentences = chunk_text("d", "Aaaa bbbb cccc. " * 40, size=100, overlap=0)
    assert all(p.text.endswith(".") for p in sentences[:-1])


def test_overlap_zero_gives_disjoint_passages() -> None:
    text = " ".join(["lorem ipsum dolor sit amet"] * 100)
    passages = chunk_text("d", text, size=120, overlap=0)
    _check_invariants(text, passages, 120)
    for before, after in itertools.pairwise(passages):
        assert after.start > before.end


def test_giant_word_is_cut_hard() -> None:
    text = "start " + "x" * 2000 + " end"
    passages = chunk_text("d", text, size=300, overlap=50)
    _check_invariants(text, passages, 300)
    assert passages[-1].text.endswith("end")


@pytest.mark.parametrize("seed", range(20))
def test_random_texts_keep_exact_offsets(seed: int) -> None:
    rng = random.Random(seed)
    text = _words(rng, rng.randint(0, 800))
    size = rng.choice([30, 64, 200, 800])
    overlap = rng.randint(0, size - 1)
    passages = chunk_text("d", text, size=size, overlap=overlap)
    if text.strip():
        _check_invariants(text, passages, size)
    else:
        assert passages == []


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (-5, 0), (100, 100), (100, -1)])
def test_bad_parameters_raise(size: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_text("d", "some text", size=size, overlap=overlap)


# --- chunk_document -------------------------------------------------------------------------


def _listing(rows: int = 60) -> tuple[str, DocumentStructure]:
    r = DocumentRenderer("Parts catalogue")
    r.paragraph("The catalogue lists every part. " * 3)
    r.heading("Parts", 2, "parts")
    r.table(
        [["Part", "Weight (g)"]],
        [[f"P-{n:03d}", str(10 + n)] for n in range(rows)],
        caption="Table 1. Parts and weights",
    )
    r.heading("Care", 2)
    r.heading("Cleaning", 3)
    r.list([(f"step {n}: wipe the part gently", []) for n in range(4)])
    r.heading("Storage", 3)
    r.paragraph("word " * 300)
    rendered = r.finish()
    return rendered.text, rendered.structure


def test_chunk_document_cuts_along_blocks_and_repeats_table_context() -> None:
    text, structure = _listing()
    passages = chunk_document("doc", text, structure, size=300, overlap=50)
    _check_invariants(text, passages, 300)
    table = structure.tables()[0][1]
    table_passages = [p for p in passages if p.end > table.start and p.start < table.end]
    assert len(table_passages) >= 3
    first, *rest = table_passages
    assert first.text.startswith("## Parts\n\nTable 1. Parts and weights\nPart | Weight (g)\nP-000")
    assert first.context == "Parts"
    for passage in rest:  # every later table passage is whole rows, and says what the columns are
        assert passage.context == "Parts\nTable 1. Parts and weights\nPart | Weight (g)"
        assert any(passage.start == a for a, _ in table.row_spans)
        assert any(passage.end == b for _, b in table.row_spans)
    # no passage ends with a heading; sections open passages
    for passage in passages:
        assert not passage.text.splitlines()[-1].startswith("#")
    cleaning = next(p for p in passages if "step 0" in p.text)
    assert cleaning.text.startswith("## Care\n\n### Cleaning")
    assert cleaning.context == "Care"
    storage = [p for p in passages if p.text.startswith("word") or "### Storage" in p.text]
    assert storage[0].text.startswith("### Storage\n\nword")
    assert all(p.context == "Care > Storage" for p in storage)
    assert len(storage) > 3  # the long paragraph is cut by words, with overlap
    assert storage[1].start < storage[0].end


def test_chunk_document_covers_text_the_structure_misses() -> None:
    text = "A heading-less note.\n\nName: Widget\nColour: blue\n\nStray text after."
    structure = DocumentStructure.empty(len(text))
    passages = chunk_document("doc", text, structure, size=800)
    assert [p.text for p in passages] == [text]
    assert passages[0].context == ""


def test_chunk_document_small_document_is_one_passage_and_empty_is_none() -> None:
    passages = chunk_document("doc", "", DocumentStructure.empty(0), size=800)
    assert passages == []
    r = DocumentRenderer()
    r.paragraph("Only one line.")
    rendered = r.finish()
    only = chunk_document("doc", rendered.text, rendered.structure)
    assert [(p.start, p.end, p.text) for p in only] == [(0, 14, "Only one line.")]


def test_chunk_document_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        chunk_document("doc", "x", DocumentStructure.empty(1), size=0)
    with pytest.raises(ValueError):
        chunk_document("doc", "x", DocumentStructure.empty(1), size=10, overlap=10)


def test_chunk_document_huge_row_is_cut_and_faulty_spans_are_tolerated() -> None:
    r = DocumentRenderer()
    r.table([["Key", "Text"]], [["k1", "long " * 400], ["k2", "short"]])
    rendered = r.finish()
    passages = chunk_document("doc", rendered.text, rendered.structure, size=500, overlap=100)
    _check_invariants(rendered.text, passages, 500)
    assert passages[-1].text.endswith("k2 | short")
    # a structure whose blocks overlap (a faulty parser) still gives valid passages
    text = "one two three four five six"
    faulty = DocumentStructure.empty(len(text))
    faulty.root.blocks = [Paragraph("one two three", 0, 13), Paragraph("three four", 8, 18)]
    passages = chunk_document("doc", text, faulty, size=800)
    _check_invariants(text, passages, 800)
