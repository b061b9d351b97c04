"""Fixtures shared by the retriever tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from retriever.encoder import Encoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Encoder]:
    from retriever.onnx_encoder import fast_minilm

    # one ONNX export per test session, shared by the modules that need the real encoder
    model = fast_minilm(tmp_path_factory.getbasetemp() / "onnx-minilm")
    yield model
    model.close()
