"""Public tool-retrieval sets as tool cards, training examples and test queries.

Readers for the sets in ``../shared/data/toolret`` (MetaTool, Gorilla APIBench, StableToolBench)
and for any BEIR-format folder. Each gives a `ToolRetrievalSet`: the pooled catalogue as
`ToolCard`s (one per gold id), the *training* queries that may become card examples, and the
*test* queries that are only measured. MetaTool has no published split: its single-tool queries
are split deterministically by a hash of the query text (a fifth held out), so the split is the
same on every machine and no test query is ever an example. Gorilla TorchHub ships a training
file; HuggingFace and StableToolBench ship test queries only, so their cards get no examples.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.cards import ToolCard, ToolExample

__all__ = [
    "SET_NAMES",
    "ToolQuery",
    "ToolRetrievalSet",
    "ToolSetError",
    "default_toolret_dir",
    "load_beir",
    "load_set",
]

SET_NAMES = (
    "metatool_single",
    "metatool_multi",
    "gorilla_torchhub",
    "gorilla_huggingface",
    "stabletoolbench",
)
TEST_SHARE_MOD = 5  # MetaTool: one query in five (by hash) is a test query


class ToolSetError(ValueError):
    """A set's files are missing or malformed."""


@dataclass(frozen=True)
class ToolQuery:
    """A query and the ids of the tools that answer it."""

    id: str
    text: str
    relevant: frozenset[str]


@dataclass
class ToolRetrievalSet:
    """One benchmark: cards (ids parallel to them), training examples and test queries."""

    name: str
    ids: list[str]
    cards: list[ToolCard]
    test: list[ToolQuery]
    train: list[ToolQuery] = field(default_factory=list)

    def cards_with_examples(self, per_tool: int | None = None) -> list[ToolCard]:
        """The cards with the training queries attached as examples (at most `per_tool` each)."""
        by_id: dict[str, list[str]] = {}
        for query in self.train:
            for tool_id in query.relevant:
                by_id.setdefault(tool_id, []).append(query.text)
        cards: list[ToolCard] = []
        for tool_id, card in zip(self.ids, self.cards, strict=True):
            texts = by_id.get(tool_id, [])
            if per_tool is not None:
                texts = texts[:per_tool]
            extra = [ToolExample(query=text) for text in texts]
            cards.append(card.model_copy(update={"examples": [*card.examples, *extra]}))
        return cards


