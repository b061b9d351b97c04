"""The `openai` backend against a real HTTP server on 127.0.0.1 that plays an OpenAI server.

The server (stdlib ThreadingHTTPServer in a thread) records every request and answers with
whatever the test's `script` returns, so each test scripts one behaviour: retries, errors,
structured-mode detection, SSE streaming, stalls.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from agent.llm.base import Message, ModelError, StructuredOutputError, system, user
from agent.llm.openai import OpenAIChatModel
from tests.fake_openai import FakeOpenAI, Reply, Request, chat, error


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class City(BaseModel):
    name: str
    country: str
    population: int


CITY = '{"name": "Paris", "country": "France", "population": 2100000}'
MESSAGES = [system("You are terse."), user("Tell me about Paris.")]


@pytest.fixture
async def make_model(server: FakeOpenAI) -> Any:
    models: list[OpenAIChatModel] = []
    OpenAIChatModel.forget_detected_modes()  # ports get reused; start every test undetected

    def make(**kwargs: Any) -> OpenAIChatModel:
        kwargs.setdefault("backoff", 0.001)
        kwargs.setdefault("timeout", 5.0)
        model = OpenAIChatModel(kwargs.pop("base_url", server.url), "test-model", **kwargs)
        models.append(model)
        return model

    yield make
    for model in models:
        await model.aclose()


# --------------------------------------------------------------------------- plain calls


async def test_plain_reply_with_usage(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(body=chat("Paris is the capital.", usage=(12, 5)))
    model = make_model(extra_body={"top_k": 20})

    result = await model.complete(MESSAGES, max_tokens=32, temperature=0.2, stop=["\n\n"])

    assert result.text == "Paris is the capital."
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 5)
    assert result.usage.calls == 1
    assert 0 < result.usage.seconds < 5
    (req,) = server.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.body["model"] == "test-model"
    assert req.body["messages"] == [m.to_dict() for m in MESSAGES]
    assert req.body["max_tokens"] == 32
    assert req.body["temperature"] == 0.2
    assert req.body["stop"] == ["\n\n"]
    assert req.body["top_k"] == 20  # extra_body is merged in
    assert "response_format" not in req.body and "tools" not in req.body
    assert "authorization" not in req.headers


async def test_missing_usage_counts_one_call(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(body=chat("ok", usage=None))
    result = await make_model().complete(MESSAGES)
    assert result.text == "ok"
    assert (result.usage.total_tokens, result.usage.calls) == (0, 1)


async def test_429_twice_then_success_honours_retry_after(
    server: FakeOpenAI, make_model: Any
) -> None:
    def script(req: Request) -> Reply:
        if len(server.requests) <= 2:
            return error(429, "slow down", **{"Retry-After": "0.3"})
        return Reply(body=chat("finally"))

    server.script = script
    started = time.monotonic()
    result = await make_model(max_retries=3, backoff=0.001).complete(MESSAGES)
    elapsed = time.monotonic() - started

    assert result.text == "finally"
    assert len(server.requests) == 3
    assert elapsed >= 0.55  # two waits of Retry-After 0.3 s, not the 1 ms backoff
    assert elapsed < 3


async def test_500_forever_gives_one_clear_error(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(
        status=500,
        body={
            "detail": 'Traceback (most recent call last):\n  File "x.py", line 1\n'
            "RuntimeError: model crashed"
        },
    )
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        await make_model(max_retries=2).complete(MESSAGES)
    message = str(info.value)

    assert len(server.requests) == 3  # one try + max_retries
    assert time.monotonic() - started < 2
    assert "\n" not in message
    assert f"{server.url}/chat/completions" in message
    assert "HTTP 500" in message and "3 attempt" in message
    assert "RuntimeError: model crashed" in message
    assert "Traceback" not in message


LLAMA_CPP_500 = {  # what llama-cpp-python's server really sends for a json_schema request
    "error": {
        "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
        "'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\"}\n\n"
        '  File "/venv/lib/python3.11/site-packages/llama_cpp/server/app.py", line 1, in f\n'
        "    raise exc\n",
        "type": "internal_server_error",
    }
}


async def test_traceback_frames_are_cut_from_messages(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(status=500, body=LLAMA_CPP_500)
    with pytest.raises(ModelError) as info:
        await make_model(max_retries=0, structured_mode="json_schema").complete(
            MESSAGES, schema=City
        )
    message = str(info.value)
    assert "Input should be 'text' or 'json_object'" in message
    assert "File " not in message and "raise exc" not in message and "\n" not in message


async def test_400_fails_at_once_with_server_message(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: error(400, "max_tokens is too large: 99999")
    with pytest.raises(ModelError) as info:
        await make_model(max_retries=3).complete(MESSAGES)

    assert len(server.requests) == 1
    assert "HTTP 400" in str(info.value)
    assert "max_tokens is too large: 99999" in str(info.value)


async def test_stall_longer_than_timeout_is_bounded(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(body=chat("too late"), delay=30)
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        await make_model(timeout=0.3, max_retries=1).complete(MESSAGES)

    assert time.monotonic() - started < 2.5
    assert len(server.requests) == 2
    assert "timed out" in str(info.value)
    assert server.url in str(info.value)


async def test_connection_refused_is_retried_then_model_error(make_model: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        await make_model(base_url=url, max_retries=2).complete(MESSAGES)

    assert "connection failed" in str(info.value) and "3 attempt" in str(info.value)
    assert time.monotonic() - started < 3


async def test_api_key_sent_but_never_in_errors(server: FakeOpenAI, make_model: Any) -> None:
    key = "sk-test-SECRET-0123456789"
    server.script = lambda req: error(401, f"Incorrect API key provided: {key}")
    model = make_model(api_key=key)

    with pytest.raises(ModelError) as info:
        await model.complete(MESSAGES)
    assert server.requests[0].headers["authorization"] == f"Bearer {key}"
    assert len(server.requests) == 1  # 401 is not retried
    assert "HTTP 401" in str(info.value)
    assert key not in str(info.value) and "SECRET" not in str(info.value)

    # a 401 while probing structured modes stops the probe instead of trying other modes
    with pytest.raises(ModelError) as info:
        await model.complete(MESSAGES, schema=City)
    assert key not in str(info.value)
    assert len(server.requests) == 2

    server.script = lambda req: Reply(status=503, body=f"overloaded {key}")
    with pytest.raises(ModelError) as info:
        await model.complete(MESSAGES)
    assert key not in str(info.value)

    server.script = lambda req: Reply(body=chat("x"), delay=30)
    model_slow = make_model(api_key=key, timeout=0.2, max_retries=0)
    with pytest.raises(ModelError) as info:
        await model_slow.complete(MESSAGES)
    assert key not in str(info.value)

    refused = make_model(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=key)
    with pytest.raises(ModelError) as info:
        await refused.complete(MESSAGES)
    assert key not in str(info.value)
    assert key not in repr(model) and key not in str(vars(model).get("headers", ""))


# --------------------------------------------------------------------------- structured output


async def test_auto_detects_json_object_when_json_schema_gets_500(
    server: FakeOpenAI, make_model: Any
) -> None:
    def script(req: Request) -> Reply:
        kind = req.body.get("response_format", {}).get("type")
        if kind == "json_schema":
            return Reply(status=500, body=LLAMA_CPP_500)
        if kind == "json_object":
            assert req.body["response_format"]["schema"]["required"] == [
                "name",
                "country",
                "population",
            ]
            return Reply(body=chat(CITY))
        return error(400, "unexpected request")

    server.script = script
    model = make_model(max_retries=3)
    assert model.detected_mode is None

    result = await model.complete(MESSAGES, schema=City)
    assert result.parsed == City(name="Paris", country="France", population=2_100_000)
    assert model.detected_mode == "json_object"
    assert len(server.requests) == 2  # the 500 of the probe is not retried

    await model.complete(MESSAGES, schema=City)
    assert len(server.requests) == 3  # straight to json_object
    assert server.requests[-1].body["response_format"]["type"] == "json_object"

    # the detection is shared by every model object for the same endpoint and model
    assert make_model().detected_mode == "json_object"


async def test_auto_falls_back_to_tool_call(server: FakeOpenAI, make_model: Any) -> None:
    def script(req: Request) -> Reply:
        if "response_format" in req.body:
            return error(400, "response_format is not supported")
        if "tools" in req.body:
            return Reply(body=chat(None, tool_args=CITY, finish="tool_calls"))
        return Reply(body=chat("Paris is big."))

    server.script = script
    model = make_model()
    parsed, usage = await model.parse(MESSAGES, City)

    assert parsed.name == "Paris"
    assert model.detected_mode == "tool_call"
    assert usage.calls == 1
    kinds = [r.body.get("response_format", {}).get("type") for r in server.requests]
    assert kinds == ["json_schema", "json_object", None]
    tool_req = server.requests[-1].body
    (tool,) = tool_req["tools"]
    assert tool["function"]["parameters"]["properties"].keys() == {"name", "country", "population"}
    assert tool_req["tool_choice"] == {
        "type": "function",
        "function": {"name": tool["function"]["name"]},
    }

    await model.parse(MESSAGES, City)
    assert len(server.requests) == 4 and "tools" in server.requests[-1].body


async def test_auto_skips_a_mode_whose_reply_is_not_json(
    server: FakeOpenAI, make_model: Any
) -> None:
    def script(req: Request) -> Reply:
        kind = req.body.get("response_format", {}).get("type")
        if kind == "json_schema":  # accepted but ignored: prose comes back
            return Reply(body=chat("Paris is a city in France.", usage=(20, 8)))
        return Reply(body=chat(CITY, usage=(20, 9)))

    server.script = script
    model = make_model()
    result = await model.complete(MESSAGES, schema=City)

    assert model.detected_mode == "json_object"
    assert isinstance(result.parsed, City)
    assert result.usage.completion_tokens == 17  # the wasted probe's tokens still count


async def test_auto_falls_back_to_prompt(server: FakeOpenAI, make_model: Any) -> None:
    def script(req: Request) -> Reply:
        if "response_format" in req.body or "tools" in req.body:
            return error(422, "unknown field")
        return Reply(body=chat(f"Sure!\n```json\n{CITY}\n```"))

    server.script = script
    model = make_model()
    result = await model.complete([user("Paris?")], schema=City)

    assert model.detected_mode == "prompt"
    assert isinstance(result.parsed, City)
    sent = server.requests[-1].body["messages"]
    assert sent[0]["role"] == "system" and '"population"' in sent[0]["content"]
    assert sent[1] == {"role": "user", "content": "Paris?"}

    await model.complete(MESSAGES, schema=City)  # an existing system prompt gets the schema
    first = server.requests[-1].body["messages"][0]
    assert first["content"].startswith("You are terse.") and '"population"' in first["content"]


async def test_explicit_json_schema_mode_payload(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(body=chat(CITY))
    model = make_model(structured_mode="json_schema")
    assert model.detected_mode == "json_schema"
    await model.complete(MESSAGES, schema=City)

    (req,) = server.requests
    fmt = req.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"]
    assert set(fmt["json_schema"]["schema"]["properties"]) == {"name", "country", "population"}


async def test_explicit_mode_does_not_fall_back(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: error(400, "json_schema is not supported here")
    with pytest.raises(ModelError, match="json_schema is not supported here"):
        await make_model(structured_mode="json_schema").complete(MESSAGES, schema=City)
    assert len(server.requests) == 1


async def test_structured_end_to_end_through_repair(server: FakeOpenAI, make_model: Any) -> None:
    replies = iter(
        [
            chat('{"name": "Paris", "country": "France"}', usage=(30, 10)),  # missing a field
            chat(CITY, usage=(60, 12)),
        ]
    )
    server.script = lambda req: Reply(body=next(replies))
    model = make_model()

    result = await model.complete(MESSAGES, schema=City, max_tokens=64)

    assert result.parsed == City(name="Paris", country="France", population=2_100_000)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (90, 22)
    assert result.usage.calls == 2
    assert model.detected_mode == "json_schema"  # the first reply was JSON, so the mode works
    retry = server.requests[1].body["messages"]
    assert retry[-2]["role"] == "assistant"
    assert "population" in retry[-1]["content"] and "not valid" in retry[-1]["content"]


async def test_structured_gives_up_after_one_repair(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(body=chat("I cannot answer that."))
    with pytest.raises(StructuredOutputError):
        await make_model(structured_mode="json_object").complete(MESSAGES, schema=City)
    assert len(server.requests) == 2


async def test_concurrent_first_calls_probe_once(server: FakeOpenAI, make_model: Any) -> None:
    def script(req: Request) -> Reply:
        if req.body.get("response_format", {}).get("type") == "json_schema":
            return Reply(status=500, body={"detail": "no"})
        return Reply(body=chat(CITY))

    server.script = script
    model = make_model()
    results = await asyncio.gather(*(model.complete(MESSAGES, schema=City) for _ in range(3)))

    assert all(isinstance(r.parsed, City) for r in results)
    kinds = [r.body["response_format"]["type"] for r in server.requests]
    assert kinds.count("json_schema") == 1 and kinds.count("json_object") == 3


# --------------------------------------------------------------------------- streaming


def sse_chunk(content: str | None = None, finish: str | None = None) -> str:
    delta = {} if content is None else {"content": content}
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


async def test_stream_deltas_and_final_usage(server: FakeOpenAI, make_model: Any) -> None:
    usage_chunk = json.dumps(
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}
    )
    server.script = lambda req: Reply(
        sse=[
            json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
            sse_chunk("Par"),
            sse_chunk("is"),
            sse_chunk("!"),
            sse_chunk(finish="stop"),
            usage_chunk,
            "[DONE]",
        ]
    )
    model = make_model()
    deltas = [d async for d in model.stream(MESSAGES, max_tokens=16)]

    assert deltas == ["Par", "is", "!"]
    assert model.last_usage is not None
    assert (model.last_usage.prompt_tokens, model.last_usage.completion_tokens) == (9, 3)
    assert model.last_finish_reason == "stop"
    body = server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 16


async def test_stream_without_usage_chunk(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(
        sse=[sse_chunk("a"), sse_chunk("b"), sse_chunk(finish="length"), "[DONE]"]
    )
    model = make_model()
    assert "".join([d async for d in model.stream(MESSAGES)]) == "ab"
    assert model.last_usage is not None
    assert model.last_usage.completion_tokens == 2  # estimated: one token per chunk
    assert model.last_finish_reason == "length"


async def test_stream_retries_before_first_delta(server: FakeOpenAI, make_model: Any) -> None:
    def script(req: Request) -> Reply:
        if len(server.requests) == 1:
            return error(503, "loading model")
        if "stream_options" in req.body:
            return error(400, "Unrecognized request argument: stream_options")
        return Reply(sse=[sse_chunk("ok"), "[DONE]"])

    server.script = script
    model = make_model()
    assert [d async for d in model.stream(MESSAGES)] == ["ok"]
    assert len(server.requests) == 3
    assert "stream_options" not in server.requests[-1].body


async def test_stream_error_status(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: error(404, "model 'test-model' not found")
    with pytest.raises(ModelError, match=r"HTTP 404.*not found"):
        async for _ in make_model().stream(MESSAGES):
            pass


# --------------------------------------------------------------------------- checks


async def test_list_models_and_health(server: FakeOpenAI, make_model: Any) -> None:
    server.script = lambda req: Reply(
        body={"object": "list", "data": [{"id": "qwen", "object": "model"}, {"id": "other"}]}
    )
    model = make_model(api_key="k")
    assert await model.list_models() == ["qwen", "other"]
    assert await model.health() is True
    assert server.requests[0].method == "GET" and server.requests[0].path == "/v1/models"
    assert server.requests[0].headers["authorization"] == "Bearer k"

    server.script = lambda req: error(500, "broken")
    assert await model.health() is False
    refused = make_model(base_url=f"http://127.0.0.1:{free_port()}/v1")
    assert await refused.health() is False


async def test_shared_client_is_not_closed(server: FakeOpenAI) -> None:
    async with httpx.AsyncClient() as client:
        model = OpenAIChatModel(server.url, "m", client=client)
        assert (await model.complete([Message("user", "hi")])).text == "hello"
        await model.aclose()
        assert not client.is_closed


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the dead loops' sockets
def test_one_model_across_event_loops(server: FakeOpenAI) -> None:
    """A sync caller may run `asyncio.run()` per question with the same model object (without
    `aclose()` in each loop the old loop's pooled sockets are only dropped, not closed)."""
    server.script = lambda req: Reply(body=chat(CITY))
    model = OpenAIChatModel(server.url, "m", backoff=0.001)
    for _ in range(3):
        result = asyncio.run(model.complete(MESSAGES, schema=City))
        assert isinstance(result.parsed, City)
    assert asyncio.run(model.complete(MESSAGES)).text == CITY
    asyncio.run(model.aclose())
    assert len(server.requests) == 4


def test_rejects_unknown_structured_mode() -> None:
    with pytest.raises(ValueError, match="structured_mode"):
        OpenAIChatModel("http://127.0.0.1:1/v1", "m", structured_mode="grammar")  # type: ignore[arg-type]
