from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from retriever.encoder import (
    MINILM_NAME,
    EncoderError,
    MiniLMEncoder,
    OpenAIEmbeddingsEncoder,
    SentenceTransformerEncoder,
    build_encoder,
    l2_normalise,
)
from tests.fake_openai import FakeOpenAI, Reply, Request, error

# --- all-MiniLM-L6-v2 (real model, torch CPU; ~5 s to import and load, once per module) -------


@pytest.fixture(scope="module")
def minilm() -> Iterator[MiniLMEncoder]:
    encoder = MiniLMEncoder()
    encoder.load()
    yield encoder
    encoder.close()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_minilm_shapes_and_normalisation(minilm: MiniLMEncoder) -> None:
    assert minilm.name == MINILM_NAME and minilm.dim == 384
    texts = ["a dog runs in the park", "", "Paris is the capital of France. " * 80, "ok"]
    vectors = minilm.encode(texts, batch_size=2)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    empty = minilm.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32
    with pytest.raises(TypeError, match="sequence"):
        minilm.encode("one string")
    with pytest.raises(TypeError, match=r"texts\[1\] is a NoneType"):
        minilm.encode(["ok", None])  # type: ignore[list-item]


def test_minilm_batching_keeps_order_and_reports_progress(minilm: MiniLMEncoder) -> None:
    texts = [f"sentence number {i} about {'long ' * (i * 7 % 13)}topics" for i in range(9)]
    seen: list[int] = []
    batched = minilm.encode(texts, batch_size=4, progress=seen.append)
    assert seen == [4, 4, 1]
    one_by_one = np.stack([minilm.encode([t])[0] for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)


def test_minilm_semantic_sanity(minilm: MiniLMEncoder) -> None:
    dog, puppy, crash = minilm.encode(
        ["a dog runs in the park", "a puppy playing outside", "stock market crash"]
    )
    assert cosine(dog, puppy) > cosine(dog, crash) + 0.2
    assert cosine(dog, puppy) > 0.4


def test_minilm_loads_offline(minilm: MiniLMEncoder) -> None:
    assert os.environ.get("HF_HUB_OFFLINE") and os.environ.get("TRANSFORMERS_OFFLINE")
    assert minilm.model_dir.name == "model" and (minilm.model_dir / "model.safetensors").is_file()


def test_import_stays_light() -> None:
    code = (
        "import sys, retriever, retriever.encoder, retriever.dense, retriever.hybrid\n"
        "heavy = {'torch', 'sentence_transformers', 'transformers', 'faiss', 'httpx'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_build_encoder() -> None:
    for name in ("minilm", "", "default", "all-MiniLM-L6-v2", MINILM_NAME):
        assert isinstance(build_encoder(name), MiniLMEncoder)
    remote = build_encoder("http://127.0.0.1:9/v1#nomic-embed", api_key="k")
    assert isinstance(remote, OpenAIEmbeddingsEncoder)
    assert (remote.base_url, remote.model, remote.name) == (
        "http://127.0.0.1:9/v1",
        "nomic-embed",
        "openai:nomic-embed",
    )
    slash = build_encoder("https://h/v1/", model="m")
    assert isinstance(slash, OpenAIEmbeddingsEncoder) and slash.url == "https://h/v1/embeddings"
    with pytest.raises(EncoderError, match="name the model"):
        build_encoder("http://127.0.0.1:9/v1")
    with pytest.raises(EncoderError, match="unknown encoder 'word2vec'"):
        build_encoder("word2vec")


def test_sentence_transformer_dir_errors(tmp_path: Any) -> None:
    encoder = build_encoder(str(tmp_path))
    assert isinstance(encoder, SentenceTransformerEncoder)
    with pytest.raises(EncoderError, match="no sentence-transformers model"):
        encoder.encode(["x"])


def test_l2_normalise_keeps_zero_rows() -> None:
    out = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert out.dtype == np.float32


# --- OpenAI-compatible /v1/embeddings against a real HTTP server on 127.0.0.1 ----------------

KEY = "sk-test-secret-123"


def vector_for(text: str, dim: int = 4) -> list[float]:
    """Deterministic, unnormalised: length-dependent so normalisation is visible."""
    return [float(len(text) + 1), 1.0, float(dim), 0.5]


def embeddings_reply(req: Request, *, shuffle: bool = False) -> Reply:
    inputs = req.body["input"]
    data = [
        {"object": "embedding", "index": i, "embedding": vector_for(t)}
        for i, t in enumerate(inputs)
    ]
    if shuffle:
        data.reverse()  # servers may answer out of order; `index` says where each goes
    return Reply(body={"object": "list", "data": data, "model": req.body["model"]})


def test_openai_embeddings_batches_and_normalises(server: FakeOpenAI) -> None:
    server.script = lambda req: embeddings_reply(req, shuffle=True)
    encoder = OpenAIEmbeddingsEncoder(server.url, "embed-m", KEY, timeout=5)
    texts = ["a", "bbbb", "cc", "ddddddd", "e"]
    seen: list[int] = []
    vectors = encoder.encode(texts, batch_size=2, progress=seen.append)
    assert vectors.shape == (5, 4) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, l2_normalise(np.array([vector_for(t) for t in texts])))
    assert seen == [2, 2, 1] and encoder.dim == 4
    assert len(server.requests) == 3
    req = server.requests[0]
    assert req.method == "POST" and req.path == "/v1/embeddings"
    assert req.body["model"] == "embed-m" and req.body["encoding_format"] == "float"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert sorted(t for r in server.requests for t in r.body["input"]) == sorted(texts)
    encoder.close()


def test_openai_dim_is_probed_once(server: FakeOpenAI) -> None:
    server.script = embeddings_reply
    encoder = OpenAIEmbeddingsEncoder(server.url, "m")
    assert encoder.dim == 4 and encoder.dim == 4
    assert len(server.requests) == 1 and "authorization" not in server.requests[0].headers
    assert encoder.encode([]).shape == (0, 4)
    given = OpenAIEmbeddingsEncoder(server.url, "m", dimensions=4)
    assert given.dim == 4 and len(server.requests) == 1
    given.encode(["x"])
    assert server.requests[-1].body["dimensions"] == 4


def test_openai_retries_429_then_succeeds(server: FakeOpenAI) -> None:
    calls = {"n": 0}

    def script(req: Request) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return error(429, "rate limited, slow down", **{"Retry-After": "0.2"})
        return embeddings_reply(req)

    server.script = script
    encoder = OpenAIEmbeddingsEncoder(server.url, "m", KEY, backoff=0.01)
    started = time.perf_counter()
    vectors = encoder.encode(["hello", "world"])
    assert vectors.shape == (2, 4)
    assert calls["n"] == 2
    assert time.perf_counter() - started >= 0.2  # Retry-After honoured


def test_openai_500_gives_clear_error_without_the_key(server: FakeOpenAI) -> None:
    server.script = lambda req: error(500, f"model crashed while serving key {KEY}\nline two")
    encoder = OpenAIEmbeddingsEncoder(server.url, "m", KEY, max_retries=2, backoff=0.01)
    with pytest.raises(EncoderError) as caught:
        encoder.encode(["x"])
    message = str(caught.value)
    assert message == (
        f"POST {server.url}/embeddings failed after 3 attempt(s): "
        "HTTP 500: model crashed while serving key *** line two"
    )
    assert KEY not in message and len(server.requests) == 3


def test_openai_client_errors_fail_at_once(server: FakeOpenAI) -> None:
    server.script = lambda req: error(401, "invalid api key")
    encoder = OpenAIEmbeddingsEncoder(server.url, "m", KEY, backoff=0.01)
    with pytest.raises(EncoderError, match=r"HTTP 401: invalid api key \(check the API key\)"):
        encoder.encode(["x"])
    assert len(server.requests) == 1
    server.script = lambda req: error(404, "model 'm' not found")
    with pytest.raises(EncoderError, match="HTTP 404: model 'm' not found"):
        encoder.encode(["x"])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<html>oops</html>", "not JSON"),
        ({"data": "nope"}, "no 'data' list"),
        ({"data": [{"index": 0, "embedding": [1.0, 2.0]}]}, "sent 2 input"),
        (
            {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]},
            "bad index",
        ),
        (
            {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [2.0, 3.0]}]},
            "equal-length",
        ),
        ({"data": [{"index": 0}, {"index": 1}]}, "no 'embedding'"),
    ],
)
def test_openai_bad_replies(server: FakeOpenAI, body: Any, problem: str) -> None:
    server.script = lambda req: Reply(body=body)
    encoder = OpenAIEmbeddingsEncoder(server.url, "m", max_retries=0)
    with pytest.raises(EncoderError, match=problem):
        encoder.encode(["x", "y"])


def test_openai_unreachable_and_bad_config() -> None:
    encoder = OpenAIEmbeddingsEncoder("http://127.0.0.1:9/v1", "m", KEY, max_retries=1, backoff=0)
    with pytest.raises(
        EncoderError, match=r"failed after 2 attempt\(s\): connection failed"
    ) as caught:
        encoder.encode(["x"])
    assert KEY not in str(caught.value)
    with pytest.raises(EncoderError, match="http"):
        OpenAIEmbeddingsEncoder("127.0.0.1:9", "m")
    with pytest.raises(EncoderError, match="model name"):
        OpenAIEmbeddingsEncoder("http://h/v1", "")
    assert KEY not in repr(encoder)


def test_openai_changing_dimension_is_an_error(server: FakeOpenAI) -> None:
    sizes = iter([3, 5])

    def script(req: Request) -> Reply:
        n = next(sizes)
        data = [{"index": i, "embedding": [1.0] * n} for i in range(len(req.body["input"]))]
        return Reply(body={"data": data})

    server.script = script
    encoder = OpenAIEmbeddingsEncoder(server.url, "m")
    with pytest.raises(EncoderError, match="returned 5-d vectors, expected 3"):
        encoder.encode(["a", "b", "c"], batch_size=2)
