from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from retriever.corpus_store import (
    AmbiguousDocumentError,
    CorpusError,
    CorpusStore,
    DocumentNotFoundError,
    InvalidCorpusNameError,
    UnknownCorpusError,
    build_match_query,
    query_terms,
)
from retriever.ingest import IngestReport, load_documents
from retriever.types import Document

BENCH_WIKI = Path("/work/shared/bench/corpus/wiki.jsonl.gz")

DOCS = [
    Document(
        "paris",
        "Paris is the capital and largest city of France, on the river Seine.",
        "https://example.org/paris",
        "Paris",
        "test",
    ),
    Document(
        "berlin",
        "Berlin is the capital of Germany. The river Spree flows through it.",
        "https://example.org/berlin",
        "Berlin",
    ),
    Document(
        "seine",
        "The Seine is a river in northern France that flows through Paris to the sea.",
        "https://example.org/seine",
        "Seine",
    ),
    Document(
        "volcano",
        "A volcano is a rupture in the crust where lava and gases escape. Etna erupts often.",
        "",
        "Volcano",
    ),
    Document(
        "2001: A Space Odyssey",
        "A 1968 science fiction film directed by Stanley Kubrick about the monolith and HAL.",
        "https://en.wikipedia.org/wiki/2001:_A_Space_Odyssey",
        "2001: A Space Odyssey",
    ),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CorpusStore]:
    with CorpusStore(tmp_path / "corpus.db") as opened:
        opened.add_documents("demo", DOCS)
        yield opened


def ids(hits: list) -> list[str]:
    return [hit.doc_id for hit in hits]


def long_document(doc_id: str = "long") -> Document:
    paragraphs = [
        f"Paragraph {i} talks about ordinary filler material number {i}." * 4 for i in range(12)
    ]
    paragraphs[7] = "The rare zeppelin hangar stood near the aerodrome with airships. " * 4
    return Document(doc_id, "\n\n".join(paragraphs), title="A long report")


# --- query building -------------------------------------------------------------------------


def test_query_terms_strip_syntax_and_stopwords() -> None:
    assert query_terms('What is the "capital" of France?') == ["capital", "France"]
    assert query_terms("NEAR(a b) AND c* OR ^d: e-f") == ["NEAR", "b", "c", "e", "f"]
    assert query_terms("The Who") == ["The", "Who"]  # all stopwords: keep them
    assert query_terms("🙂 *** \"'") == []
    assert query_terms("Paris paris PARIS") == ["Paris"]
    assert build_match_query(["a", "b"]) == '"a" OR "b"'
    assert build_match_query([]) == ""


# --- search ---------------------------------------------------------------------------------


def test_search_ranks_the_obvious_document_first(store: CorpusStore) -> None:
    assert ids(store.search("capital of France"))[0] == "paris"
    assert ids(store.search("Spree river Germany"))[0] == "berlin"
    assert ids(store.search("lava erupts"))[0] == "volcano"
    hits = store.search("Seine")
    assert ids(hits)[0] == "seine"  # the title match wins
    assert set(ids(hits)) == {"seine", "paris"}
    top = hits[0]
    assert top.corpus == "demo" and top.url == "https://example.org/seine" and top.title == "Seine"
    assert top.score > hits[1].score > 0
    assert {"bm25", "coverage", "title"} <= set(top.scores)
    assert top.text == DOCS[2].text and (top.start, top.end) == (0, len(DOCS[2].text))


