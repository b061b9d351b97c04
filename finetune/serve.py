"""Serve a model (and LoRA adapters) over the OpenAI API in a separate process.

Two backends:

- ``vllm``: ``vllm serve MODEL --enable-lora --lora-modules NAME=PATH ...`` on a GPU. vLLM cannot
  share wideseek's environment (it pins its own torch and transformers), so it runs from its own
  virtual environment: the command comes from ``--vllm-command``, ``$WIDESEEK_VLLM_COMMAND``,
  ``vllm`` on PATH, or ``~/.venvs/vllm/bin/vllm``.
- ``llama-cpp``: ``python -m llama_cpp.server`` from wideseek's own environment (the
  ``embedded`` extra), serving a GGUF file: an embedded model's name (``qwen2.5-coder-1.5b``,
  resolved exactly as the embedded backend resolves it) or a path. One GGUF LoRA adapter maps to
  its ``--lora_path``; PEFT adapter directories need vLLM.

``auto`` picks vLLM when a GPU is visible and a vLLM command is found, else llama.cpp.

The server's output goes to a log file; `ServerProcess` polls ``/v1/models`` (and ``/health``
where the server has one) until it answers, reports an early exit with the log's last lines, and
stops the whole process group (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from finetune.errors import FinetuneError

BackendChoice = Literal["auto", "vllm", "llama-cpp"]
Backend = Literal["vllm", "llama-cpp"]
BACKENDS: tuple[BackendChoice, ...] = ("auto", "vllm", "llama-cpp")

VLLM_COMMAND_ENV = "WIDESEEK_VLLM_COMMAND"
DEFAULT_VLLM_VENV = Path("~/.venvs/vllm/bin/vllm")
VLLM_API_SERVER = "vllm.entrypoints.openai.api_server"
# vLLM's accepted --max-lora-rank values (vllm.config.lora.MaxLoRARanks)
VLLM_LORA_RANKS: tuple[int, ...] = (1, 8, 16, 32, 64, 128, 256, 320, 512)
# The embedded models' Hugging Face originals, for `--backend vllm --model qwen2.5-coder-1.5b`.
HF_MODELS: dict[str, str] = {
    "qwen2.5-coder-1.5b": "Qwen/Qwen2.5-Coder-1.5B-Instruct",
    "qwen2.5-coder-0.5b": "Qwen/Qwen2.5-Coder-0.5B-Instruct",
    "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct",
}
LLAMA_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HF_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# The environment of wideseek's Python must not leak into vLLM's own interpreter.
_VLLM_ENV_DROP = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


class ServeError(FinetuneError):
    """An expected failure starting or running a server; the message says what to do.
    `log_tail` holds the server log's last lines when the server itself failed."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class ServerExited(ServeError):
    """The server process ended (before it became healthy, or while serving)."""

    def __init__(self, message: str, returncode: int | None, log_tail: str) -> None:
        super().__init__(message, log_tail)
        self.returncode = returncode


# --- specification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoraAdapter:
    """A LoRA adapter served under `name`: a PEFT directory (vLLM) or a GGUF file (llama.cpp)."""

    name: str
    path: str

    @classmethod
    def parse(cls, text: str) -> LoraAdapter:
        """`NAME=PATH`, or a bare PATH (named after its last path component)."""
        name, sep, path = text.partition("=")
        if not sep:
            path = text
            name = Path(text.rstrip("/")).stem or "adapter"
        name, path = name.strip(), path.strip()
        if not path:
            raise ServeError(f"--lora {text!r}: give NAME=PATH")
        if not _NAME_RE.match(name):
            raise ServeError(
                f"--lora {text!r}: the name {name!r} may use letters, digits, '.', '_', '-'"
            )
        local = Path(path).expanduser()
        if local.exists():
            path = str(local.resolve())
        elif not _HF_ID_RE.match(path):
            raise ServeError(f"--lora {name}: {path} does not exist")
        return cls(name, path)

    @property
    def is_gguf(self) -> bool:
        return self.path.lower().endswith(".gguf") and Path(self.path).is_file()

    def config(self) -> dict[str, Any]:
        """Its PEFT adapter_config.json ({} when there is none)."""
        try:
            config = json.loads((Path(self.path) / "adapter_config.json").read_text())
        except (OSError, ValueError):
            return {}
        return config if isinstance(config, dict) else {}

    def base_model(self) -> str | None:
        """The base model it was trained on (adapter_config.json's base_model_name_or_path)."""
        base = self.config().get("base_model_name_or_path")
        return base if isinstance(base, str) and base else None

    def rank(self) -> int | None:
        """The adapter's LoRA rank from its adapter_config.json (max over rank_pattern)."""
        config = self.config()
        ranks = [config.get("r")]
        pattern = config.get("rank_pattern")
        if isinstance(pattern, dict):
            ranks.extend(pattern.values())
        found = [int(r) for r in ranks if isinstance(r, int | float) and r > 0]
        return max(found) if found else None


