"""The base model to fine-tune: a local Hugging Face folder, or GGUF weights (a file, or a known
embedded model name such as `smollm2-135m`) dequantised once by transformers' GGUF loader into
a Hugging Face folder under the cache directory (`<cache>/hf/`), so training, the adapter's
`base_model_name_or_path` and `vllm serve` all read the same plain safetensors weights.

Dequantising is slow (SmolLM2-135M Q4_1: about 90 s on 2 cores, mostly reading the GGUF
metadata; the folder holds fp32 weights, 4x the GGUF size); later runs reuse the folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneError, MissingExtraError, require_train_extra


@dataclass(frozen=True)
class ResolvedBase:
    """Where the Hugging Face weights of a base are, and what they came from."""

    path: Path
    """A folder with config.json, the weights (safetensors) and the tokenizer."""
    source: str
    """What the user named: a folder, a GGUF file or an embedded model name."""
    gguf: Path | None = None
    """The GGUF file the folder was dequantised from, if any."""


def _known_models() -> dict[str, Any]:
    from agent.llm.weights import MODELS

    return dict(MODELS)


def gguf_of(base: str) -> Path | None:
    """The GGUF file `base` names (a file, a folder holding exactly one, a known model name),
    or None when `base` is a Hugging Face folder."""
    path = Path(base).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return None
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ggufs[0]
        raise FinetuneError(
            f"base {base} is a folder without config.json"
            + (f" and with {len(ggufs)} GGUF files; name one" if ggufs else "")
        )
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise FinetuneError(f"base {base} is a file but not a .gguf file")
        return path
    models = _known_models()
    if base in models:
        from agent.llm.weights import WeightsError, resolve_model_path

        try:
            return resolve_model_path(base)
        except WeightsError as error:
            raise FinetuneError(str(error)) from None
    raise FinetuneError(
        f"base {base!r} is neither a Hugging Face model folder (with config.json), a GGUF file "
        f"nor a known embedded model ({', '.join(models)})"
    )


def converted_dir(gguf: Path, cache: Path | None = None) -> Path:
    """Where the dequantised folder of `gguf` lives (keyed by path, size and mtime)."""
    from agent.llm.weights import cache_dir

    stat = gguf.stat()
    key = hashlib.sha1(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    root = cache if cache is not None else cache_dir() / "hf"
    return root / f"{gguf.stem}-{key[:12]}"


def _complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "conversion.json").is_file()


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantise `gguf` into the Hugging Face folder `target` (atomic; one process converts,
    concurrent ones wait and reuse it)."""
    require_train_extra()
    import importlib.util

    if importlib.util.find_spec("gguf") is None:
        raise MissingExtraError("gguf")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(target):
            return target
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

        tmp = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent),
                gguf_file=gguf.name,
                dtype=torch.float32,
                quantization_config=GgufConfig(dequantize=True),  # plain nn.Linear weights
            )
        except (ValueError, KeyError, RuntimeError, NotImplementedError) as error:
            raise FinetuneError(
                f"transformers cannot load {gguf.name} ({str(error).splitlines()[0][:200]})"
            ) from None
        # dequantised, the model is an ordinary dense one: drop the GGUF loader's marks so
        # save_pretrained writes plain safetensors (it refuses "quantized" models)
        setattr(model, "hf_quantizer", None)  # noqa: B010
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / "conversion.json").write_text(
            json.dumps({"gguf": str(gguf), "dtype": "float32"}, indent=1), encoding="utf-8"
        )
        if target.exists():
            shutil.rmtree(target)
        tmp.replace(target)
    return target


def resolve_base(base: str, *, cache: Path | None = None) -> ResolvedBase:
    """The Hugging Face folder for `base`, dequantising GGUF weights on first use.
    Raises FinetuneError for a base that is not there or not loadable."""
    gguf = gguf_of(base)
    if gguf is None:
        return ResolvedBase(Path(base).expanduser(), base)
    target = converted_dir(gguf, cache)
    if not _complete(target):
        convert_gguf(gguf, target)
    return ResolvedBase(target, base, gguf)


def load_model_and_tokenizer(folder: Path) -> tuple[Any, Any]:
    """The fp32 causal LM and its tokenizer (with a pad token) from a Hugging Face folder."""
    require_train_extra()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    except (OSError, ValueError) as error:
        raise FinetuneError(f"cannot load the base model from {folder}: {error}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None) is None:
        raise FinetuneError(f"the tokenizer in {folder} has no chat template (a base model?)")
    return model, tokenizer