def test_search_stems_and_folds_diacritics(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("x", [Document("i", "Izmir is a city. Running dogs.", title="İzmir")])
        assert ids(store.search("izmir")) == ["i"]
        assert ids(store.search("İZMİR")) == ["i"]
        assert ids(store.search("run dog")) == ["i"]


def test_search_k_and_empty_queries(store: CorpusStore) -> None:
    assert len(store.search("river", k=1)) == 1
    assert len(store.search("river capital France city", k=10)) <= len(DOCS)
    assert store.search("") == []
    assert store.search("   ") == []
    assert store.search("!!!") == []
    assert store.search("river", k=0) == []
    assert store.search("zzzzunmatchedzzz") == []


def test_one_hit_per_document_by_default(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("x", [long_document(), Document("other", "filler material")])
        hits = store.search("filler material", k=10)
        assert sorted(ids(hits)) == ["long", "other"]
        many = store.search("filler material", k=10, max_per_document=None)
        assert len([h for h in many if h.doc_id == "long"]) > 1
        assert len(store.search("filler material", k=3, max_per_document=None)) == 3


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        '"unbalanced',
        "AND",
        "OR OR",
        "NOT",
        "a AND",
        "*",
        "paris*",
        "^paris",
        "title:paris",
        "NEAR(paris seine)",
        "(((",
        ")",
        "-paris",
        "+",
        "🙂🙂🙂",
        "👩‍👩‍👧",
        "\x00",
        "\ud800 lone surrogate",
        "ǅ ß ﬁ ² ⅷ",
        "日本語のテキスト",
        "paris " * 500,
        "x" * 10_000,
        "{col1 col2}: x",
        "a'b\"c`d",
        "%_%",
        "; DROP TABLE corpus_documents; --",
    ],
)
def test_odd_queries_never_raise(store: CorpusStore, query: str) -> None:
    assert isinstance(store.search(query), list)
    assert isinstance(store.best_passages("demo", "paris", query), list)


def test_random_queries_never_raise(store: CorpusStore) -> None:
    rng = random.Random(7)
    alphabet = "abcAND OR NOT NEAR*^:\"()-+{}[]\\/'😀é日\t\n.,;"
    for _ in range(300):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        store.search(query, k=rng.randint(1, 20))


def test_corpora_filter_and_unknown_corpus(store: CorpusStore) -> None:
    store.add_documents("other", [Document("o1", "The Seine again, in another corpus.", title="O")])
    assert {h.corpus for h in store.search("Seine", k=10)} == {"demo", "other"}
    assert {h.corpus for h in store.search("Seine", k=10, corpora=["other"])} == {"other"}
    assert {h.corpus for h in store.search("Seine", k=10, corpora=["demo", "other"])} == {
        "demo",
        "other",
    }
    with pytest.raises(UnknownCorpusError) as caught:
        store.search("Seine", corpora=["demo", "nope"])
    assert isinstance(caught.value, CorpusError)
    message = str(caught.value)
    assert "'nope'" in message and "demo, other" in message
    assert store.search("Seine", corpora=[]) == []


