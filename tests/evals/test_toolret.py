"""Loading tool-retrieval sets: BEIR folders (local fixtures) and the shared public sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.toolret import (
    SET_NAMES,
    ToolQuery,
    ToolRetrievalSet,
    ToolSetError,
    default_toolret_dir,
    load_beir,
    load_set,
)
from tools.cards import ToolCard, ToolExample

CORPUS = [
    {"_id": "weather", "title": "get_weather", "text": "Forecast temperature and rain for a city."},
    {"_id": "fx", "title": "convert_currency", "text": "Convert money between currencies."},
    {"_id": "qr", "text": "Generate a QR code for a URL."},  # no title: named by its id
]
QUERIES = [
    {"_id": "q1", "text": "will it rain in Oslo"},
    {"_id": "q2", "text": "100 USD in EUR and a QR code for my site"},
    {"_id": "q3", "text": "a query whose only document scores 0"},
    {"_id": "t1", "text": "weather tomorrow in Rome"},
    {"_id": "t2", "text": "how many yen is 20 pounds"},
    {"_id": "t3", "text": "temperature in Paris"},
]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def beir_folder(root: Path, *, corpus: str | None = None, test_qrels: str | None = None) -> Path:
    folder = root / "tiny-beir"
    (folder / "qrels").mkdir(parents=True)
    if corpus is None:
        write_jsonl(folder / "corpus.jsonl", CORPUS)
    else:
        (folder / "corpus.jsonl").write_text(corpus, encoding="utf-8")
    write_jsonl(folder / "queries.jsonl", QUERIES)
    (folder / "qrels" / "test.tsv").write_text(
        test_qrels
        if test_qrels is not None
        else "query-id\tcorpus-id\tscore\nq1\tweather\t1\nq2\tfx\t1\nq2\tqr\t2\nq3\tweather\t0\n",
        encoding="utf-8",
    )
    (folder / "qrels" / "train.tsv").write_text(
        "t1\tweather\t1\nt2\tfx\t1\nt3\tweather\t1\nt3\tunknown-doc\t1\n", encoding="utf-8"
    )
    return folder


def test_load_beir_cards_and_test_queries(tmp_path: Path) -> None:
    data = load_beir(beir_folder(tmp_path))
    assert data.name == "tiny-beir"
    assert data.ids == ["weather", "fx", "qr"]
    assert [c.name for c in data.cards] == ["get_weather", "convert_currency", "qr"]
    assert data.cards[0].description == "Forecast temperature and rain for a city."
    assert {q.id: q.relevant for q in data.test} == {
        "q1": frozenset({"weather"}),
        "q2": frozenset({"fx", "qr"}),
    }  # q3's only judgement scores 0: not a test query
    assert next(q for q in data.test if q.id == "q1").text == "will it rain in Oslo"
    assert load_beir(beir_folder(tmp_path / "other"), name="custom").name == "custom"


def test_beir_train_queries_become_examples(tmp_path: Path) -> None:
    data = load_beir(beir_folder(tmp_path))
    assert {q.id for q in data.train} == {"t1", "t2", "t3"}
    cards = data.cards_with_examples()
    assert len(cards) == len(data.cards)
    examples = {data.ids[i]: [e.query for e in c.examples] for i, c in enumerate(cards)}
    assert examples == {
        "weather": ["weather tomorrow in Rome", "temperature in Paris"],
        "fx": ["how many yen is 20 pounds"],
        "qr": [],
    }
    assert data.cards[0].examples == []  # the original cards are not changed
    limited = data.cards_with_examples(per_tool=1)
    assert [e.query for e in limited[0].examples] == ["weather tomorrow in Rome"]


def test_cards_with_examples_keeps_a_card_own_examples() -> None:
    own = ToolExample(query="own example", arguments={"a": 1})
    data = ToolRetrievalSet(
        "s",
        ["x"],
        [ToolCard(name="x", examples=[own])],
        [ToolQuery("q", "test", frozenset({"x"}))],
        [ToolQuery("t", "train text", frozenset({"x"}))],
    )
    assert [e.query for e in data.cards_with_examples()[0].examples] == [
        "own example",
        "train text",
    ]


def test_malformed_corpus_line_names_file_and_line(tmp_path: Path) -> None:
    corpus = json.dumps(CORPUS[0]) + "\n{not json\n"
    with pytest.raises(ToolSetError, match=r"corpus\.jsonl:2: not JSON"):
        load_beir(beir_folder(tmp_path, corpus=corpus))


def test_corpus_line_that_is_not_an_object(tmp_path: Path) -> None:
    corpus = json.dumps(CORPUS[0]) + "\n\n[1, 2]\n"
    with pytest.raises(ToolSetError, match=r"corpus\.jsonl:3: not a JSON object"):
        load_beir(beir_folder(tmp_path, corpus=corpus))


def test_document_without_id(tmp_path: Path) -> None:
    corpus = json.dumps({"title": "nameless", "text": "no id"}) + "\n"
    with pytest.raises(ToolSetError, match="without _id"):
        load_beir(beir_folder(tmp_path, corpus=corpus))


def test_numeric_document_id_zero(tmp_path: Path) -> None:
    corpus = json.dumps({"_id": 0, "text": "doc zero"}) + "\n"
    data = load_beir(beir_folder(tmp_path, corpus=corpus, test_qrels="q1\t0\t1\n"))
    assert data.ids == ["0"]


def test_qrels_naming_no_known_document(tmp_path: Path) -> None:
    qrels = "query-id\tcorpus-id\tscore\nq1\tnope\t1\nq2\talso-nope\t1\n"
    with pytest.raises(ToolSetError, match="names no query with a known document"):
        load_beir(beir_folder(tmp_path, test_qrels=qrels))


def test_qrels_score_not_a_number(tmp_path: Path) -> None:
    qrels = "q1\tweather\t1\nq2\tfx\thigh\n"
    with pytest.raises(ToolSetError, match=r"test\.tsv:2: score 'high' is not a number"):
        load_beir(beir_folder(tmp_path, test_qrels=qrels))


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ToolSetError, match="missing file"):
        load_beir(tmp_path / "nowhere")


def test_unknown_set_name(tmp_path: Path) -> None:
    with pytest.raises(ToolSetError, match="unknown set 'nope'"):
        load_set("nope", root=tmp_path)
    with pytest.raises(ToolSetError, match="not found"):
        load_set("metatool_single", root=tmp_path / "absent")


# --- the shared public sets ---------------------------------------------------------------------

DATA = default_toolret_dir()
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"tool-retrieval data not found at {DATA} (see shared/data/README.md)"
)


@pytest.fixture(scope="module")
def sets() -> dict[str, ToolRetrievalSet]:
    return {name: load_set(name) for name in SET_NAMES}


@needs_data
def test_unknown_set_name_with_real_root() -> None:
    with pytest.raises(ToolSetError, match="known: metatool_single"):
        load_set("nope")


@needs_data
@pytest.mark.parametrize("name", SET_NAMES)
def test_every_set_loads(sets: dict[str, ToolRetrievalSet], name: str) -> None:
    data = sets[name]
    assert data.name == name
    assert len(data.test) > 0
    assert len(data.ids) == len(data.cards) > 0
    assert len(set(data.ids)) == len(data.ids)
    known = set(data.ids)
    for query in [*data.test, *data.train]:
        assert query.relevant and query.relevant <= known, query
        assert query.text.strip()
    assert all(len(card.name) <= 64 for card in data.cards)


@needs_data
@pytest.mark.parametrize("name", ["metatool_single", "metatool_multi"])
def test_metatool_train_and_test_are_disjoint(sets: dict[str, ToolRetrievalSet], name: str) -> None:
    data = sets[name]
    assert data.train
    train = {q.text.strip().lower() for q in data.train}
    examples = {e.query.strip().lower() for c in data.cards_with_examples() for e in c.examples}
    assert train == examples
    leaked = [q.text for q in data.test if q.text.strip().lower() in examples]
    assert leaked == []


@needs_data
def test_metatool_split_is_one_in_five(sets: dict[str, ToolRetrievalSet]) -> None:
    single = sets["metatool_single"]
    share = len(single.test) / (len(single.test) + len(single.train))
    assert 0.15 < share < 0.25
    assert len(sets["metatool_multi"].test) > 0
    assert any(len(q.relevant) > 1 for q in sets["metatool_multi"].test)


@needs_data
def test_which_sets_have_training_queries(sets: dict[str, ToolRetrievalSet]) -> None:
    assert len(sets["gorilla_torchhub"].train) > 0
    assert sets["gorilla_huggingface"].train == []
    assert sets["stabletoolbench"].train == []
    torchhub = sets["gorilla_torchhub"]
    train = {q.text.lower() for q in torchhub.train}
    assert not [q for q in torchhub.test if q.text.lower() in train]


@needs_data
def test_stabletoolbench_catalogue(sets: dict[str, ToolRetrievalSet]) -> None:
    data = sets["stabletoolbench"]
    assert len(data.cards) == 2479
    assert all("::" in tool_id for tool_id in data.ids)
    assert len(data.test) == 765