@dataclass(frozen=True)
class ServerSpec:
    """What to serve and how. Build one directly, or with `resolve_spec()` from user input.

    `model` is what the server loads: for vLLM a Hugging Face id or a local model directory, for
    llama.cpp a GGUF path. `served_name` is the base model's name in the API (vLLM's
    `--served-model-name`, llama.cpp's `--model_alias`); by default vLLM serves it under `model`.
    `port=0` picks a free port when the server starts.
    """

    backend: Backend
    model: str
    host: str = "127.0.0.1"
    port: int = 8000
    loras: tuple[LoraAdapter, ...] = ()
    served_name: str | None = None
    vllm_command: tuple[str, ...] = ("vllm",)
    python: str = field(default_factory=lambda: sys.executable)
    n_ctx: int = 4096
    n_threads: int | None = None
    max_model_len: int | None = None
    max_lora_rank: int | None = None
    gpu_memory_utilization: float | None = None
    api_key: str | None = None
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.backend not in ("vllm", "llama-cpp"):
            raise ServeError(f"unknown backend {self.backend!r}: use vllm or llama-cpp")
        if not 0 <= self.port <= 65535:
            raise ServeError(f"--port {self.port}: use 1-65535")
        names = [self.base_name, *(a.name for a in self.loras)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ServeError(f"served names must differ: {', '.join(duplicates)} given twice")

    @property
    def base_name(self) -> str:
        """The name the base model is served under."""
        if self.served_name:
            return self.served_name
        return self.model if self.backend == "vllm" else Path(self.model).stem

    @property
    def served_models(self) -> list[str]:
        """The model names the server will list. llama.cpp serves one model: with an adapter,
        the adapted model, under the adapter's name."""
        if self.backend == "llama-cpp" and self.loras:
            return [self.loras[0].name]
        return [self.base_name, *(a.name for a in self.loras)]

    @property
    def agent_model(self) -> str:
        """The name the agent should ask for: the (first) adapter if any, else the base model."""
        return self.loras[0].name if self.loras else self.base_name

    @property
    def endpoint(self) -> str:
        """The OpenAI base URL (`http://H:P/v1`); a wildcard host is reached on 127.0.0.1."""
        return f"http://{_connect_host(self.host)}:{self.port}/v1"


def _connect_host(host: str) -> str:
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def vllm_lora_rank(rank: int) -> int:
    """The smallest `--max-lora-rank` vLLM accepts that holds an adapter of rank `rank`."""
    for allowed in VLLM_LORA_RANKS:
        if rank <= allowed:
            return allowed
    raise ServeError(f"LoRA rank {rank} is above vLLM's largest --max-lora-rank (512)")


def llama_server_missing() -> list[str]:
    """The modules `python -m llama_cpp.server` needs that are not installed here."""
    return [m for m in LLAMA_SERVER_MODULES if importlib.util.find_spec(m) is None]


def llama_server_supports_lora() -> bool:
    """Whether the installed llama-cpp-python server takes `--lora_path` (GGUF adapters)."""
    try:
        from llama_cpp.server.settings import ModelSettings
    except Exception:  # not installed, or its native library does not load
        return False
    return "lora_path" in ModelSettings.model_fields


def _vllm_base(command: Sequence[str], model: str) -> list[str]:
    """`vllm serve MODEL`, `python -m vllm.entrypoints.openai.api_server --model MODEL`."""
    cmd = list(command)
    if not cmd:
        raise ServeError("the vLLM command is empty")
    if VLLM_API_SERVER in cmd:
        return [*cmd, "--model", model]
    if Path(cmd[-1]).name.startswith("python") and "-m" not in cmd:
        return [*cmd, "-m", VLLM_API_SERVER, "--model", model]
    if cmd[-1] != "serve":
        cmd.append("serve")
    return [*cmd, model]


def build_command(spec: ServerSpec) -> list[str]:
    """The server's command line (no side effects; raises `ServeError` for what the backend
    cannot serve)."""
    if spec.backend == "vllm":
        cmd = _vllm_base(spec.vllm_command, spec.model)
        cmd += ["--host", spec.host, "--port", str(spec.port)]
        if spec.served_name:
            cmd += ["--served-model-name", spec.served_name]
        if spec.max_model_len:
            cmd += ["--max-model-len", str(spec.max_model_len)]
        if spec.gpu_memory_utilization:
            cmd += ["--gpu-memory-utilization", f"{spec.gpu_memory_utilization:g}"]
        if spec.api_key:
            cmd += ["--api-key", spec.api_key]
        if spec.loras:
            cmd += ["--enable-lora", "--lora-modules"]
            cmd += [f"{a.name}={a.path}" for a in spec.loras]
            rank = spec.max_lora_rank
            if rank is None:
                ranks = [r for r in (a.rank() for a in spec.loras) if r]
                rank = max(ranks) if ranks else None
            if rank is not None:
                cmd += ["--max-lora-rank", str(vllm_lora_rank(rank))]
            if len(spec.loras) > 1:
                cmd += ["--max-loras", str(len(spec.loras))]
        return [*cmd, *spec.extra_args]

    threads = spec.n_threads or max(1, os.cpu_count() or 1)
    cmd = [
        spec.python, "-m", "llama_cpp.server",
        "--model", spec.model,
        "--model_alias", spec.served_models[0],
        "--host", spec.host, "--port", str(spec.port),
        "--n_ctx", str(spec.n_ctx), "--n_threads", str(threads),
    ]  # fmt: skip
    if spec.api_key:
        cmd += ["--api_key", spec.api_key]
    if spec.loras:
        if len(spec.loras) > 1:
            raise ServeError(
                "llama.cpp serves one LoRA adapter at a time; serve several with --backend vllm"
            )
        (adapter,) = spec.loras
        if not adapter.is_gguf:
            raise ServeError(
                f"--lora {adapter.name}: llama.cpp serves LoRA adapters as GGUF files, and "
                f"{adapter.path} is not one; serving a PEFT adapter needs vLLM (--backend vllm, "
                "on a GPU), or convert it first with llama.cpp's convert_lora_to_gguf.py"
            )
        if not llama_server_supports_lora():
            raise ServeError(
                "the installed llama-cpp-python server has no --lora_path; LoRA serving "
                "needs vLLM (--backend vllm) or a newer llama-cpp-python[server]"
            )
        cmd += ["--lora_path", adapter.path]
    return [*cmd, *spec.extra_args]


# --- choosing a backend ---------------------------------------------------------------------------


Which = Callable[[str], str | None]


def _which_in(env: Mapping[str, str]) -> Which:
    return lambda name: shutil.which(name, path=env.get("PATH", ""))


def gpu_visible(
    env: Mapping[str, str] | None = None,
    *,
    which: Which | None = None,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
) -> bool:
    """A CUDA GPU is visible: CUDA_VISIBLE_DEVICES names one, or `nvidia-smi -L` lists one.
    CUDA_VISIBLE_DEVICES set to "" or "-1" hides every GPU. Programs are looked up on
    `env`'s PATH (default: os.environ)."""
    env = os.environ if env is None else env
    which = which or _which_in(env)
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        visible = visible.strip()
        return bool(visible) and not visible.startswith("-1") and visible.lower() != "none"
    smi = which("nvidia-smi")
    if not smi:
        return False
    try:
        proc = run([smi, "-L"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and "GPU " in (proc.stdout or "")


def find_vllm_command(
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    which: Which | None = None,
) -> list[str] | None:
    """The command that starts vLLM: `explicit` (e.g. from --vllm-command), else
    $WIDESEEK_VLLM_COMMAND, else `vllm` on PATH, else ~/.venvs/vllm/bin/vllm; None if none.
    A configured command whose program does not exist is an error, not a fallback."""
    env = os.environ if env is None else env
    which = which or _which_in(env)
    for origin, text in (
        ("--vllm-command", explicit),
        (VLLM_COMMAND_ENV, env.get(VLLM_COMMAND_ENV)),
    ):
        if text and text.strip():
            try:
                words = shlex.split(text)
            except ValueError as error:
                raise ServeError(f"{origin}: {error}") from None
            program = Path(words[0]).expanduser()
            if not (which(words[0]) or (program.is_file() and os.access(program, os.X_OK))):
                raise ServeError(f"{origin}: {words[0]} is not an executable program")
            return [str(program) if program.is_file() else words[0], *words[1:]]
    found = which("vllm")
    if found:
        return [found]
    home = env.get("HOME")
    default = Path(home) / ".venvs/vllm/bin/vllm" if home else DEFAULT_VLLM_VENV.expanduser()
    if default.is_file() and os.access(default, os.X_OK):
        return [str(default)]
    return None


_NO_VLLM = (
    "vLLM was not found: install it in its own virtual environment (python -m venv "
    "~/.venvs/vllm && ~/.venvs/vllm/bin/pip install vllm), or name its command with "
    f"--vllm-command or {VLLM_COMMAND_ENV}"
)


def select_backend(
    requested: BackendChoice, *, gpu: bool, vllm_command: list[str] | None
) -> Backend:
    """`auto`: vLLM when a GPU is visible and vLLM is found, else llama.cpp."""
    if requested == "vllm":
        if vllm_command is None:
            raise ServeError(_NO_VLLM)
        return "vllm"
    if requested == "llama-cpp":
        return "llama-cpp"
    if requested != "auto":
        raise ServeError(f"--backend {requested!r}: use auto, vllm or llama-cpp")
    return "vllm" if gpu and vllm_command is not None else "llama-cpp"


def _adapters_base(adapters: Sequence[LoraAdapter]) -> str | None:
    """The base model the adapters were trained on, when they name one (and agree)."""
    bases = sorted({base for a in adapters if (base := a.base_model())})
    if len(bases) > 1:
        raise ServeError(
            f"the adapters were trained on different base models ({', '.join(bases)}); "
            "name the one to serve with --model"
        )
    return bases[0] if bases else None


def resolve_spec(
    *,
    backend: BackendChoice = "auto",
    model: str | None = None,
    loras: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int = 8000,
    served_name: str | None = None,
    default_model: str | None = None,
    vllm_command: str | None = None,
    env: Mapping[str, str] | None = None,
    gpu: bool | None = None,
    **options: Any,
) -> ServerSpec:
    """A `ServerSpec` from user input: picks the backend, resolves the model (an embedded
    model's name to its GGUF file for llama.cpp, or to its Hugging Face id for vLLM).
    Without `model`, vLLM serves the base the adapters name (adapter_config.json's
    base_model_name_or_path), else `default_model` (e.g. the configured embedded model).
    `options` are further `ServerSpec` fields (n_ctx, n_threads, api_key, extra_args, ...)."""
    adapters = tuple(LoraAdapter.parse(text) for text in loras)
    command: list[str] | None = None
    if backend == "vllm":
        command = find_vllm_command(vllm_command, env)
    elif backend == "auto":
        if gpu is None:
            gpu = gpu_visible(env)
        command = find_vllm_command(vllm_command, env) if gpu else None
    chosen = select_backend(backend, gpu=bool(gpu), vllm_command=command)
    from agent.llm.weights import DEFAULT_MODEL, MODELS, WeightsError, resolve_model_path

    if chosen == "vllm":
        assert command is not None
        name = model or _adapters_base(adapters) or default_model or DEFAULT_MODEL
        return ServerSpec(
            backend="vllm",
            model=HF_MODELS.get(name, name),
            host=host,
            port=port,
            loras=adapters,
            served_name=served_name or (name if name in HF_MODELS else None),
            vllm_command=tuple(command),
            **options,
        )
    name = model or default_model or DEFAULT_MODEL
    missing = llama_server_missing()
    if missing:
        raise ServeError(
            f"llama-cpp-python[server] is not installed (missing {', '.join(missing)}): "
            "pip install 'wideseek[embedded]'"
        )
    try:
        path = resolve_model_path(name)
    except WeightsError as error:
        hint = ""
        if name not in MODELS:
            hint = " (llama.cpp serves GGUF files; a Hugging Face model needs --backend vllm)"
        raise ServeError(f"{error}{hint}") from None
    alias = served_name or (name if name in MODELS else Path(path).stem)
    return ServerSpec(
        backend="llama-cpp",
        model=str(path),
        host=host,
        port=port,
        loras=adapters,
        served_name=alias,
        **options,
    )


# --- the process ----------------------------------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on (host, port), or it cannot be bound."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]") or "0.0.0.0", port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((_connect_host(host).strip("[]"), 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 20, max_bytes: int = 64_000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.rstrip().splitlines()[-lines:])


class ServerProcess:
    """A running model server. Use as a context manager, or call `stop()`."""

    def __init__(
        self, spec: ServerSpec, command: list[str], process: subprocess.Popen[bytes], log_path: Path
    ) -> None:
        self.spec = spec
        self.command = command
        self.process = process
        self.log_path = log_path
        self.served_models: list[str] = spec.served_models
        self._stopped = False

    @property
    def endpoint(self) -> str:
        return self.spec.endpoint

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.log_path, lines)

    def _exited(self, when: str) -> ServerExited:
        code = self.process.returncode
        tail = self.log_tail()
        message = f"the {self.spec.backend} server exited with code {code} {when}"
        message += f" (log: {self.log_path})"
        return ServerExited(message, code, tail)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.spec.api_key}"} if self.spec.api_key else {}

    def check_healthy(self, client: httpx.Client | None = None) -> list[str] | None:
        """The served model names when the server answers, else None (never raises for a
        server that is still starting)."""
        own = client is None
        client = client or httpx.Client(timeout=3.0)
        root = self.endpoint.removesuffix("/v1")
        try:
            response = client.get(f"{self.endpoint}/models", headers=self._headers())
            if response.status_code != 200:
                return None
            data = response.json().get("data")
            names = [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id")]
            if not names:
                return None
            health = client.get(f"{root}/health", headers=self._headers())
            if health.status_code >= 500:  # vLLM: the engine is not ready or has died
                return None
            return names
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            return None
        finally:
            if own:
                client.close()

    def wait_healthy(self, timeout: float = 120.0, interval: float = 0.5) -> list[str]:
        """Poll until the server answers; return the served model names. Raises
        `ServerExited` if the process ends first, `ServeError` on timeout."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=min(5.0, max(1.0, interval * 4))) as client:
            while True:
                if self.process.poll() is not None:
                    raise self._exited("before it answered")
                names = self.check_healthy(client)
                if names is not None:
                    if self.process.poll() is not None:  # someone else answered on the port
                        raise self._exited("before it answered")
                    self.served_models = names
                    return names
                if time.monotonic() >= deadline:
                    raise ServeError(
                        f"the {self.spec.backend} server did not answer at {self.endpoint} "
                        f"within {timeout:g} s (log: {self.log_path}); a larger model may "
                        "need a longer --wait",
                        self.log_tail(),
                    )
                time.sleep(interval)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)  # the server leads its own process group

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM the server's process group, wait up to `grace` s, then SIGKILL it.
        Idempotent; a second Ctrl-C while waiting kills at once. Returns the exit code."""
        if self._stopped:
            return self.process.returncode
        self._stopped = True
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired, KeyboardInterrupt):
                self.process.wait(timeout=grace)
        # workers the server spawned into its group (vLLM's engine core) go too
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    spec: ServerSpec,
    *,
    log_path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """Start the server described by `spec` in its own process group, its output going to
    `log_path` (default: a file under wideseek's data directory). `env` replaces os.environ."""
    if spec.port == 0:
        spec = replace(spec, port=free_port(spec.host))
    command = build_command(spec)
    if port_in_use(spec.host, spec.port):
        raise ServeError(
            f"port {spec.port} on {spec.host} is in use (another server?); choose one with --port"
        )
    if log_path is None:
        from agent.config import default_data_dir

        base = Path(os.environ.get("WIDESEEK_DATA_DIR") or default_data_dir())
        log_path = base / "logs" / f"serve-{spec.backend}-{spec.port}.log"
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = dict(os.environ if env is None else env)
    if spec.backend == "llama-cpp":
        child_env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    else:
        for key in _VLLM_ENV_DROP:
            child_env.pop(key, None)
    with log_path.open("wb") as log:
        log.write(f"$ {shlex.join(_redacted(command, spec.api_key))}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env,
                start_new_session=True,  # its own group: stopped as a whole, not hit by Ctrl-C
            )
        except OSError as error:
            raise ServeError(f"could not start {command[0]}: {error}") from None
    return ServerProcess(spec, command, process, log_path)


def _redacted(command: list[str], secret: str | None) -> list[str]:
    return [("***" if secret and word == secret else word) for word in command]


# --- pointing wideseek at it ----------------------------------------------------------------------

# Keys of a [models.*] table that belong to one endpoint: replaced, never carried over.
_ENDPOINT_KEYS = ("backend", "base_url", "model", "api_key", "structured_mode")


def model_config(spec: ServerSpec, *, include_api_key: bool = True) -> dict[str, Any]:
    """The `[models.default]` values that point every role at the server."""
    values: dict[str, Any] = {
        "backend": "openai",
        "base_url": spec.endpoint,
        "model": spec.agent_model,
    }
    if spec.backend == "llama-cpp":
        # llama-cpp-python's server answers HTTP 500 to json_schema; json_object takes a schema
        values["structured_mode"] = "json_object"
    if spec.api_key and include_api_key:
        values["api_key"] = spec.api_key
    return values


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    raise ServeError(f"cannot write {value!r} as a TOML value")


def toml_table(values: Mapping[str, Any], table: str = "models.default") -> str:
    """`[table]` with one `key = value` line per scalar value."""
    lines = [f"[{table}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


_HEADER_RE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _table_name(line: str) -> str | None:
    match = _HEADER_RE.match(line)
    if not match:
        return None
    return ".".join(part.strip().strip("\"'") for part in match.group(1).split("."))


def merge_model_config(text: str, values: Mapping[str, Any], table: str = "models.default") -> str:
    """`text` (a wideseek.toml) with `[table]` set to `values`: an existing `[table]` is
    replaced in place (its other keys kept, endpoint keys dropped), every other line is kept.
    Raises `ServeError` when the result would not read back as intended (e.g. the table is
    written as dotted keys or inline)."""
    try:
        before = tomllib.loads(text) if text.strip() else {}
    except tomllib.TOMLDecodeError as error:
        raise ServeError(f"not valid TOML ({error}); fix it or choose another file") from None
    node: Any = before
    for part in table.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    old = node if isinstance(node, dict) else {}
    merged = {k: v for k, v in old.items() if k not in _ENDPOINT_KEYS and not isinstance(v, dict)}
    merged = {k: v for k, v in merged.items() if isinstance(v, str | int | float | bool)}
    merged = {**values, **{k: v for k, v in merged.items() if k not in values}}
    block = toml_table(merged, table)

    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _table_name(line) == table), None)
    if start is None:
        out = text
        if out and not out.endswith("\n"):
            out += "\n"
        if out.strip():
            out += "\n"
        out += block
    else:
        end = next(
            (j for j in range(start + 1, len(lines)) if _table_name(lines[j]) is not None),
            len(lines),
        )
        tail = lines[end:]
        out = "".join(lines[:start]) + block + ("\n" if tail else "") + "".join(tail)
    try:
        after = tomllib.loads(out)
    except tomllib.TOMLDecodeError as error:
        raise ServeError(
            f"could not merge [{table}] into it ({error}): it is probably written as dotted "
            "keys or an inline table; set it by hand"
        ) from None
    check: Any = after
    for part in table.split("."):
        check = check.get(part) if isinstance(check, dict) else None
    if check != merged:
        raise ServeError(f"could not merge [{table}] into it cleanly; set it by hand")
    return out


def write_model_config(
    path: Path | str, values: Mapping[str, Any], table: str = "models.default"
) -> list[str]:
    """Write/merge `[table]` into the TOML file at `path` (created if missing; written
    atomically). Returns the role tables in the file that override it."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as error:
        raise ServeError(f"cannot read {path}: {error}") from None
    try:
        out = merge_model_config(text, values, table)
    except ServeError as error:
        raise ServeError(f"{path}: {error}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(out, encoding="utf-8")
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise ServeError(f"cannot write {path}: {error}") from None
    models = tomllib.loads(out).get("models", {})
    return [f"models.{role}" for role in ("planner", "reflector", "writer", "judge")
            if role in models]  # fmt: skip