def test_corpus_filter_finds_hits_beyond_the_first_candidates(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        crowd = [Document(f"d{i}", f"apple apple apple {i}", title="apple") for i in range(300)]
        store.add_documents("crowd", crowd)
        store.add_documents("rare", [Document("r", "one apple among many words here")])
        assert ids(store.search("apple", k=5, corpora=["rare"])) == ["r"]


# --- writes ---------------------------------------------------------------------------------


def test_readd_replaces_document_and_leaves_no_stale_hits(store: CorpusStore) -> None:
    assert ids(store.search("volcano lava"))[0] == "volcano"
    replaced = Document("volcano", "Now this document is about glaciers and ice.", title="Ice")
    assert store.add_documents("demo", [replaced]) == 1
    assert "volcano" not in ids(store.search("lava Etna rupture"))
    assert ids(store.search("glaciers")) == ["volcano"]
    assert store.get_document("demo", "volcano") == replaced
    info = {c.name: c for c in store.corpora()}["demo"]
    assert info.documents == len(DOCS) and info.passages == len(DOCS)
    store.check()


def test_readd_long_document_with_fewer_passages(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("x", [long_document()])
        before = store.corpora()[0].passages
        assert before > 3
        store.add_documents("x", [Document("long", "short now", title="A long report")])
        assert store.corpora()[0].passages == 1
        assert store.search("zeppelin") == []
        assert store.search("filler") == []
        store.add_documents("x", [long_document(), long_document()])  # duplicate in one batch
        assert store.corpora()[0].passages == before
        store.check()


def test_unchanged_readd_is_a_no_op(store: CorpusStore) -> None:
    before = store.corpora()[0]
    assert store.add_documents("demo", DOCS) == len(DOCS)
    after = store.corpora()[0]
    assert (after.documents, after.passages) == (before.documents, before.passages)
    assert after.updated >= before.updated
    store.check()


def test_remove_document_and_corpus(store: CorpusStore) -> None:
    store.add_documents("other", [Document("o1", "Seine in the other corpus")])
    assert store.remove_document("demo", "seine") is True
    assert store.remove_document("demo", "seine") is False
    assert "seine" not in ids(store.search("Seine", k=10))
    assert store.get_document("demo", "seine") is None
    store.check()

    assert store.remove_corpus("demo") is True
    assert store.remove_corpus("demo") is False
    assert not store.has_corpus("demo") and store.has_corpus("other")
    assert {h.corpus for h in store.search("Seine capital Paris", k=10)} == {"other"}
    assert [c.name for c in store.corpora()] == ["other"]
    store.check()
    with pytest.raises(UnknownCorpusError):
        store.search("Seine", corpora=["demo"])


def test_corpora_info(store: CorpusStore, tmp_path: Path) -> None:
    store.add_documents("big", [long_document()])
    infos = {c.name: c for c in store.corpora()}
    assert set(infos) == {"big", "demo"}
    assert infos["demo"].documents == len(DOCS) and infos["demo"].passages == len(DOCS)
    assert infos["big"].documents == 1 and infos["big"].passages > 3
    assert isinstance(infos["big"].created, datetime)
    assert infos["big"].created.tzinfo is not None
    assert infos["big"].created <= infos["big"].updated


def test_empty_corpus_is_created(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        assert store.add_documents("empty", []) == 0
        assert store.has_corpus("empty")
        assert store.corpora()[0].documents == 0


def test_progress_and_batches(tmp_path: Path) -> None:
    seen: list[int] = []
    docs = [Document(f"d{i}", f"text {i}") for i in range(7)]
    with CorpusStore(tmp_path / "c.db") as store:
        assert store.add_documents("x", docs, progress=seen.append, batch_size=3) == 7
    assert seen == [3, 6, 7]


def test_a_failure_loses_at_most_the_current_batch(tmp_path: Path) -> None:
    def docs() -> Iterator[Document]:
        for i in range(5):
            yield Document(f"d{i}", f"text {i}")
        raise RuntimeError("source broke")

    with CorpusStore(tmp_path / "c.db") as store:
        with pytest.raises(RuntimeError, match="source broke"):
            store.add_documents("x", docs(), batch_size=2)
        assert store.corpora()[0].documents == 4
        with pytest.raises(ValueError, match="empty doc_id"):
            store.add_documents("x", [Document("ok", "fine"), Document("", "no id")])
        assert store.get_document("x", "ok") is None  # that batch rolled back
        store.check()


def test_bad_corpus_name(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        for name in ("", "a:b", "with space", "-dash", "x" * 65):
            with pytest.raises(InvalidCorpusNameError, match="bad corpus name"):
                store.add_documents(name, [])
        assert issubclass(InvalidCorpusNameError, ValueError)


def test_blank_text_nul_and_surrogates_are_stored(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents(
            "x",
            [
                Document("blank", "   ", title="Findable Title"),
                Document("nul", "before\x00after unique", title="N"),
                Document("sur", "bad \ud800 surrogate text", title="S"),
            ],
        )
        assert ids(store.search("findable")) == ["blank"]
        assert ids(store.search("beforeafter")) == ["nul"]
        assert ids(store.search("surrogate")) == ["sur"]
        store.check()


# --- reading --------------------------------------------------------------------------------


def test_get_document(store: CorpusStore) -> None:
    assert store.get_document("demo", "paris") == DOCS[0]
    assert store.get_document("demo", "nope") is None
    assert store.get_document("nope", "paris") is None


def test_best_passages(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("x", [long_document(), Document("other", "zeppelin elsewhere")])
        document = long_document()
        hits = store.best_passages("x", "long", "zeppelin airships", k=3)
        assert len(hits) == 3
        assert "zeppelin" in hits[0].text and hits[0].score > 0
        assert all(h.doc_id == "long" and h.corpus == "x" for h in hits)
        assert all(document.text[h.start : h.end] == h.text for h in hits)
        assert hits[1].score == 0.0 and hits[1].start == 0  # filled in from the start

        fallback = store.best_passages("x", "long", "nothing matches this", k=2)
        assert [h.start for h in fallback] == [0, fallback[1].start]
        assert fallback[1].start > 0 and all(h.score == 0.0 for h in fallback)
        assert store.best_passages("x", "long", "", k=1)[0].start == 0
        assert len(store.best_passages("x", "other", "zeppelin", k=3)) == 1
        with pytest.raises(DocumentNotFoundError):
            store.best_passages("x", "missing", "goal")


def test_resolve(store: CorpusStore) -> None:
    store.add_documents("other", [Document("berlin", "Berlin elsewhere")])
    assert store.resolve("demo:paris") == ("demo", "paris")
    assert store.resolve("paris") == ("demo", "paris")
    assert store.resolve("  demo:paris ") == ("demo", "paris")
    assert store.resolve("2001: A Space Odyssey") == ("demo", "2001: A Space Odyssey")
    assert store.resolve("demo:2001: A Space Odyssey") == ("demo", "2001: A Space Odyssey")
    assert store.resolve("demo:2001:_a_space_odyssey") == ("demo", "2001: A Space Odyssey")
    assert store.resolve("PARIS") == ("demo", "paris")
    assert store.resolve("https://example.org/seine") == ("demo", "seine")
    assert store.resolve("other:berlin") == ("other", "berlin")
    with pytest.raises(AmbiguousDocumentError, match="demo:berlin"):
        store.resolve("berlin")
    with pytest.raises(DocumentNotFoundError, match="'demo:nope'"):
        store.resolve("demo:nope")
    with pytest.raises(DocumentNotFoundError):
        store.resolve("nowhere")


# --- the file -------------------------------------------------------------------------------


def test_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "c.db"
    with CorpusStore(path) as store:
        store.add_documents("demo", DOCS)
    with CorpusStore(path) as store:
        assert ids(store.search("capital of France"))[0] == "paris"
        assert store.corpora()[0].documents == len(DOCS)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_closed_store_raises(tmp_path: Path) -> None:
    store = CorpusStore(tmp_path / "c.db")
    store.add_documents("demo", DOCS)
    store.close()
    store.close()  # idempotent
    with pytest.raises(CorpusError, match="closed"):
        store.search("paris")


def test_not_a_database_raises_corpus_error_lazily(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a sqlite file at all" * 100)
    store = CorpusStore(path)  # opening is lazy: no error yet
    with pytest.raises(CorpusError) as caught:
        store.search("paris")
    message = str(caught.value)
    assert str(path) in message and "wideseek index" in message and "\n" not in message
    with pytest.raises(CorpusError):
        store.corpora()


def test_damaged_database_raises_corpus_error(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with CorpusStore(path) as store:
        store.add_documents("demo", [Document(f"d{i}", f"text {i} " * 300) for i in range(200)])
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 20 * page
    for offset in range(3 * page, len(data) - page, 5 * page):
        data[offset : offset + page] = b"\xde\xad\xbe\xef" * (page // 4)
    path.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match="wideseek index"), CorpusStore(path) as store:
        store.search("text")
        store.corpora()


def test_directory_path_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="directory"):
        CorpusStore(tmp_path).corpora()


def test_concurrent_searches_from_threads(store: CorpusStore) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                assert ids(store.search("capital of France"))[0] == "paris"
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --- a real corpus --------------------------------------------------------------------------


@pytest.mark.skipif(not BENCH_WIKI.exists(), reason=f"{BENCH_WIKI} not present")
def test_bench_wiki_sample(tmp_path: Path) -> None:
    report = IngestReport()
    docs = []
    for doc in load_documents(BENCH_WIKI, report=report):
        docs.append(doc)
        if len(docs) == 500:
            break
    with CorpusStore(tmp_path / "wiki.db") as store:
        assert store.add_documents("wiki", docs) == 500
        assert ids(store.search("capital and largest city of Ghana"))[0] == "wiki/Accra"
        assert ids(store.search("fossilized tree resin gemstone"))[0] == "wiki/Amber"
        assert ids(store.search("Anise"))[0] == "wiki/Anise"
        assert store.resolve("wiki:wiki/Accra") == ("wiki", "wiki/Accra")
        store.check()


def test_optimize_returns_free_pages_and_keeps_results(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with CorpusStore(path) as store:
        store.add_documents("demo", DOCS)
        store.add_documents(
            "bulk", [Document(f"b{i}", f"bulk words {i} " * 200) for i in range(300)]
        )
        store.optimize()
        full = path.stat().st_size
        assert store.remove_corpus("bulk")
        store.optimize()
        assert path.stat().st_size < full / 2
        assert ids(store.search("capital of France"))[0] == "paris"
        store.check()


def test_passage_ids_are_grouped_by_corpus(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("a", [long_document("x")])
        store.add_documents("b", [long_document("y")])
        store.add_documents("a", [long_document("z")])
        conn = sqlite3.connect(tmp_path / "c.db")
        rows = conn.execute(
            "SELECT d.corpus, d.doc_id, min(p.id), max(p.id), count(*) FROM corpus_passages p "
            "JOIN corpus_documents d ON d.id = p.doc GROUP BY p.doc ORDER BY min(p.id)"
        ).fetchall()
        conn.close()
        assert [(corpus, doc) for corpus, doc, *_ in rows] == [("a", "x"), ("a", "z"), ("b", "y")]
        for _, _, low, high, count in rows:
            assert high - low + 1 == count  # a document's passages are consecutive
        assert rows[0][2] >> 40 == rows[1][2] >> 40 != rows[2][2] >> 40
        assert ids(store.search("zeppelin", corpora=["b"])) == ["y"]
        assert sorted(ids(store.search("zeppelin", corpora=["a"]))) == ["x", "z"]
        assert sorted(ids(store.search("zeppelin", corpora="a"))) == ["x", "z"]


def test_passages_by_id_for_dense_indexing(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("a", [long_document("x"), Document("s", "Short text.", title="S")])
        store.add_documents("b", [Document("t", "Another one.", "https://t", "T")])
        all_ids = sorted(store.passage_ids())
        assert store.passage_count() == len(all_ids) and store.passage_count(["b"]) == 1
        assert store.passage_ids(["b"]) == {all_ids[-1]}
        batches = list(store.iter_passages(batch=3))
        assert all(len(rows) <= 3 for rows in batches)
        flat = [row for rows in batches for row in rows]
        assert [pid for pid, _ in flat] == all_ids
        assert flat[-1][1] == "T\nAnother one."
        later = [pid for rows in store.iter_passages(after_id=all_ids[2]) for pid, _ in rows]
        assert later == all_ids[3:]
        only_b = [row for rows in store.iter_passages(corpora=["b"]) for row in rows]
        assert only_b == [(all_ids[-1], "T\nAnother one.")]

        picked = [all_ids[-1], 12345, all_ids[0]]
        hits = store.passages_by_ids(picked)
        assert [(h.corpus, h.doc_id) for h in hits] == [("b", "t"), ("a", "x")]
        assert (hits[0].url, hits[0].title, hits[0].text, hits[0].start) == (
            "https://t",
            "T",
            "Another one.",
            0,
        )
        twin = store.search("Another", 1)[0]
        assert (twin.text, twin.start, twin.end) == (hits[0].text, hits[0].start, hits[0].end)
        assert store.id_ranges() is None and len(store.id_ranges(["a"]) or []) == 1
        with pytest.raises(UnknownCorpusError):
            store.id_ranges(["nope"])


def test_passage_ids_are_never_reused(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents("a", [Document("x", "one"), Document("y", "two")])
        used = store.passage_ids()
        store.remove_document("a", "y")  # the newest document
        store.add_documents("a", [Document("y", "three")])
        assert max(store.passage_ids()) > max(used)
        used |= store.passage_ids()
        store.remove_corpus("a")
        store.add_documents("a", [Document("z", "four")])
        assert not store.passage_ids() & used
        assert store.instance_id() == store.instance_id() != ""


# --- document structure ---------------------------------------------------------------------

_V1_SCHEMA = """
CREATE TABLE corpus_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE corpora (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created REAL NOT NULL,
    updated REAL NOT NULL);
CREATE TABLE corpus_documents (id INTEGER PRIMARY KEY, corpus TEXT NOT NULL, doc_id TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL, UNIQUE (corpus, doc_id));
CREATE INDEX corpus_documents_doc_id ON corpus_documents (doc_id);
CREATE TABLE corpus_passages (id INTEGER PRIMARY KEY, doc INTEGER NOT NULL,
    ordinal INTEGER NOT NULL, start_char INTEGER NOT NULL, end_char INTEGER NOT NULL);
CREATE INDEX corpus_passages_doc ON corpus_passages (doc, ordinal);
CREATE VIEW corpus_passage_content AS
    SELECT p.id AS id, p.doc AS doc, d.title AS title,
           substr(d.text, p.start_char + 1, p.end_char - p.start_char) AS body
    FROM corpus_passages AS p JOIN corpus_documents AS d ON d.id = p.doc;
CREATE VIRTUAL TABLE corpus_fts USING fts5 (title, body, content = 'corpus_passage_content',
    content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
INSERT INTO corpus_fts (corpus_fts, rank) VALUES ('rank', 'bm25(4.0, 1.0)');
INSERT INTO corpus_meta VALUES ('schema_version', '1');
INSERT INTO corpora VALUES (1, 'old', 1.0, 1.0);
INSERT INTO corpus_documents VALUES (1, 'old', 'gizmo', '', 'Gizmo',
    '', 'Name: Gizmo
Colour: teal');
INSERT INTO corpus_passages VALUES (1099511627776, 1, 0, 0, 25);
INSERT INTO corpus_fts (corpus_fts) VALUES ('rebuild');
"""

MANUAL = (
    """# Gadget manual

Gadgets come in several kinds.

## Error codes

Code | Condition | Meaning
"""
    + "\n".join(f"G{n:03d} | condition_{n} | gadget fault number {n}" for n in range(40))
    + """

## Settings

Name: gadget
Colour: orange
"""
)


def _v1_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(_V1_SCHEMA)
    conn.close()


def test_schema_1_is_migrated_in_place_and_old_corpora_must_be_reindexed(tmp_path: Path) -> None:
    from retriever.corpus_store import DOCUMENT_FORMAT, OutdatedCorpusError

    path = tmp_path / "corpus.db"
    _v1_database(path)
    with CorpusStore(path) as store:
        [info] = store.corpora()
        assert (info.name, info.format, info.outdated) == ("old", 1, True)
        [hit] = store.search("teal gizmo")  # the old index still answers
        assert (hit.doc_id, hit.text, hit.context) == ("gizmo", "Name: Gizmo\nColour: teal", "")
        document, structure = store.get_structure("old", "gizmo")  # parsed from the text
        assert document.title == "Gizmo"
        assert [b.kind for _, b in structure.blocks()] == ["definitions"]
        with pytest.raises(OutdatedCorpusError, match="--rebuild"):
            store.add_documents("old", [Document("new", "Some new text.")])
        assert store.get_document("old", "new") is None  # nothing mixed in
        store.check()
        assert store.remove_corpus("old")
        store.add_documents("old", [Document("new", MANUAL, title="Gadget manual")])
        assert store.corpus_format("old") == DOCUMENT_FORMAT
        store.check()
    conn = sqlite3.connect(path)
    assert (
        conn.execute("SELECT value FROM corpus_meta WHERE key = 'schema_version'").fetchone()[0]
        == "2"
    )
    conn.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "corpus.db"
    with CorpusStore(path) as store:
        store.add_documents("c", DOCS[:1])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE corpus_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(CorpusError, match="newer"), CorpusStore(path) as store:
        store.corpora()


def test_structure_is_stored_and_table_passages_know_their_columns(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "corpus.db", passage_size=300, passage_overlap=50) as store:
        store.add_documents("m", [Document("gadget", MANUAL, title="Gadget manual")])
        document, structure = store.get_structure("m", "gadget")
        assert document.text == MANUAL
        [(section, table)] = structure.tables()
        assert section.path == ("Gadget manual", "Error codes")
        assert table.columns == ["Code", "Condition", "Meaning"]
        assert len(table.rows) == 40 and table.rows[39] == [
            "G039",
            "condition_39",
            "gadget fault number 39",
        ]
        # a hit on a late row carries the header it was cut away from
        [hit] = store.search("condition_37", k=1)
        assert "G037 | condition_37" in hit.text and not hit.text.startswith("Code |")
        assert hit.context == "Gadget manual > Error codes\nCode | Condition | Meaning"
        assert MANUAL[hit.start : hit.end] == hit.text
        # the columns are searched with the row: a query naming a column finds late rows too
        hits = store.search("meaning G033", k=3)
        assert any("G033" in h.text for h in hits)
        best = store.best_passages("m", "gadget", "orange colour", k=1)
        assert best[0].context == "Gadget manual > Settings"
        with pytest.raises(DocumentNotFoundError):
            store.get_structure("m", "nope")
        # re-adding an unchanged document keeps it; a changed one replaces its structure
        store.add_documents("m", [Document("gadget", MANUAL.replace("orange", "green"))])
        _, again = store.get_structure("m", "gadget")
        assert again.blocks()[-1][1].entries[1].description == "green"  # type: ignore[union-attr]
        store.check()
        assert store.remove_document("m", "gadget")
        store.check()


def test_html_documents_keep_their_parsed_structure(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Ports</title></head><body><h1>Ports</h1>"
        "<table><thead><tr><th>Port</th><th>Service</th></tr></thead>"
        "<tbody><tr><td>22</td><td>ssh</td></tr><tr><td>80</td><td>http</td></tr></tbody>"
        "</table></body></html>",
        encoding="utf-8",
    )
    with CorpusStore(tmp_path / "corpus.db") as store:
        store.add_documents("web", load_documents(page))
        document, structure = store.get_structure("web", "page.html")
        [(section, table)] = structure.tables()
        assert section.path == ("Ports",)
        assert table.header == [["Port", "Service"]] and table.rows == [
            ["22", "ssh"],
            ["80", "http"],
        ]
        assert [document.text[a:b] for a, b in table.row_spans] == ["22 | ssh", "80 | http"]


def test_damaged_structure_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "corpus.db"
    with CorpusStore(path) as store:
        store.add_documents("m", [Document("gadget", MANUAL)])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE corpus_structures SET data = x'00ff'")
    conn.commit()
    conn.close()
    with CorpusStore(path) as store:
        _, structure = store.get_structure("m", "gadget")
        assert len(structure.tables()) == 1


def test_structures_read_from_text_are_read_again_and_markup_ones_are_stored(
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Tides\n=====\n\nTwo a day.\n\nSpring tides\n------------\n\nAt new moon.\n")
    page = tmp_path / "page.html"
    page.write_text("<h1>Tides</h1><table><tr><th>Port</th><th>Range</th></tr>"
                    "<tr><td>Ayr</td><td>3 m</td></tr></table>")  # fmt: skip
    path = tmp_path / "corpus.db"
    with CorpusStore(path) as store:
        store.add_documents("n", load_documents(tmp_path))
        store.add_documents("j", [Document("rec", "Name: Ayr\nRange: 3 m")])
        _, md = store.get_structure("n", "notes.md")  # Setext headings: Markdown mode again
        assert [s.path for s in md.sections()] == [("Tides",), ("Tides", "Spring tides")]
        _, html = store.get_structure("n", "page.html")
        assert html.tables()[0][1].header == [["Port", "Range"]]
        _, record = store.get_structure("j", "rec")
        assert [b.kind for _, b in record.blocks()] == ["definitions"]
    conn = sqlite3.connect(path)
    stored = dict(
        conn.execute(
            "SELECT d.doc_id, s.data FROM corpus_structures AS s "
            "JOIN corpus_documents AS d ON d.id = s.doc"
        ).fetchall()
    )
    conn.close()
    assert stored["notes.md"] == b"markdown" and stored["rec"] == b"text"
    assert len(stored["page.html"]) > 20  # compressed JSON: HTML's structure is not in its text
