"""all-MiniLM-L6-v2 on ONNX Runtime: torch's vectors, exported once, a broken file replaced.

Exporting takes ~15 s (once per module); loading an exported file ~0.5 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from retriever.encoder import MINILM_DIM, MINILM_NAME, MiniLMEncoder
from retriever.onnx_encoder import OnnxMiniLMEncoder, fast_minilm

pytestmark = pytest.mark.slow

TEXTS = [
    "how hot will it be tomorrow",
    "Convert 100 US dollars to euros at today's exchange rate, and also generate a QR code.",
    "ok",
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def exported(onnx_dir: Path) -> Iterator[OnnxMiniLMEncoder]:
    encoder = OnnxMiniLMEncoder(cache_dir=onnx_dir)
    encoder.load()
    yield encoder
    encoder.close()


def onnx_file(folder: Path) -> Path:
    files = sorted(folder.glob("*.onnx"))
    assert len(files) == 1, files
    return files[0]


def test_vectors_match_torch(exported: OnnxMiniLMEncoder, minilm_encoder: MiniLMEncoder) -> None:
    assert exported.name == MINILM_NAME and exported.dim == MINILM_DIM
    ours = exported.encode(TEXTS)
    reference = minilm_encoder.encode(TEXTS)
    assert ours.shape == (3, MINILM_DIM) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() > 0.999, cosines
    # and the texts are not all the same vector
    assert float(ours[0] @ ours[1]) < 0.9


def test_second_instance_loads_without_export(
    exported: OnnxMiniLMEncoder, onnx_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = onnx_file(onnx_dir)
    before = path.stat().st_mtime_ns

    def no_export(self: OnnxMiniLMEncoder, target: Path) -> None:
        raise AssertionError(f"exported again to {target}")

    monkeypatch.setattr(OnnxMiniLMEncoder, "_export", no_export)
    second = OnnxMiniLMEncoder(cache_dir=onnx_dir)
    second.load()
    assert path.stat().st_mtime_ns == before
    assert sorted(onnx_dir.iterdir()) == [path]  # no partial files left beside it
    np.testing.assert_allclose(second.encode(TEXTS), exported.encode(TEXTS), atol=1e-5)
    second.close()


def test_fast_minilm_picks_onnx_when_it_loads(exported: OnnxMiniLMEncoder, onnx_dir: Path) -> None:
    encoder = fast_minilm(onnx_dir)
    assert isinstance(encoder, OnnxMiniLMEncoder)
    encoder.close()


def test_garbage_model_file_is_replaced(
    exported: OnnxMiniLMEncoder, onnx_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name = onnx_file(onnx_dir).name  # where an instance on `tmp_path` looks for its model
    broken = tmp_path / name
    broken.write_bytes(b"\x00junk, not an ONNX graph\xff" * 1000)
    encoder = OnnxMiniLMEncoder(cache_dir=tmp_path)
    with caplog.at_level("WARNING", logger="retriever.onnx_encoder"):
        vectors = encoder.encode(TEXTS)
    assert any("unusable" in r.getMessage() for r in caplog.records)
    assert broken.stat().st_size > 1_000_000
    assert b"junk, not an ONNX graph" not in broken.read_bytes()[:64]
    np.testing.assert_allclose(vectors, exported.encode(TEXTS), atol=1e-5)
    encoder.close()
