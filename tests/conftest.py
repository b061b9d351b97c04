"""Shared fixtures: isolated data/cache dirs so tests never touch the user's files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, serve

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("WIDESEEK_") and key != "WIDESEEK_CACHE_DIR":
            monkeypatch.delenv(key)
    for key in ("BRAVE_API_KEY", "BRAVE_SEARCH_API_KEY", "TAVILY_API_KEY", "SERPER_API_KEY"):
        monkeypatch.delenv(key, raising=False)  # web backends found in the environment
    monkeypatch.setenv("WIDESEEK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    """A real HTTP server on 127.0.0.1 playing an OpenAI-compatible server."""
    yield from serve()


@pytest.fixture(scope="session")
def minilm_encoder() -> Iterator[object]:
    """The real all-MiniLM-L6-v2 encoder (loaded once per test session)."""
    from retriever.encoder import MiniLMEncoder

    encoder = MiniLMEncoder()
    yield encoder
    encoder.close()
