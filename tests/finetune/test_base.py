"""Which base a name means: a Hugging Face folder, a GGUF file, an embedded model name."""

from __future__ import annotations

from pathlib import Path

import pytest

from finetune import FinetuneError, resolve_base
from finetune.base import converted_dir, gguf_of


def test_a_hugging_face_folder_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    resolved = resolve_base(str(tmp_path))
    assert resolved.path == tmp_path and resolved.gguf is None


def test_gguf_files_and_folders_holding_one(tmp_path: Path) -> None:
    gguf = tmp_path / "m" / "model.Q4_1.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF")
    assert gguf_of(str(gguf)) == gguf
    assert gguf_of(str(gguf.parent)) == gguf
    # the converted folder is keyed by the file (path, size, mtime)
    first = converted_dir(gguf, tmp_path / "cache")
    assert first.parent == tmp_path / "cache" and first.name.startswith("model.Q4_1-")
    gguf.write_bytes(b"GGUF, changed")
    assert converted_dir(gguf, tmp_path / "cache") != first


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "neither a Hugging Face model folder"),
        (lambda p: (p / "notes.txt").write_text("x") and p / "notes.txt", "not a .gguf file"),
        (lambda p: p, "a folder without config.json"),
    ],
)
def test_unusable_bases_are_named(tmp_path: Path, make: object, message: str) -> None:
    (tmp_path / "a.gguf").write_bytes(b"")
    (tmp_path / "b.gguf").write_bytes(b"")
    with pytest.raises(FinetuneError, match=message):
        resolve_base(str(make(tmp_path)))  # type: ignore[operator]
