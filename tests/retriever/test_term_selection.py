from __future__ import annotations

from pathlib import Path

import pytest

from retriever.corpus_store import CorpusStore, query_terms
from retriever.term_selection import TermSelector
from retriever.types import Document

COMMON = "package provides description software library tool version"


def docs(n: int, extra: str = "") -> list[Document]:
    return [
        Document(f"pkg{i}", f"This package provides software number {i}. {extra} {COMMON}.")
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path) -> CorpusStore:
    s = CorpusStore(tmp_path / "c.db")
    s.add_documents("c", [*docs(300), Document("rare", "The zephyrine quokka library tool.")])
    return s


def test_short_queries_are_left_alone(store: CorpusStore) -> None:
    selector = TermSelector("corpus_fts", "porter unicode61 remove_diacritics 2", max_terms=4)
    conn = store._connection()
    assert selector.select(conn, ["package", "provides", "x"], 301) == ["package", "provides", "x"]


def test_long_queries_keep_their_rarest_words_in_order(store: CorpusStore) -> None:
    selector = TermSelector(
        "corpus_fts", "porter unicode61 remove_diacritics 2", max_terms=3, common_fraction=0.1
    )
    conn = store._connection()
    # "packages"/"provided" are common through their stems (the index's own tokenizer)
    terms = ["packages", "zephyrine", "provided", "description", "quokka", "absentword"]
    assert selector.select(conn, terms, 301) == ["zephyrine", "quokka", "absentword"]


def test_rarity_is_read_again_after_a_large_change(store: CorpusStore) -> None:
    selector = TermSelector(
        "corpus_fts", "porter unicode61 remove_diacritics 2", max_terms=2, common_fraction=0.1
    )
    conn = store._connection()
    terms = ["zephyrine", "quokka", "library"]
    assert selector.select(conn, terms, 301) == ["zephyrine", "quokka"]
    store.add_documents("c", [Document(f"z{i}", f"zephyrine item {i}") for i in range(400)])
    # under `refresh_change` (10%) more passages: rarity is not read again
    assert selector.select(conn, terms, 320) == ["zephyrine", "quokka"]
    # 701 passages: read again, and zephyrine is now common
    assert selector.select(conn, terms, 701) == ["quokka", "library"]


def test_search_with_a_long_query_finds_the_rare_match(store: CorpusStore) -> None:
    query = (
        "Please compile every package whose description provides a software library tool and "
        "whose version mentions the zephyrine quokka, with package name, version and section "
        "for each entry in one table"
    )
    assert len(query_terms(query)) > store._terms.max_terms
    hits = store.search(query, 3)
    assert hits[0].doc_id == "rare"
