"""all-MiniLM-L6-v2 on ONNX Runtime: the same vectors as `MiniLMEncoder`, three times faster
for short texts (the per-request latency that tool retrieval pays on every step).

Measured on 2 CPU cores: a 12-word request 7.7 ms (torch: 25 ms), a 53-token one 14.6 ms
(torch: 40 ms); cosine to torch's vector 1.0000. For long passages in bulk both run at about the
same speed, so corpus indexing keeps the torch encoder.

The ONNX graph is exported once from the installed sentence-transformers weights (no download:
torch's exporter writes it, ~4 s) into `cache_dir` and checked against torch on probe texts
right after the export; a failed export or check raises `EncoderError` (and leaves no file), and
callers fall back to `MiniLMEncoder`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from retriever.encoder import MINILM_DIM, MINILM_NAME, Encoder, EncoderError, MiniLMEncoder

__all__ = ["OnnxMiniLMEncoder", "default_onnx_dir", "fast_minilm"]

log = logging.getLogger(__name__)

_PROBES = (
    "Get the 2-day air quality forecast for a US zip code.",
    "I'm planning a trip and need the weather in Paris, and also a list of hotels near the Louvre.",
)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MAX_TOKENS = 256


def default_onnx_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wideseek" / "onnx"


class OnnxMiniLMEncoder(Encoder):
    """MiniLM through ONNX Runtime; exported on first use into `cache_dir`."""

    def __init__(self, cache_dir: Path | None = None, *, threads: int | None = None) -> None:
        super().__init__()
        self.cache_dir = cache_dir or default_onnx_dir()
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()

    @property
    def name(self) -> str:
        return MINILM_NAME  # same vector space as MiniLMEncoder: caches and indexes are shared

    @property
    def dim(self) -> int:
        return MINILM_DIM

    def load(self) -> None:
        self._ready()

    def _ready(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._session is None:
                self._session, self._tokenizer = self._load()
            return self._session, self._tokenizer

    def _load(self) -> tuple[Any, Any]:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderError(f"ONNX MiniLM needs onnxruntime and tokenizers: {exc}") from exc
        from retriever.encoder import _minilm_dir

        model_dir = _minilm_dir()
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        weights = next(
            (
                p
                for p in (model_dir / "model.safetensors", model_dir / "pytorch_model.bin")
                if p.exists()
            ),
            None,
        )
        stamp = hashlib.sha1(str(weights.stat().st_size if weights else 0).encode()).hexdigest()[:8]
        path = self.cache_dir / f"all-MiniLM-L6-v2-{stamp}.onnx"
        exported = not path.exists()
        if exported:
            self._export(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or min(4, os.cpu_count() or 1)
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a truncated or foreign file: export again once
            log.warning("ONNX model %s unusable (%s); exporting again", path, exc)
            path.unlink(missing_ok=True)
            self._export(path)
            exported = True
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        if exported:
            try:
                self._check(session, tokenizer)
            except EncoderError:
                path.unlink(missing_ok=True)
                raise
        return session, tokenizer

    def _export(self, path: Path) -> None:
        try:
            import torch
        except ImportError as exc:
            raise EncoderError(f"exporting MiniLM to ONNX needs torch: {exc}") from exc
        teacher = MiniLMEncoder()
        model = teacher._get_model()
        transformer = model[0].auto_model.eval()

        class MeanPooled(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

        sample = model.tokenizer(list(_PROBES), return_tensors="pt", padding=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".onnx.part")
        try:
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer warnings about Python control flow
                torch.onnx.export(
                    MeanPooled(transformer),
                    tuple(sample[name] for name in _INPUTS),
                    str(partial),
                    input_names=list(_INPUTS),
                    output_names=["embedding"],
                    dynamic_axes={
                        **{name: {0: "batch", 1: "tokens"} for name in _INPUTS},
                        "embedding": {0: "batch"},
                    },
                    opset_version=17,
                    dynamo=False,
                )
        except Exception as exc:  # the exporter raises many kinds
            partial.unlink(missing_ok=True)
            raise EncoderError(
                f"cannot export MiniLM to ONNX: {type(exc).__name__}: {exc}"
            ) from exc
        os.replace(partial, path)
        log.info("exported MiniLM to %s", path)

    def _check(self, session: Any, tokenizer: Any) -> None:
        reference = MiniLMEncoder().encode(list(_PROBES))
        ours = self._run(session, tokenizer, list(_PROBES))
        cosine = float(np.min(np.sum(reference * ours, axis=1)))
        if cosine < 0.999:
            raise EncoderError(f"ONNX MiniLM disagrees with torch (cosine {cosine:.4f})")

    @staticmethod
    def _run(session: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        vectors = np.asarray(session.run(None, feed)[0], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._ready()
        return self._run(session, tokenizer, texts)


def fast_minilm(cache_dir: Path | None = None) -> Encoder:
    """The ONNX MiniLM when it loads here, else the torch one (same vectors, slower)."""
    encoder = OnnxMiniLMEncoder(cache_dir)
    try:
        encoder.load()
    except EncoderError as exc:
        log.warning("ONNX MiniLM unavailable (%s); using torch", exc)
        return MiniLMEncoder()
    return encoder
