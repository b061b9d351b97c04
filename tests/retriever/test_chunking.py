from __future__ import annotations

import itertools
import random

import pytest

from retriever.chunking import chunk_text
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
