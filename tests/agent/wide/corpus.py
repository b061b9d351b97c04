"""A small structured corpus for wide-research tests: river pages with labelled fields, pages
that mention rivers without being one, and profile pages in a second corpus (for cells a row's
own page does not state)."""

from __future__ import annotations

from pathlib import Path

from retriever.corpus_store import CorpusStore
from retriever.types import Document

RIVERS = [
    # name, continent, length (km), countries, mouth
    ("Danube", "Europe", "2,850", "Germany, Austria, Hungary, Romania", "Black Sea"),
    ("Rhine", "Europe", "1,230", "Switzerland, Germany, Netherlands", "North Sea"),
    ("Elbe", "Europe", "1,094", "Czech Republic, Germany", "North Sea"),
    ("Volga", "Europe", "3,530", "Russia", "Caspian Sea"),
    ("Thames", "Europe", "346", "United Kingdom", "North Sea"),
    ("Seine", "Europe", "777", "France", "English Channel"),
    ("Nile", "Africa", "6,650", "Egypt, Sudan, Uganda", "Mediterranean Sea"),
    ("Congo", "Africa", "4,700", "DR Congo, Congo", "Atlantic Ocean"),
]


def river_page(name: str, continent: str, length: str, countries: str, mouth: str) -> Document:
    text = (
        f"{name} — river\n"
        f"Region: {continent}\n\n"
        f"The {name} is a river in {continent}.\n\n"
        "River facts:\n"
        f"- Length: {length} km\n"
        f"- Countries: {countries}\n"
        f"- Mouth: {mouth}\n"
        "Basin:\n"
        f"  - area: {int(length.replace(',', '')) * 300:,} sq km\n"
    )
    return Document(f"river/{name}", text, f"https://rivers.example/{name}", f"{name} — river")


def build(tmp_path: Path) -> CorpusStore:
    store = CorpusStore(tmp_path / "corpus.db")
    docs = [river_page(*r) for r in RIVERS]
    docs.append(
        Document(
            "misc/boats",
            "River boats\nRegion: Europe\n\nBoats on European rivers such as the Danube "
            "carry freight.\n",
            "https://misc.example/boats",
            "River boats",
        )
    )
    store.add_documents("rivers", docs)
    store.add_documents(
        "profiles",
        [
            Document(
                f"profile/{name}",
                f"{name}\nProfile of the {name}.\n\nDischarge: {i * 1000 + 500} m3/s\n",
                f"https://profiles.example/{name}",
                name,
            )
            for i, (name, *_rest) in enumerate(RIVERS, 1)
        ],
    )
    return store
