from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from retriever.corpus_store import CorpusStore, query_terms
from retriever.term_selection import TermSelector
from retriever.types import Document

COMMON = "package provides description software library tool version"


@pytest.fixture
def store(tmp_path: Path) -> CorpusStore:
    s = CorpusStore(tmp_path / "c.db")
    s.add_documents(
        "big",
        [
            Document(f"pkg{i}", f"This package provides software number {i}. {COMMON}.")
            for i in range(300)
        ],
    )
    s.add_documents("small", [Document("rare", "The zephyrine quokka library tool package.")])
    return s


def ranges(store: CorpusStore, *names: str) -> list:
    conn = store._connection()
    return store._ranges(conn, list(names) if names else None)


def selector(**options: object) -> TermSelector:
    return TermSelector("corpus_fts", min_passages=0, **options)  # type: ignore[arg-type]


def test_small_collections_keep_every_word(store: CorpusStore) -> None:
    conn = store._connection()
    terms = ["package", "provides", "quokka"]
    assert TermSelector("corpus_fts").select(conn, terms, [None], 301, "v") == terms


def test_common_words_are_dropped_and_stemming_is_the_index_own(store: CorpusStore) -> None:
    conn = store._connection()
    # "packages"/"provided" are common through their stems (the index's tokenizer)
    terms = ["packages", "zephyrine", "provided", "quokka", "absentword"]
    assert selector().select(conn, terms, [None], 301, "v") == ["zephyrine", "quokka", "absentword"]
    # all of them common: the rarest one stays
    assert selector().select(conn, ["packages", "number"], [None], 301, "v") == ["number"]
    assert selector().document_frequency(conn, "Packages", [None], "v") == 301


def test_frequency_is_counted_within_the_corpora_searched(store: CorpusStore) -> None:
    conn = store._connection()
    small = ranges(store, "small")
    # common in "big", but in "small" it is one passage of one: searching "small" alone keeps
    # it unless everything is that common
    assert selector(common_share=1.0).select(conn, ["package", "quokka"], small, 1, "v") == [
        "package",
        "quokka",
    ]
    assert selector().document_frequency(conn, "package", small, "v") == 1
    assert selector().document_frequency(conn, "package", ranges(store, "big"), "v") == 300


def test_long_queries_keep_their_rarest_words_in_order(store: CorpusStore) -> None:
    conn = store._connection()
    terms = ["zephyrine", "number", "quokka", "absentword", "library"]
    picked = selector(max_terms=3, common_share=1.0).select(conn, terms, [None], 301, "v")
    assert picked == ["zephyrine", "quokka", "absentword"]


def test_counts_are_cached_per_version(store: CorpusStore) -> None:
    conn = store._connection()
    chooser = selector()
    assert chooser.document_frequency(conn, "quokka", [None], "v1") == 1
    store.add_documents("small", [Document("q2", "another quokka")])
    assert chooser.document_frequency(conn, "quokka", [None], "v1") == 1  # cached
    assert chooser.document_frequency(conn, "quokka", [None], "v2") == 2
    assert chooser.document_frequency(conn, 'odd " word', [None], "v2") == 0


def test_a_store_search_at_scale_drops_common_words(tmp_path: Path) -> None:
    s = CorpusStore(tmp_path / "c.db")
    s._terms.min_passages = 100
    s.add_documents("c", [Document(f"d{i}", f"debian package {i}") for i in range(200)])
    s.add_documents("c", [Document("x", "debian package zephyrine")])
    conn = s._connection()
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    hits = s.search("debian package zephyrine", 3)
    conn.set_trace_callback(None)
    assert hits[0].doc_id == "x"
    ranked = [q for q in seen if "ORDER BY rank" in q]
    assert ranked and all('"debian"' not in q and '"zephyrine"' in q for q in ranked)
    assert isinstance(conn, sqlite3.Connection)


def test_long_query_search_finds_the_rare_match(store: CorpusStore) -> None:
    query = (
        "Please compile every package whose description provides a software library tool and "
        "whose version mentions the zephyrine quokka, with package name, version and section "
        "for each entry in one table"
    )
    assert len(query_terms(query)) > 16
    assert store.search(query, 3)[0].doc_id == "rare"
