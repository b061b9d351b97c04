"""`wideseek serve`: start an OpenAI-compatible model server (vLLM on a GPU, else llama.cpp),
wait until it answers, point wideseek's roles at it, and stop it cleanly on Ctrl-C / SIGTERM.

Registered in wideseek/cli.py as ``app.command("serve")(serve)``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="wideseek.toml to read", show_default=False)
]


class _Stop(Exception):
    """SIGTERM arrived: stop the server as for Ctrl-C."""


def _fail(message: str, tail: str = "") -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    if tail:
        err_console.print("--- last lines of the server log ---", style="dim", highlight=False)
        err_console.print(tail, markup=False, highlight=False)
    return typer.Exit(2)


def serve(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="vLLM: a Hugging Face id or model directory; llama.cpp: a GGUF file or an "
            "embedded model's name (default: the configured embedded model)",
            show_default=False,
        ),
    ] = None,
    lora: Annotated[
        list[str] | None,
        typer.Option(
            "--lora",
            metavar="NAME=PATH",
            help="a LoRA adapter served as model NAME (repeatable); vLLM: a PEFT adapter "
            "directory, llama.cpp: one GGUF adapter file",
            show_default=False,
        ),
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="port (0: a free one)")] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    backend: Annotated[
        str,
        typer.Option(
            help="auto (vLLM when a GPU is visible and vLLM is found, else llama.cpp), vllm "
            "or llama-cpp"
        ),
    ] = "auto",
    write_config: Annotated[
        Path | None,
        typer.Option(
            "--write-config",
            metavar="FILE",
            help="write/merge the models.default table pointing at the server into this "
            "wideseek.toml",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        float, typer.Option(min=1.0, help="seconds to wait for the server to answer")
    ] = 120.0,
    name: Annotated[
        str | None,
        typer.Option("--name", help="the base model's served name", show_default=False),
    ] = None,
    n_ctx: Annotated[int, typer.Option("--n-ctx", min=512, help="llama.cpp: context size")] = 4096,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="llama.cpp: CPU threads (default: all cores)", show_default=False),
    ] = None,
    max_model_len: Annotated[
        int | None,
        typer.Option(help="vLLM: --max-model-len", show_default=False),
    ] = None,
    gpu_memory_utilization: Annotated[
        float | None,
        typer.Option(min=0.05, max=1.0, help="vLLM: --gpu-memory-utilization", show_default=False),
    ] = None,
    max_lora_rank: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="vLLM: --max-lora-rank (default: from the adapters' adapter_config.json)",
            show_default=False,
        ),
    ] = None,
    vllm_command: Annotated[
        str | None,
        typer.Option(
            "--vllm-command",
            envvar="WIDESEEK_VLLM_COMMAND",
            help="the command that runs vLLM from its own environment, e.g. "
            "/opt/vllm/bin/vllm (default: vllm on PATH, then ~/.venvs/vllm/bin/vllm)",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="require this API key (and write it into --write-config)"),
    ] = None,
    server_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--server-arg",
            help="an extra argument passed to the server as is (repeatable; write "
            "--server-arg=--enforce-eager for flags)",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve a model over the OpenAI API and point wideseek at it (Ctrl-C stops it).

    vLLM with LoRA adapters on a GPU, else llama.cpp with the embedded GGUF on the CPU."""
    from agent.config import ConfigError, load_settings
    from agent.llm.weights import WeightsError
    from finetune.serve import (
        BACKENDS,
        ServeError,
        free_port,
        merge_model_config,
        model_config,
        resolve_spec,
        start_server,
    )

    if backend not in BACKENDS:
        raise _fail(f"--backend must be auto, vllm or llama-cpp, not {backend!r}")
    try:
        settings = load_settings(config)
        port = port or free_port(host)
        default = settings.models.default
        spec = resolve_spec(
            backend=backend,
            model=model,
            loras=lora or (),
            host=host,
            port=port,
            served_name=name,
            default_model=default.model if default.backend == "embedded" else None,
            vllm_command=vllm_command,
            n_ctx=n_ctx,
            n_threads=threads,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            max_lora_rank=max_lora_rank,
            api_key=api_key,
            extra_args=tuple(server_arg or ()),
        )
        if write_config is not None:  # fail now, not after the server has loaded
            _check_writable(write_config, model_config(spec), merge_model_config)
        log_path = settings.data_dir / "logs" / f"serve-{spec.backend}-{spec.port}.log"
        server = start_server(spec, log_path=log_path)
    except (ServeError, ConfigError, WeightsError) as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if in_main else None
    # SIGINT too, explicitly: a process started in the background by a script inherits SIGINT
    # ignored, and an explicit `kill -INT` must still stop the server
    previous_int = signal.signal(signal.SIGINT, on_term) if in_main else None
    code = 0
    try:
        label = "vLLM" if spec.backend == "vllm" else "llama.cpp"
        err_console.print(f"starting {label}: {server.spec.model}", highlight=False)
        err_console.print(f"server log: {server.log_path}", highlight=False)
        started = time.monotonic()
        with err_console.status(f"waiting for {server.endpoint} …", spinner="dots"):
            names = server.wait_healthy(timeout=wait)
        _announce(server, names, time.monotonic() - started, write_config)
        while True:
            returncode = server.poll()
            if returncode is not None:
                raise _fail(
                    f"the server exited with code {returncode} (log: {server.log_path})",
                    server.log_tail(),
                )
            time.sleep(0.5)
    except ServeError as error:
        code = 2
        _fail(str(error), error.log_tail)
    except typer.Exit as done:
        code = done.exit_code
    except (KeyboardInterrupt, _Stop):
        err_console.print("stopping the server…", highlight=False)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
        # a further Ctrl-C while stopping: stop() has already killed what it could
        with contextlib.suppress(KeyboardInterrupt):
            server.stop(grace=30.0 if spec.backend == "vllm" else 10.0)
    if code == 0:
        err_console.print("server stopped", highlight=False)
    raise typer.Exit(code)