def default_toolret_dir() -> Path:
    """``../shared/data/toolret`` beside the checkout (where the project keeps shared data)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "toolret"


def _card_name(raw: str) -> str:
    """A card name of at most 64 characters (long ids keep a hash suffix to stay distinct)."""
    name = raw.strip() or "tool"
    if len(name) <= 64:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:55]}~{digest}"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ToolSetError(f"missing file {path}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ToolSetError(f"cannot read {path}: {exc}") from exc


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ToolSetError(f"missing file {path}") from exc
    except OSError as exc:
        raise ToolSetError(f"cannot read {path}: {exc}") from exc
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ToolSetError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise ToolSetError(f"{path}:{number}: not a JSON object")
        rows.append(row)
    return rows


def _is_test(text: str) -> bool:
    digest = hashlib.sha256(text.strip().lower().encode()).digest()
    return digest[0] % TEST_SHARE_MOD == 0


# --- MetaTool -----------------------------------------------------------------------------------


def _metatool_cards(root: Path) -> tuple[list[str], list[ToolCard]]:
    descriptions = _read_json(root / "dataset" / "plugin_des.json")
    if not isinstance(descriptions, dict):
        raise ToolSetError("metatool plugin_des.json: expected an object of name -> description")
    info_path = root / "dataset" / "plugin_info.json"
    human: dict[str, str] = {}
    if info_path.exists():
        for entry in _read_json(info_path):
            if isinstance(entry, dict) and entry.get("name_for_model"):
                human[str(entry["name_for_model"])] = str(entry.get("name_for_human") or "")
    ids = [str(name) for name in descriptions]
    cards = [
        ToolCard(
            name=_card_name(name),
            description=str(descriptions[name]),
            source="metatool",
            tags=[human[name]] if human.get(name) else [],
        )
        for name in ids
    ]
    return ids, cards


def _metatool_single_queries(root: Path) -> list[tuple[str, str]]:
    path = root / "dataset" / "data" / "all_clean_data.csv"
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError as exc:
        raise ToolSetError(f"missing file {path}") from exc
    pairs: list[tuple[str, str]] = []
    for row in rows[1:]:
        if len(row) >= 2 and row[0].strip() and row[1].strip():
            pairs.append((row[0].strip(), row[1].strip()))
    return pairs


def _metatool(root: Path, multi: bool) -> ToolRetrievalSet:
    ids, cards = _metatool_cards(root)
    known = set(ids)
    single = [(text, tool) for text, tool in _metatool_single_queries(root) if tool in known]
    train = [
        ToolQuery(f"train-{n}", text, frozenset([tool]))
        for n, (text, tool) in enumerate(single)
        if not _is_test(text)
    ]
    if multi:
        golden = _read_json(root / "dataset" / "data" / "multi_tool_query_golden.json")
        test: list[ToolQuery] = []
        for n, entry in enumerate(golden):
            tools = frozenset(str(t) for t in entry.get("tool", []) if str(t) in known)
            if tools and str(entry.get("query", "")).strip():
                test.append(ToolQuery(f"multi-{n}", str(entry["query"]).strip(), tools))
        name = "metatool_multi"
    else:
        test = [
            ToolQuery(f"single-{n}", text, frozenset([tool]))
            for n, (text, tool) in enumerate(single)
            if _is_test(text)
        ]
        name = "metatool_single"
    train_texts = {q.text.strip().lower() for q in train}
    test = [q for q in test if q.text.strip().lower() not in train_texts]
    return ToolRetrievalSet(name, ids, cards, test, train)


# --- Gorilla APIBench ---------------------------------------------------------------------------

_INSTRUCTION = re.compile(
    r"(?:###\s*Instruction:|'Instruction':)\s*(.*?)\s*(?:###\s*Output|,\s*'Output':|\Z)", re.S
)


def _gorilla_instruction(code: str) -> str:
    match = _INSTRUCTION.search(code)
    text = match.group(1) if match else code
    return " ".join(text.split())


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_flatten(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value)
    return str(value)


def _gorilla_card(api: dict[str, Any], hub: str) -> ToolCard:
    arguments = api.get("api_arguments")
    properties: dict[str, Any] = {}
    if isinstance(arguments, dict):
        properties = {str(k): {"description": _flatten(v)[:200]} for k, v in arguments.items()}
    elif isinstance(arguments, list):
        properties = {str(a)[:60]: {} for a in arguments if str(a).strip()}
    description = " ".join(
        part
        for part in (
            str(api.get("functionality") or ""),
            str(api.get("description") or ""),
            f"Call: {api.get('api_call', '')}",
        )
        if part.strip()
    )
    return ToolCard(
        name=_card_name(str(api.get("api_name") or api.get("api_call") or "api")),
        description=description,
        parameters={"type": "object", "properties": properties},
        source=f"gorilla-{hub}",
        tags=[str(api[key]) for key in ("domain", "framework") if api.get(key)],
    )


def _gorilla(root: Path, hub: str) -> ToolRetrievalSet:
    api_file = {"torchhub": "torchhub_api.jsonl", "huggingface": "huggingface_api.jsonl"}[hub]
    apis = _read_jsonl(root / "data" / "api" / api_file)
    ids: list[str] = []
    cards: list[ToolCard] = []
    seen: set[str] = set()
    for api in apis:
        call = str(api.get("api_call") or "").strip()
        if not call or call in seen:
            continue  # the catalogue lists a few calls twice; the call is the tool's identity
        seen.add(call)
        ids.append(call)
        cards.append(_gorilla_card(api, hub))

    def queries(path: Path, prefix: str) -> list[ToolQuery]:
        out: list[ToolQuery] = []
        for n, row in enumerate(_read_jsonl(path)):
            call = str(row.get("api_call") or "").strip()
            text = _gorilla_instruction(str(row.get("code") or ""))
            if call in seen and text:
                out.append(ToolQuery(f"{prefix}-{n}", text, frozenset([call])))
        return out

    bench = root / "data" / "apibench"
    test = queries(bench / f"{hub}_eval.json", "eval")
    train_path = bench / f"{hub}_train.json"
    train = queries(train_path, "train") if train_path.exists() else []
    train_texts = {q.text.lower() for q in train}
    test = [q for q in test if q.text.lower() not in train_texts]
    return ToolRetrievalSet(f"gorilla_{hub}", ids, cards, test, train)


# --- StableToolBench ----------------------------------------------------------------------------


def _stb_id(tool: str, api: str) -> str:
    return f"{tool.strip()}::{api.strip()}"


def _stb_card(entry: dict[str, Any]) -> ToolCard:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key in ("required_parameters", "optional_parameters"):
        for param in entry.get(key) or []:
            if not isinstance(param, dict) or not param.get("name"):
                continue
            pname = str(param["name"])[:60]
            properties[pname] = {
                "type": str(param.get("type") or "string").lower(),
                "description": str(param.get("description") or "")[:300],
            }
            if key == "required_parameters":
                required.append(pname)
    tool = str(entry.get("tool_name") or "")
    api = str(entry.get("api_name") or "")
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return ToolCard(
        name=_card_name(f"{tool}: {api}"),
        description=str(entry.get("api_description") or ""),
        parameters=schema,
        source="stabletoolbench",
        tags=[t for t in (str(entry.get("category_name") or ""), tool) if t],
    )


def _stabletoolbench(root: Path) -> ToolRetrievalSet:
    folder = root / "solvable_queries" / "test_instruction"
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ToolSetError(f"no query files in {folder}")
    ids: list[str] = []
    cards: list[ToolCard] = []
    index: dict[str, int] = {}
    test: list[ToolQuery] = []
    for path in files:
        for entry in _read_json(path):
            for api in entry.get("api_list") or []:
                key = _stb_id(str(api.get("tool_name", "")), str(api.get("api_name", "")))
                if key not in index:
                    index[key] = len(ids)
                    ids.append(key)
                    cards.append(_stb_card(api))
            relevant = frozenset(
                _stb_id(str(pair[0]), str(pair[1]))
                for pair in entry.get("relevant APIs") or []
                if isinstance(pair, list) and len(pair) == 2
            )
            relevant = frozenset(r for r in relevant if r in index)
            text = str(entry.get("query") or "").strip()
            if relevant and text:
                test.append(ToolQuery(f"{path.stem}-{entry.get('query_id')}", text, relevant))
    return ToolRetrievalSet("stabletoolbench", ids, cards, test, [])


# --- BEIR ---------------------------------------------------------------------------------------


def load_beir(folder: Path, name: str | None = None) -> ToolRetrievalSet:
    """A BEIR-format folder: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv`` (and
    ``qrels/train.tsv``, whose queries become examples)."""
    corpus = _read_jsonl(folder / "corpus.jsonl")
    queries = {
        str(q["_id"]): str(q.get("text") or "")
        for q in _read_jsonl(folder / "queries.jsonl")
        if q.get("_id") is not None
    }
    ids: list[str] = []
    cards: list[ToolCard] = []
    for row in corpus:
        doc_id = "" if row.get("_id") is None else str(row["_id"]).strip()
        if not doc_id:
            raise ToolSetError(f"{folder / 'corpus.jsonl'}: a document without _id")
        ids.append(doc_id)
        title = str(row.get("title") or "").strip()
        cards.append(
            ToolCard(
                name=_card_name(title or doc_id),
                description=str(row.get("text") or ""),
                source="beir",
            )
        )
    known = set(ids)

    def qrels(path: Path) -> list[ToolQuery]:
        if not path.exists():
            return []
        relevant: dict[str, set[str]] = {}
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                parts = line.rstrip("\n").split("\t")
                if number == 1 and parts[0] in ("query-id", "query_id", "qid"):
                    continue
                if len(parts) < 2:
                    continue
                score = parts[2] if len(parts) > 2 else "1"
                try:
                    positive = float(score) > 0
                except ValueError as exc:
                    raise ToolSetError(f"{path}:{number}: score {score!r} is not a number") from exc
                if positive and parts[1] in known:
                    relevant.setdefault(parts[0], set()).add(parts[1])
        return [
            ToolQuery(qid, queries[qid], frozenset(docs))
            for qid, docs in relevant.items()
            if queries.get(qid, "").strip()
        ]

    test = qrels(folder / "qrels" / "test.tsv")
    if not test:
        raise ToolSetError(f"{folder}: qrels/test.tsv names no query with a known document")
    return ToolRetrievalSet(
        name or folder.name, ids, cards, test, qrels(folder / "qrels" / "train.tsv")
    )


def load_set(name: str, root: Path | None = None) -> ToolRetrievalSet:
    """One of `SET_NAMES`, read from `root` (default: `default_toolret_dir()`)."""
    base = root or default_toolret_dir()
    if not base.exists():
        raise ToolSetError(f"tool-retrieval data not found at {base}")
    if name == "metatool_single":
        return _metatool(base / "metatool", multi=False)
    if name == "metatool_multi":
        return _metatool(base / "metatool", multi=True)
    if name == "gorilla_torchhub":
        return _gorilla(base / "gorilla", "torchhub")
    if name == "gorilla_huggingface":
        return _gorilla(base / "gorilla", "huggingface")
    if name == "stabletoolbench":
        return _stabletoolbench(base / "stabletoolbench")
    raise ToolSetError(f"unknown set {name!r}; known: {', '.join(SET_NAMES)}")


def all_sets(names: Iterable[str] = SET_NAMES, root: Path | None = None) -> list[ToolRetrievalSet]:
    return [load_set(name, root) for name in names]
