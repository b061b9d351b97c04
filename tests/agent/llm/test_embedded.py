"""The embedded backend on the real default model (llama-cpp-python in process)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agent.llm.base import ModelError, system, user
from agent.llm.embedded import EmbeddedChatModel


class Capital(BaseModel):
    country: str
    capital: str
    population_millions: float


@pytest.fixture(scope="module")
def model(embedded_model: EmbeddedChatModel) -> EmbeddedChatModel:
    return embedded_model


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


@pytest.mark.slow
async def test_a_reply_repeating_itself_is_cut_short(model: EmbeddedChatModel) -> None:
    line = "The grey heron waits in the shallow water at the edge of the reed bed every morning."
    reply = await model.complete(
        [user(f"Write this sentence ten times, one after another: {line}")], max_tokens=400
    )
    assert reply.finish_reason == "repetition"
    assert reply.text.count("grey heron") >= 2  # it did repeat, and was stopped
    assert reply.usage.completion_tokens < 200  # not run on to max_tokens


async def test_missing_weights_fail_at_check() -> None:
    with pytest.raises(ModelError, match="neither a known embedded model"):
        await EmbeddedChatModel("/no/such.gguf").check()
