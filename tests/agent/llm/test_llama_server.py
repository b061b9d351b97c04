"""The `openai` backend against a real llama-cpp-python server running the default GGUF model."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from agent.llm.base import system, user
from agent.llm.openai import OpenAIChatModel

pytestmark = pytest.mark.slow

STARTUP_S = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _model_path() -> Path:
    missing = [
        m
        for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        pytest.skip(
            f"llama-cpp-python[server] is not installed (missing {', '.join(missing)}); "
            "install it with: pip install 'wideseek[embedded]'"
        )
    from agent.llm.weights import WeightsError, resolve_model_path

    try:
        return resolve_model_path()
    except WeightsError as exc:
        pytest.skip(f"default model weights are not installed: {exc}")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model_path = _model_path()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", "--n_threads", "2",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{tail}")
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"llama_cpp.server did not answer within {STARTUP_S:g} s:\n{tail}")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


async def _model(base_url: str) -> OpenAIChatModel:
    probe = OpenAIChatModel(base_url, "unused", timeout=120.0)
    try:
        (model_id, *_) = await probe.list_models()
    finally:
        await probe.aclose()
    return OpenAIChatModel(base_url, model_id, timeout=120.0, max_retries=1)


async def test_health_and_plain_completion(llama_server: str) -> None:
    model = await _model(llama_server)
    try:
        assert await model.health()
        result = await model.complete(
            [
                system("You answer with as few words as possible."),
                user("What is the capital of France?"),
            ],
            max_tokens=12,
        )
    finally:
        await model.aclose()
    assert "Paris" in result.text
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.calls == 1
    assert result.finish_reason in {"stop", "length"}


class Capital(BaseModel):
    country: str
    capital: str
    in_europe: bool


async def test_structured_auto_mode(llama_server: str) -> None:
    OpenAIChatModel.forget_detected_modes()
    model = await _model(llama_server)
    try:
        result = await model.complete(
            [
                system("You reply with JSON only."),
                user("Give the country France, its capital, and whether it is in Europe."),
            ],
            schema=Capital,
            max_tokens=60,
        )
        mode = model.detected_mode
        again = await model.complete(
            [user("Country: Japan. Give its capital and whether it is in Europe.")],
            schema=Capital,
            max_tokens=60,
        )
    finally:
        await model.aclose()
    assert mode in {"json_object", "tool_call"}
    assert isinstance(result.parsed, Capital)
    assert "Paris" in result.parsed.capital and result.parsed.in_europe is True
    assert isinstance(again.parsed, Capital)
    assert "Tokyo" in again.parsed.capital


async def test_streaming(llama_server: str) -> None:
    model = await _model(llama_server)
    try:
        deltas = [
            d
            async for d in model.stream(
                [user("Count from 1 to 5, separated by spaces.")], max_tokens=20
            )
        ]
    finally:
        await model.aclose()
    text = "".join(deltas)
    assert len(deltas) > 2
    assert "1 2 3" in text or "1, 2, 3" in text
    assert model.last_usage is not None and model.last_usage.completion_tokens > 0
