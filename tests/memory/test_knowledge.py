from __future__ import annotations

import asyncio
import csv
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from memory import KnowledgeCache, KnowledgeCacheError, RunStore, tool_cache_key
from memory.knowledge import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path) -> KnowledgeCache:
    return KnowledgeCache(tmp_path / "knowledge.db")


# -- facts ---------------------------------------------------------------------------------


def test_facts_round_trip_and_dedup(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    with KnowledgeCache(path) as cache:
        cache.add_document("wiki:Paris", "https://en.wikipedia.org/wiki/Paris", "Paris", "wiki")
        first = cache.record_fact(
            "Paris", "capital of", "France", "wiki:Paris", "run-1", confidence=0.6, time=100.0
        )
        # the same fact, spelled differently, from a later run: one row, new time/confidence
        again = cache.record_fact(
            "  paris ", "Capital  OF", "france", "wiki:Paris", "run-2", confidence=0.9, time=200.0
        )
        other_source = cache.record_fact(
            "Paris", "capital of", "France", "wiki:France", "run-2", confidence=0.5
        )
        population = cache.record_fact("Paris", "population", "2,102,650", "wiki:Paris")
        assert again == first
        assert len({first, other_source, population}) == 3

    with KnowledgeCache(path) as cache:  # reopened: nothing lost
        facts = cache.facts_about("PARIS", "capital of")
        assert [f.id for f in facts] == [first, other_source]
        top = facts[0]
        assert (top.subject, top.attribute, top.value) == ("Paris", "capital of", "France")
        assert (top.confidence, top.time, top.run_id) == (0.9, 200.0, "run-1")
        assert top.url == "https://en.wikipedia.org/wiki/Paris" and top.title == "Paris"
        assert facts[1].url == ""  # its document was never added
        assert len(cache.facts_about("paris")) == 3
        assert cache.facts_about("Lyon") == []
        assert [f.id for f in cache.all_facts()] == [first, other_source, population]
        assert [f.id for f in cache.all_facts(since_id=other_source)] == [population]
        assert cache.stats()["facts"] == 3


def test_facts_keep_their_passage(cache: KnowledgeCache) -> None:
    cache.add_document("wiki:Paris", "https://p", "Paris", "wiki")
    cache.add_passages("wiki:Paris", [(10, 60, "Paris is the capital and largest city of France.")])
    with_span = cache.record_fact("Paris", "capital of", "France", "wiki:Paris", start=10, end=60)
    without = cache.record_fact("Paris", "largest city of", "France", "wiki:Paris")
    spanned, bare = cache.facts_by_ids([with_span, without])
    assert (spanned.start, spanned.end) == (10, 60)
    assert spanned.passage == "Paris is the capital and largest city of France."
    assert bare.start is None and bare.passage is None
    assert spanned.text() == "Paris — capital of: France"
    # recorded again without a span: the known span is kept
    cache.record_fact("paris", "Capital of", "france", "wiki:Paris")
    assert cache.facts_by_ids([with_span])[0].start == 10
    assert cache.facts_by_ids([without, 999, with_span]) == [
        bare,
        cache.facts_by_ids([with_span])[0],
    ]
    assert cache.fact_ids() == [with_span, without]
    with pytest.raises(ValueError, match="span"):
        cache.record_fact("Paris", "x", "y", "wiki:Paris", start=5)
    with pytest.raises(ValueError, match="span"):
        cache.record_fact("Paris", "x", "y", "wiki:Paris", start=5, end=2)


def test_stored_answers(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    with KnowledgeCache(path, default_ttl=100.0) as cache:
        payload = {"citations": [{"n": 1, "source_id": "w:fr"}], "tool_scopes": {"search": "v1"}}
        assert cache.put_answer("Capital of  FRANCE?", "models=a", "Paris [1].", payload, "r1",
                                now=1000.0)  # fmt: skip
        # the question is matched after normalisation, within its scope and lifetime
        got = cache.get_answer("capital of france?", "models=a", now=1050.0)
        assert got is not None and got.answer == "Paris [1]." and got.payload == payload
        assert (got.run_id, got.created_at, got.expires_at) == ("r1", 1000.0, 1100.0)
        assert cache.get_answer("capital of france?", "models=b", now=1050.0) is None
        assert cache.get_answer("capital of france?", "models=a", now=1100.0) is None
        assert cache.purge_expired(now=1100.0) == 1
        # ttl 0: depends on now, never stored, and drops an older answer
        cache.put_answer("What time is it?", "s", "noon", {}, ttl=None)
        assert cache.get_answer("What time is it?", "s") is not None
        assert cache.put_answer("What time is it?", "s", "later", {}, ttl=0) is False
        assert cache.get_answer("What time is it?", "s") is None
        cache.put_answer("Forever?", "s", "yes", {}, ttl=None)
    with KnowledgeCache(path, default_ttl=None) as cache:  # reopened: kept, never expires
        cache.put_answer("Forever?", "s", "yes", {})
        assert cache.get_answer("Forever?", "s", now=1e12) is not None
        with pytest.raises(ValueError):
            cache.put_answer("  ", "s", "x", {})


def test_version_1_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    with KnowledgeCache(path) as cache:
        kept = cache.record_fact("Paris", "capital of", "France", "wiki:Paris", "r1")
    conn = sqlite3.connect(path)  # make it a version-1 file: no spans, no answers, no instance id
    conn.executescript(
        'ALTER TABLE facts DROP COLUMN "start"; ALTER TABLE facts DROP COLUMN "end"; '
        "DROP TABLE answers; DELETE FROM meta WHERE key = 'instance_id'; "
        "UPDATE meta SET value = '1' WHERE key = 'version';"
    )
    conn.close()
    with KnowledgeCache(path) as cache:
        assert cache.stats()["schema_version"] == SCHEMA_VERSION
        fact = cache.facts_by_ids([kept])[0]
        assert (fact.subject, fact.start) == ("Paris", None)
        assert cache.instance_id()
        cache.put_answer("q", "s", "a", {})
        cache.record_fact("Lyon", "country", "France", "wiki:Lyon", start=0, end=4)
    meta = dict(sqlite3.connect(path).execute("SELECT key, value FROM meta").fetchall())
    assert meta["version"] == str(SCHEMA_VERSION)


def test_record_facts_is_one_transaction(cache: KnowledgeCache) -> None:
    ids = cache.record_facts(
        [
            {"subject": "Rome", "attribute": "country", "value": "Italy", "source_id": "w:Rome"},
            {"subject": "Oslo", "attribute": "country", "value": "Norway", "source_id": "w:Oslo"},
        ]
    )
    assert len(ids) == 2
    with pytest.raises(ValueError, match="confidence"):
        cache.record_facts(
            [
                {"subject": "Bern", "attribute": "country", "value": "CH", "source_id": "w:Bern"},
                {"subject": "X", "attribute": "y", "value": "z", "source_id": "s", "confidence": 2},
            ]
        )
    assert cache.facts_about("Bern") == []
    with pytest.raises(ValueError, match="source_id"):
        cache.record_fact("Bern", "country", "Switzerland", "")


def test_lexical_fact_search(cache: KnowledgeCache) -> None:
    cache.add_document("wiki:France", "https://fr.example", "France")
    paris = cache.record_fact("Paris", "capital of", "France", "wiki:France")
    cache.record_fact("Berlin", "capital of", "Germany", "wiki:Germany")
    cache.record_fact("Paris", "population", "2.1 million", "wiki:Paris")
    cache.record_fact("Marie Curie", "born in", "Warsaw", "wiki:Curie")
    cache.record_fact("Zürich", "country", "Switzerland", "wiki:Zurich")

    hits = cache.search_facts("What is the capital of France?", limit=5)
    assert hits[0].id == paris
    assert hits[0].url == "https://fr.example"
    assert all(h.score is not None for h in hits)
    assert [h.score for h in hits] == sorted((h.score or 0.0 for h in hits), reverse=True)
    assert [h.subject for h in cache.search_facts("curie")] == ["Marie Curie"]
    assert [h.subject for h in cache.search_facts("zurich")] == ["Zürich"]  # diacritics
    assert paris in {h.id for h in cache.search_facts("capitals")}  # stemming
    # FTS syntax in the text is taken literally, never an error
    assert cache.search_facts('"unbalanced AND (OR NEAR*') == []
    assert cache.search_facts("   ") == []
    # the FTS index follows deletes
    cache.clear("facts")
    assert cache.search_facts("capital France") == []


# -- evidence ------------------------------------------------------------------------------


def test_evidence_links_goals_to_passages(cache: KnowledgeCache) -> None:
    cache.add_document("wiki:Paris", "https://p", "Paris")
    cache.add_passages(
        "wiki:Paris", [(0, 40, "Paris is the capital and largest city of"), (40, 60, "France.")]
    )
    assert [p.start for p in cache.get_passages("wiki:Paris")] == [0, 40]
    first = cache.record_evidence("run-1", "capital of France", "wiki:Paris", 0, 40, "says so")
    cache.record_evidence("run-1", "capital of France", "wiki:France", note="whole page")
    cache.record_evidence("run-2", "population of Paris", "wiki:Paris", 40, 60)
    # the same link again: updated, not duplicated
    assert (
        cache.record_evidence("run-1", "Capital of  France", "wiki:Paris", 0, 40, "sure") == first
    )

    by_goal = cache.evidence_for("capital of france")
    assert [(e.source_id, e.note) for e in by_goal] == [
        ("wiki:Paris", "sure"),
        ("wiki:France", "whole page"),
    ]
    assert by_goal[0].text == "Paris is the capital and largest city of"
    assert by_goal[0].url == "https://p"
    assert by_goal[1].text is None and by_goal[1].start is None
    assert [e.goal for e in cache.evidence_for(run_id="run-2")] == ["population of Paris"]
    assert cache.evidence_for("capital of France", run_id="run-2") == []
    with pytest.raises(ValueError):
        cache.evidence_for()


def test_documents_update_without_losing_fields(cache: KnowledgeCache) -> None:
    cache.add_document("d1", "https://a", "A", "web", fetched_at=1.0)
    cache.add_document("d1", title="A (new)", fetched_at=2.0)
    doc = cache.get_document("d1")
    assert doc is not None
    assert (doc.url, doc.title, doc.corpus, doc.fetched_at) == ("https://a", "A (new)", "web", 2.0)
    assert cache.get_document("nope") is None
    cache.add_passages("d1", [(None, None, "whole text")])
    assert [(p.start, p.end) for p in cache.get_passages("d1")] == [(0, 10)]


# -- tool cache ----------------------------------------------------------------------------


def test_tool_cache_key_normalisation() -> None:
    assert tool_cache_key("search", {"query": " Paris  capital", "k": 5}) == tool_cache_key(
        "search", {"k": 5, "query": "Paris capital"}
    )
    assert tool_cache_key("search", {"query": "a", "k": 5.0}) == tool_cache_key(
        "search", {"query": "a", "k": 5}
    )
    nested = {"filters": {"lang": " en ", "years": (2020, 2021)}, "query": "x"}
    assert tool_cache_key("s", nested) == tool_cache_key(
        "s", {"query": "x", "filters": {"years": [2020, 2021], "lang": "en"}}
    )
    # case, list order, the tool name and the values themselves still count
    assert tool_cache_key("search", {"query": "paris"}) != tool_cache_key(
        "search", {"query": "Paris"}
    )
    assert tool_cache_key("search", {"ids": [1, 2]}) != tool_cache_key("search", {"ids": [2, 1]})
    assert tool_cache_key("search", {"q": "a"}) != tool_cache_key("read", {"q": "a"})
    assert tool_cache_key("search", {"k": True}) != tool_cache_key("search", {"k": 1})


def test_tool_cache_get_put(cache: KnowledgeCache) -> None:
    result = [{"source_id": "wiki:Paris", "text": "Paris is the capital of France.", "score": 1.5}]
    assert cache.get_tool_result("search", {"query": "Paris capital", "k": 5}) is None
    assert cache.put_tool_result("search", {"query": " Paris  capital", "k": 5}, result)
    assert cache.get_tool_result("search", {"k": 5, "query": "Paris capital"}) == result
    assert cache.get_tool_result("search", {"k": 6, "query": "Paris capital"}) is None
    # a new result for the same call replaces the old one
    cache.put_tool_result("search", {"k": 5, "query": "Paris capital"}, [])
    assert cache.get_tool_result("search", {"k": 5, "query": "Paris capital"}) == []
    assert cache.stats()["tool_cache"] == 1
    with pytest.raises(TypeError):
        cache.put_tool_result("search", {}, {"not": "a list"})  # type: ignore[arg-type]


def test_tool_cache_ttl(tmp_path: Path) -> None:
    cache = KnowledgeCache(tmp_path / "k.db", default_ttl=100.0)
    args = {"query": "weather in Paris"}
    cache.put_tool_result("search", args, [{"text": "sunny"}], ttl=10, now=1000.0)
    assert cache.get_tool_result("search", args, now=1009.9) == [{"text": "sunny"}]
    assert cache.get_tool_result("search", args, now=1010.0) is None  # expired
    # ttl=None: the cache's default TTL
    cache.put_tool_result("read", {"url": "u"}, [{"text": "page"}], now=1000.0)
    assert cache.get_tool_result("read", {"url": "u"}, now=1099.0) is not None
    assert cache.get_tool_result("read", {"url": "u"}, now=1100.0) is None
    # purge removes exactly the expired ones
    cache.put_tool_result("read", {"url": "v"}, [{"text": "later"}], now=2000.0)
    assert cache.purge_expired(now=2050.0) == 2
    assert cache.stats()["tool_cache"] == 1
    assert cache.get_tool_result("read", {"url": "v"}, now=2050.0) == [{"text": "later"}]
    # default_ttl=None: never expires
    forever = KnowledgeCache(tmp_path / "k.db", default_ttl=None)
    forever.put_tool_result("read", {"url": "w"}, [], now=0.0)
    assert forever.get_tool_result("read", {"url": "w"}, now=1e12) == []
    with pytest.raises(ValueError):
        cache.put_tool_result("read", {"url": "w"}, [], ttl=-1)


def test_tool_cache_ttl_zero_is_not_cached(cache: KnowledgeCache) -> None:
    args = {"query": "what time is it"}
    assert cache.put_tool_result("clock", args, [{"now": "12:00"}], ttl=0) is False
    assert cache.get_tool_result("clock", args) is None
    # and it drops what an older put left behind
    cache.put_tool_result("clock", args, [{"now": "11:00"}], ttl=60)
    cache.put_tool_result("clock", args, [{"now": "12:00"}], ttl=0)
    assert cache.get_tool_result("clock", args) is None
    assert cache.stats()["tool_cache"] == 0


# -- stats, export, clear ------------------------------------------------------------------


def test_stats_export_clear(cache: KnowledgeCache, tmp_path: Path) -> None:
    cache.add_document("wiki:Paris", "https://p", "Paris", "wiki")
    cache.add_passages("wiki:Paris", [(0, 5, "Paris")])
    cache.record_fact(
        "Paris", "capital of", "France", "wiki:Paris", "r1", confidence=0.8, start=0, end=5
    )
    cache.record_fact("Lyon", "country", 'France, "the" republic', "web:lyon", "r1")
    cache.record_evidence("r1", "capital", "wiki:Paris", 0, 5)
    cache.put_tool_result("search", {"q": "x"}, [{"a": 1}])
    cache.put_answer("Capital of France?", "scope", "Paris [1].", {"citations": []}, "r1")
    stats = cache.stats()
    tables = ("documents", "passages", "facts", "evidence", "tool_cache", "answers")
    assert {k: stats[k] for k in tables} == {
        "documents": 1,
        "passages": 1,
        "facts": 2,
        "evidence": 1,
        "tool_cache": 1,
        "answers": 1,
    }
    assert stats["db_bytes"] > 0 and stats["schema_version"] == SCHEMA_VERSION
    assert stats["last_fact_id"] == 2

    out = tmp_path / "exports" / "facts.jsonl"
    assert cache.export(out) == 2
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records[0]["subject"] == "Paris" and records[0]["confidence"] == 0.8
    assert records[0]["source"] == {
        "source_id": "wiki:Paris",
        "start": 0,
        "end": 5,
        "url": "https://p",
        "title": "Paris",
        "corpus": "wiki",
    }
    assert records[1]["source"]["url"] == ""
    assert cache.export(tmp_path / "facts.csv", format="csv") == 2
    with (tmp_path / "facts.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[1]["value"] == 'France, "the" republic' and rows[0]["corpus"] == "wiki"
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".partial")]

    assert cache.clear("tool_cache") == {"tool_cache": 1}
    assert cache.clear("results") == {"tool_cache": 0, "answers": 1}
    assert cache.clear("facts") == {"facts": 2}
    assert cache.stats()["documents"] == 1
    assert cache.clear("all")["documents"] == 1
    assert all(cache.stats()[k] == 0 for k in ("documents", "passages", "facts", "evidence"))
    # fact ids keep growing after a clear, so an indexer's since_id stays valid
    assert cache.record_fact("Nice", "country", "France", "w:nice") > 2
    cache.vacuum()
    with pytest.raises(ValueError):
        cache.clear("everything")  # type: ignore[arg-type]


# -- concurrency ---------------------------------------------------------------------------

WRITERS = 8
FACTS_EACH = 200


def _write_facts(cache: KnowledgeCache, writer: int) -> list[int]:
    ids = []
    for i in range(FACTS_EACH):
        ids.append(
            cache.record_fact(f"entity {writer}-{i}", "rank", str(i), f"doc:{writer}", f"r{writer}")
        )
        if i % 50 == 0:  # everyone records one shared fact too: deduplicated across writers
            cache.record_fact("shared", "seen by", "everyone", "doc:shared", f"r{writer}")
            cache.put_tool_result("search", {"q": f"{writer} {i}"}, [{"i": i}])
            cache.search_facts(f"entity {i}", limit=3)
    return ids


def _check_all_written(path: Path, writers: int) -> None:
    with KnowledgeCache(path) as cache:
        stats = cache.stats()
        assert stats["facts"] == writers * FACTS_EACH + 1
        assert len(cache.facts_about("shared")) == 1
        assert stats["tool_cache"] == writers * (FACTS_EACH // 50)
        for writer in range(writers):
            got = {f.value for f in cache.all_facts() if f.source_id == f"doc:{writer}"}
            assert got == {str(i) for i in range(FACTS_EACH)}
        assert len(cache.search_facts("entity", limit=10_000)) == writers * FACTS_EACH


def test_concurrent_thread_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"  # not created yet: the writers race to create the schema too
    barrier = threading.Barrier(WRITERS)
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def worker(writer: int) -> None:
        try:
            barrier.wait()
            with KnowledgeCache(path) as cache:
                results[writer] = _write_facts(cache, writer)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    all_ids = [i for ids in results.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == WRITERS * FACTS_EACH
    _check_all_written(path, WRITERS)


async def test_concurrent_asyncio_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    shared = KnowledgeCache(path)  # half the tasks share one instance, half bring their own

    def own(writer: int) -> list[int]:
        with KnowledgeCache(path) as cache:
            return _write_facts(cache, writer)

    tasks = [
        asyncio.to_thread(_write_facts, shared, w) if w % 2 else asyncio.to_thread(own, w)
        for w in range(WRITERS)
    ]
    results = await asyncio.gather(*tasks)
    shared.close()
    assert sum(len(set(ids)) for ids in results) == WRITERS * FACTS_EACH
    _check_all_written(path, WRITERS)


# -- faults --------------------------------------------------------------------------------

_WRITER_SCRIPT = """
import sys
from memory.knowledge import KnowledgeCache

cache = KnowledgeCache(sys.argv[1])
batch = 0
while True:
    cache.record_facts(
        {"subject": f"entity {batch}-{j}", "attribute": "notes", "value": "x" * 400 + str(j),
         "source_id": f"doc:{batch}"}
        for j in range(50)
    )
    cache.put_tool_result("search", {"q": str(batch)}, [{"text": "y" * 4000}])
    batch += 1
    print(batch, flush=True)
"""


@pytest.mark.parametrize("batches_before_kill", [5, 40])
def test_process_killed_mid_write_leaves_a_database_that_opens(
    tmp_path: Path, batches_before_kill: int
) -> None:
    path = tmp_path / "killed.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER_SCRIPT, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    committed = 0
    deadline = time.monotonic() + 120
    try:
        while committed < batches_before_kill:
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read() if proc.stderr else ''}"
            committed = int(line)
            assert time.monotonic() < deadline
    finally:
        proc.kill()  # SIGKILL: no cleanup, no rollback, the WAL is left as it is
        proc.wait()
    assert proc.returncode == -9

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("INSERT INTO facts_fts(facts_fts) VALUES ('integrity-check')")
    conn.close()
    with KnowledgeCache(path) as cache:
        stats = cache.stats()
        # every batch committed before the kill is there, and no batch is there in part
        assert stats["facts"] >= committed * 50 and stats["facts"] % 50 == 0
        assert stats["tool_cache"] >= committed
        per_batch: dict[str, int] = {}
        for fact in cache.all_facts():
            per_batch[fact.source_id] = per_batch.get(fact.source_id, 0) + 1
        assert set(per_batch.values()) == {50}
        for batch in range(committed):
            assert per_batch[f"doc:{batch}"] == 50
            assert cache.get_tool_result("search", {"q": str(batch)}) is not None
        assert len(cache.search_facts("entity", limit=100_000)) == stats["facts"]
        cache.record_fact("after", "the", "crash", "doc:after")  # still writable
        assert cache.facts_about("after")


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    path.write_bytes(b"definitely not a database\n" * 100)
    with pytest.raises(KnowledgeCacheError, match=r"knowledge\.db.*not a SQLite database") as info:
        KnowledgeCache(path)
    assert "\n" not in str(info.value)
    assert "move it aside" in str(info.value)


def test_damaged_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    KnowledgeCache(path).close()
    data = bytearray(path.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)  # keep the header, wreck the pages
    path.write_bytes(bytes(data))
    with pytest.raises(KnowledgeCacheError, match=r"knowledge\.db.*corrupt"):
        KnowledgeCache(path)


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()
    with pytest.raises(KnowledgeCacheError, match=r"other\.db.*not a wideseek knowledge cache"):
        KnowledgeCache(path)
    # untouched, journal mode included
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"invoices"}

    # a meta table naming another schema is foreign too
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('schema', 'something-else'), ('version', '1')")
    conn.execute("DROP TABLE invoices")
    conn.commit()
    conn.close()
    with pytest.raises(KnowledgeCacheError, match="not a wideseek knowledge cache"):
        KnowledgeCache(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.db"
    KnowledgeCache(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", [str(SCHEMA_VERSION + 1)])
    conn.commit()
    conn.close()
    with pytest.raises(KnowledgeCacheError, match=r"newer wideseek.*upgrade"):
        KnowledgeCache(path)


def test_shares_a_file_with_the_run_store(tmp_path: Path) -> None:
    path = tmp_path / "wideseek.db"
    runs = RunStore(path)
    runs.start_run("r1", "q?")
    with KnowledgeCache(path) as cache:
        cache.record_fact("a", "b", "c", "s")
        cache.clear("all")
    assert runs.get_run("r1") is not None
    runs.close()


def test_writers_wait_for_the_lock_then_give_up_clearly(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    KnowledgeCache(path).close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    impatient = KnowledgeCache(path, timeout=0.2)
    with pytest.raises(KnowledgeCacheError, match=r"k\.db stayed locked"):
        impatient.record_fact("a", "b", "c", "s")
    assert impatient.facts_about("a") == []  # readers are not blocked (WAL)
    threading.Timer(0.3, holder.execute, args=("COMMIT",)).start()
    patient = KnowledgeCache(path, timeout=10)
    assert patient.record_fact("a", "b", "c", "s") > 0  # waited for the lock instead of failing
    holder.close()


def test_closed_cache_says_so(tmp_path: Path) -> None:
    cache = KnowledgeCache(tmp_path / "k.db")
    cache.close()
    cache.close()  # idempotent
    with pytest.raises(KnowledgeCacheError, match="closed"):
        cache.stats()


def test_remove_facts_by_id(cache: KnowledgeCache) -> None:
    keep = cache.record_fact("Paris", "capital of", "France", "wiki:Paris", "r1")
    wrong = cache.record_fact("Mongolia", "capital", "Mongolia", "wiki:Russia", "r1")
    assert cache.remove_facts([wrong, wrong, 999]) == 1
    assert cache.fact_ids() == [keep]
    # gone from word search too (the FTS mirror follows the delete)
    assert cache.search_facts("Mongolia") == []
    assert [f.value for f in cache.search_facts("Paris")] == ["France"]
    assert cache.remove_facts([]) == 0