def _check_writable(path: Path, values: dict[str, Any], merge: Any) -> None:
    from finetune.serve import ServeError

    path = path.expanduser()
    if path.is_dir():
        raise ServeError(f"--write-config {path} is a directory")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError as error:
        raise ServeError(f"--write-config: cannot read {path}: {error}") from None
    try:
        merge(text, values)
    except ServeError as error:
        raise ServeError(f"--write-config {path}: {error}") from None


def _announce(server: Any, names: list[str], seconds: float, write_config: Path | None) -> None:
    from finetune.serve import ServeError, model_config, toml_table, write_model_config

    spec = server.spec
    err_console.print(f"ready after {seconds:.0f} s", highlight=False)
    out = sys.stdout
    out.write(f"endpoint: {server.endpoint}\n")
    out.write(f"models:   {', '.join(names)}\n")
    if spec.agent_model not in names:
        err_console.print(
            f"[yellow]warning:[/] the server does not list {spec.agent_model!r}", highlight=False
        )
    out.write("\n# wideseek.toml: every role uses the served model\n")
    out.write(toml_table(model_config(spec, include_api_key=False)))
    if spec.api_key:
        out.write('# api_key = "…"  (the --api-key given)\n')
    out.flush()
    if write_config is not None:
        try:
            overriding = write_model_config(write_config, model_config(spec))
        except ServeError as error:
            err_console.print(f"[yellow]warning:[/] {error}", highlight=False)
        else:
            err_console.print(f"wrote [models.default] to {write_config}", markup=False)
            for table in overriding:
                err_console.print(
                    f"note: {write_config} also sets [{table}], which overrides "
                    "[models.default] for that role",
                    markup=False,
                )
    err_console.print("serving; Ctrl-C stops the server", highlight=False)
