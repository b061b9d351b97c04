"""The real default embedded model, shared by the tests that run it (skipped, saying how to
install it, where llama-cpp-python or the weights are missing)."""

from __future__ import annotations

import importlib.util

import pytest

from agent.llm.embedded import EmbeddedChatModel
from agent.llm.weights import WeightsError, resolve_model_path


@pytest.fixture(scope="module")
def embedded_model() -> EmbeddedChatModel:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install 'wideseek[embedded]'")
    try:
        resolve_model_path()
    except WeightsError as error:
        pytest.skip(f"default weights are not installed: {error}")
    return EmbeddedChatModel(n_ctx=2048)
