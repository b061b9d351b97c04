"""The embedded backend on the real default model (llama-cpp-python in process)."""

from __future__ import annotations

import importlib.util

import pytest
from pydantic import BaseModel

from agent.llm.base import ModelError, system, user
from agent.llm.embedded import EmbeddedChatModel
from agent.llm.weights import WeightsError, resolve_model_path


class Capital(BaseModel):
    country: str
    capital: str
    population_millions: float


@pytest.fixture(scope="module")
def model() -> EmbeddedChatModel:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install 'wideseek[embedded]'")
    try:
        resolve_model_path()
    except WeightsError as error:
        pytest.skip(f"default weights are not installed: {error}")
    return EmbeddedChatModel(n_ctx=2048)


@pytest.mark.slow
async def test_plain_structured_and_streaming(model: EmbeddedChatModel) -> None:
    await model.check()
    plain = await model.complete(
        [system("Answer in one short sentence."), user("What is the capital of France?")],
        max_tokens=30,
    )
    assert "paris" in plain.text.lower()
    assert plain.usage.prompt_tokens > 0 and plain.usage.completion_tokens > 0

    capital, usage = await model.parse(
        [user("Give the capital of Japan and its population in millions, as JSON.")],
        Capital,
        max_tokens=80,
    )
    assert "tokyo" in capital.capital.lower() and usage.calls >= 1

    chunks = [c async for c in model.stream([user("Count from 1 to 5.")], max_tokens=30)]
    assert len(chunks) > 1 and "3" in "".join(chunks)


async def test_missing_weights_fail_at_check() -> None:
    with pytest.raises(ModelError, match="neither a known embedded model"):
        await EmbeddedChatModel("/no/such.gguf").check()
