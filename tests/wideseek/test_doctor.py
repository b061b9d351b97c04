"""`wideseek doctor`: the web backends configured, with a key or not, answering or not (real
HTTP on 127.0.0.1); keys never printed. Also the command as a real subprocess."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent import load_settings
from tests.agent.fake_web import FakeWeb, page
from tests.fake_openai import FakeOpenAI, Reply
from tests.wideseek.test_cli import run
from wideseek.doctor import run_checks, web_checks

SECRET = "brv-Zq81-secret-value"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_web_checks_report_configured_reachable_and_broken_backends() -> None:
    with FakeWeb({"/a": page("Alpha", "wideseek alpha page")}).running() as web:
        settings = load_settings(
            **{
                "web.enabled": True,
                "web.backends": [
                    {"kind": "searxng", "name": "home", "base_url": web.base_url},
                    {"kind": "searxng", "name": "dead", "max_retries": 0,
                     "base_url": f"http://127.0.0.1:{free_port()}"},
                    {"kind": "brave", "api_key_env": "NO_SUCH_VARIABLE_FOR_WIDESEEK"},
                    {"kind": "tavily", "api_key": SECRET, "max_retries": 0,
                     "base_url": f"http://127.0.0.1:{free_port()}"},
                ],
            }
        )  # fmt: skip
        checks = {c.name: c for c in await web_checks(settings, timeout=5)}
        assert any(r.startswith("/search?") for r in web.requests)  # a real probe search
    assert checks["web search"].detail == "on"
    assert checks["home (searxng)"].ok is True and "1 hit" in checks["home (searxng)"].detail
    assert checks["dead (searxng)"].ok is False and "connect" in checks["dead (searxng)"].detail
    assert checks["brave (brave)"].ok is False
    assert "NO_SUCH_VARIABLE_FOR_WIDESEEK" in checks["brave (brave)"].detail
    assert checks["tavily (tavily)"].ok is False and "key set" in checks["tavily (tavily)"].detail
    assert all(SECRET not in c.detail for c in checks.values())


async def test_no_backend_and_web_off_is_not_a_failure() -> None:
    checks = await web_checks(load_settings(), probe=False)
    assert [(c.name, c.ok) for c in checks] == [("backends", None)]
    checks = await web_checks(load_settings(**{"web.enabled": True}), probe=False)
    assert checks[0].ok is False and "none configured" in checks[0].detail


async def test_all_checks_cover_models_and_corpora(tmp_path: Path) -> None:
    settings = load_settings(models={"default": {"backend": "openai", "model": "m",
                             "base_url": f"http://127.0.0.1:{free_port()}/v1"}})  # fmt: skip
    checks = await run_checks(settings, probe=False, timeout=2)
    by_area = {c.area for c in checks}
    assert by_area == {"models", "corpora", "web"}
    planner = next(c for c in checks if c.name == "planner")
    assert planner.ok is False
    assert next(c for c in checks if c.area == "corpora").ok is False  # nothing indexed


@pytest.mark.parametrize("probe", ["--no-probe"])
def test_doctor_command_prints_a_table_and_never_the_key(tmp_path: Path, probe: str) -> None:
    config = tmp_path / "wideseek.toml"
    config.write_text(
        '[models.default]\nbackend = "scripted"\n\n[web]\nenabled = true\n'
        f'[[web.backends]]\nkind = "serper"\napi_key = "{SECRET}"\n'
    )
    proc = run("doctor", "--config", str(config), probe, timeout=120)
    assert proc.returncode == 1, proc.stderr  # no corpus indexed: a failing row
    assert "serper (serper)" in proc.stdout and "key set" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


async def test_a_model_server_answering_its_model_list_is_ok(server: FakeOpenAI) -> None:
    server.script = lambda req: Reply(body={"object": "list", "data": [{"id": "m"}]})
    models = {"default": {"backend": "openai", "model": "m", "base_url": server.url,
                          "api_key": SECRET}}  # fmt: skip
    checks = await run_checks(load_settings(models=models), probe=False, timeout=5)
    planner = next(c for c in checks if c.name == "planner")
    assert planner.ok is True and "(listed)" in planner.detail
    assert server.requests[0].headers.get("authorization") == f"Bearer {SECRET}"
    assert all(SECRET not in c.detail for c in checks)


def test_an_outdated_corpus_is_a_failed_check_saying_how_to_rebuild(tmp_path: Path) -> None:
    import sqlite3

    from retriever.corpus_store import CorpusStore
    from retriever.types import Document
    from wideseek.doctor import _corpus_checks

    settings = load_settings(data_dir=tmp_path, corpora=["new", "old"])
    with CorpusStore(settings.corpus_db) as store:
        store.add_documents("new", [Document("a", "Some text.")])
        store.add_documents("old", [Document("b", "Other text.")])
    conn = sqlite3.connect(settings.corpus_db)
    conn.execute("UPDATE corpora SET format = 1 WHERE name = 'old'")
    conn.commit()
    conn.close()
    checks = {c.name: c for c in _corpus_checks(settings)}
    assert checks["new"].ok is True
    assert checks["old"].ok is False and "--rebuild" in checks["old"].detail
