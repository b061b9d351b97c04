"""Shared fixtures: isolated data/cache dirs so tests never touch the user's files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("WIDESEEK_") and key != "WIDESEEK_CACHE_DIR":
            monkeypatch.delenv(key)
    monkeypatch.setenv("WIDESEEK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
