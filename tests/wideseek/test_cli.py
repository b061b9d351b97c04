"""The `wideseek` command run as a real subprocess: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI, Reply, chat, chat_reply

DOCS = [
    {"id": "eiffel", "url": "https://example.org/eiffel", "title": "Eiffel Tower",
     "text": "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was "
             "completed in 1889 and designed by the company of Gustave Eiffel."},
    {"id": "louvre", "url": "https://example.org/louvre", "title": "Louvre",
     "text": "The Louvre is the world's most-visited art museum, in Paris. It houses the "
             "Mona Lisa, painted by Leonardo da Vinci."},
    {"id": "tokyo", "url": "https://example.org/tokyo", "title": "Tokyo",
     "text": "Tokyo is the capital of Japan and its most populous city."},
]  # fmt: skip


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wideseek", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "COLUMNS": "120"},
        timeout=timeout,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and needle in proc.stderr.replace("\n", " "), proc.stderr


@pytest.fixture
def mini_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "mini.jsonl"
    lines = [json.dumps(d) for d in DOCS] + ["{not json"]
    path.write_text("\n".join(lines) + "\n")
    proc = run("index", str(path), "--corpus", "mini")
    assert proc.returncode == 0, proc.stderr
    assert "indexed 3 documents" in proc.stderr
    assert "mini.jsonl:4" in proc.stderr  # the malformed line is reported by position
    return path


def test_index_and_corpus_list(mini_corpus: Path) -> None:
    proc = run("corpus", "list")
    assert proc.returncode == 0 and "mini" in proc.stdout and "3" in proc.stdout


def test_usage_errors_are_one_line() -> None:
    proc = run("ask", "a question", "an extra argument")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unexpected extra argument" in proc.stderr
    proc = run("cache", "search")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Missing argument" in proc.stderr


def test_empty_question() -> None:
    one_line_error(run("ask", "  "), "the question is empty")


def test_unknown_corpus(mini_corpus: Path) -> None:
    one_line_error(run("ask", "Where is the Louvre?", "--corpus", "nope"), "unknown corpus 'nope'")


def test_no_index_yet() -> None:
    one_line_error(run("ask", "Where is the Louvre?"), "wideseek index")


def test_corrupt_index(mini_corpus: Path, tmp_path: Path) -> None:
    db = Path(os.environ["WIDESEEK_DATA_DIR"]) / "corpus.db"
    db.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    one_line_error(run("ask", "Where is the Louvre?", "--corpus", "mini"), "corpus.db")


def test_missing_model_weights(mini_corpus: Path) -> None:
    proc = run(
        "ask", "Where is the Louvre?", "--corpus", "mini",
        env={"WIDESEEK_MODELS__DEFAULT__MODEL": "/no/such/model.gguf"},
    )  # fmt: skip
    one_line_error(proc, "neither a known embedded model")


def test_bad_config_key(tmp_path: Path) -> None:
    cfg = tmp_path / "w.toml"
    cfg.write_text("[budget]\nmax_stepz = 2\n")
    one_line_error(run("ask", "x", "--config", str(cfg)), "budget.max_stepz")


def test_model_server_unreachable(mini_corpus: Path) -> None:
    env = {
        "WIDESEEK_MODELS__DEFAULT__BACKEND": "openai",
        "WIDESEEK_MODELS__DEFAULT__BASE_URL": "http://127.0.0.1:9/v1",
        "WIDESEEK_MODELS__DEFAULT__MAX_RETRIES": "0",
    }
    one_line_error(run("ask", "Where is the Louvre?", "--corpus", "mini", env=env), "127.0.0.1:9")


def test_model_that_returns_garbage(mini_corpus: Path, server: FakeOpenAI) -> None:
    server.script = lambda req: (
        Reply(body={"object": "list", "data": [{"id": "m"}]})
        if req.path.endswith("/models")
        else chat_reply(req, "lorem ipsum dolor")
    )
    env = {
        "WIDESEEK_MODELS__DEFAULT__BACKEND": "openai",
        "WIDESEEK_MODELS__DEFAULT__BASE_URL": server.url,
        "WIDESEEK_MODELS__DEFAULT__MODEL": "m",
        # "unusable" needs the planner to have failed too: a one-fact question has no plan
        "WIDESEEK_SEARCH__PLAN": "always",
    }
    proc = run("ask", "Where is the Louvre?", "--corpus", "mini", env=env)
    one_line_error(proc, "model output unusable")
    assert len(server.chat_requests()) >= 3  # it really asked, several times, then gave up


@pytest.mark.slow
def test_ask_json_on_the_real_embedded_model(mini_corpus: Path) -> None:
    proc = run(
        "ask", "Which museum houses the Mona Lisa?", "--corpus", "mini", "--json",
        "--max-steps", "2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "louvre" in result["answer"].lower()
    assert result["citations"], result["answer"]
    read = {
        item["source_id"]
        for event in result["events"]
        if event["type"] == "observation"
        for item in event["data"]["items"]
    }
    for citation in result["citations"]:
        assert citation["source_id"] in read and citation["url"].startswith("https://example.org/")
    types = [e["type"] for e in result["events"]]
    assert types[0] == "plan" and types[-1] == "answer"
    assert {"goal", "tool_call", "observation", "reflection"} <= set(types)
    # a one-fact question: no planner call; the reflection drafts the answer
    assert result["events"][0]["data"]["planned_by"] == "question"
    assert result["usage"]["model_calls"] >= 1 and result["usage"]["total_tokens"] > 0


@pytest.mark.slow
def test_asked_again_or_related_the_knowledge_cache_is_reused(
    mini_corpus: Path, tmp_path: Path
) -> None:
    """Real model, real processes: the same question again returns the stored answer at once
    (no search, no model call); a question about a fact the first run stored recalls it, with
    its source, before searching."""
    question = ["ask", "Which museum houses the Mona Lisa?", "--corpus", "mini", "--json",
                "--max-steps", "2"]  # fmt: skip
    started = time.perf_counter()
    first_proc = run(*question)
    first_wall = time.perf_counter() - started
    assert first_proc.returncode == 0, first_proc.stderr
    first = json.loads(first_proc.stdout.strip().splitlines()[-1])
    assert first["usage"]["tool_calls"] >= 1 and first["citations"]

    started = time.perf_counter()
    again_proc = run(question[0], "which museum houses the  Mona Lisa?", *question[2:])
    again_wall = time.perf_counter() - started
    assert again_proc.returncode == 0, again_proc.stderr
    again = json.loads(again_proc.stdout.strip().splitlines()[-1])
    assert [e["type"] for e in again["events"]] == ["cache_hit", "answer"]
    assert again["usage"]["tool_calls"] == 0 and again["usage"]["model_calls"] == 0
    assert again["reused_from"] == first["run_id"] and again["answer"] == first["answer"]
    assert again["timings"]["wall_seconds"] * 5 < first["timings"]["wall_seconds"]
    assert again_wall * 5 < first_wall, (again_wall, first_wall)  # the whole process, too

    exported = tmp_path / "facts.jsonl"
    assert run("cache", "export", str(exported)).returncode == 0
    facts = [json.loads(line) for line in exported.read_text().splitlines()]
    assert facts, "the first run stored no fact"
    fact = facts[0]
    assert fact["source"]["source_id"].startswith("mini:")
    related = run(
        "ask", f"What is the {fact['attribute']} of {fact['subject']}?", "--corpus", "mini",
        "--json", "--max-steps", "2",
    )  # fmt: skip
    assert related.returncode == 0, related.stderr
    result = json.loads(related.stdout.strip().splitlines()[-1])
    hits = [e["data"] for e in result["events"] if e["type"] == "cache_hit"]
    assert hits and hits[0]["kind"] == "facts"
    recalled = {(f["subject"], f["value"], f["source_id"]) for f in hits[0]["facts"]}
    assert (fact["subject"], fact["value"], fact["source"]["source_id"]) in recalled
    assert all(f["url"].startswith("https://example.org/") for f in hits[0]["facts"])


def test_fresh_and_clear_options(mini_corpus: Path) -> None:
    proc = run("ask", "--help")
    assert proc.returncode == 0 and "--fresh" in proc.stdout
    cleared = run("cache", "clear")
    assert (
        cleared.returncode == 0 and "answers" in cleared.stdout and "tool_cache" in cleared.stdout
    )
    searched = run("cache", "search", "anything at all")
    assert searched.returncode == 0 and "no stored facts match" in searched.stdout


BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"


@pytest.mark.slow
@pytest.mark.skipif(not BENCH.is_dir(), reason=f"{BENCH} is not present")
def test_eval_end_to_end_on_the_embedded_model(tmp_path: Path) -> None:
    """`wideseek eval` over the offline corpus, one dev task, real model: responses, scores,
    reports; then `wideseek score` on the same responses agrees."""
    for name in ("debian", "factbook", "wiki"):
        proc = run("index", str(BENCH / "corpus" / f"{name}.jsonl.gz"), "--corpus", name)
        assert proc.returncode == 0, proc.stderr
    tasks = tmp_path / "tasks.jsonl"
    lines = (BENCH / "dev" / "tasks.jsonl").read_text().splitlines()
    tasks.write_text("\n".join([*lines[:1], "{broken line"]) + "\n")
    out = tmp_path / "out"
    proc = run(
        "eval", str(tasks), "--gold", str(BENCH / "dev" / "gold"), "--out", str(out),
        "--corpus", "debian", "--corpus", "factbook", "--corpus", "wiki", "--json",
        env={"WIDESEEK_BUDGET__MAX_STEPS": "2"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "line 2" in proc.stderr  # the malformed line is reported, the batch still runs
    overall = json.loads(proc.stdout.strip().splitlines()[-1])
    assert overall["tasks"] == 1 and 0.0 <= overall["item_f1"]["avg_n"] <= 1.0
    for name in ("summary.md", "results.jsonl", "item_f1.png", "runs.jsonl"):
        assert (out / name).exists(), name
    assert len(list((out / "responses").glob("*.md"))) == 1
    scored = run(
        "score", str(tasks), "--gold", str(BENCH / "dev" / "gold"),
        "--responses", str(out / "responses"), "--json",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["overall"]["item_f1"] == overall["item_f1"]
    # a finished batch is not rerun: --resume finds nothing to do
    again = run(
        "eval", str(tasks), "--gold", str(BENCH / "dev" / "gold"), "--out", str(out),
        "--corpus", "wiki", "--resume", "--json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert len((out / "runs.jsonl").read_text().splitlines()) == 1


def test_embed_stats_and_hybrid_tools(mini_corpus: Path) -> None:
    proc = run("corpus", "embed", "mini")
    assert proc.returncode == 0, proc.stderr
    assert "3 of 3 have vectors" in proc.stderr
    stats = run("corpus", "stats")
    assert stats.returncode == 0 and "FAISS" in stats.stdout
    assert any(line.split("│")[1:5] and line.split("│")[4].strip() == "3"
               for line in stats.stdout.splitlines() if "mini" in line)  # fmt: skip
    # the agent's search tool now fuses dense vectors with BM25
    from agent import Researcher, load_settings

    tools = Researcher(load_settings(corpora=["mini"])).tools()
    search = tools.get("search")
    assert getattr(search, "vectors", None) is not None
    hits = search.search("artwork of a famous Italian painter", 1)  # type: ignore[attr-defined]
    assert hits[0].doc_id == "louvre"


def test_cache_commands(mini_corpus: Path) -> None:
    stats = run("cache", "stats")
    assert stats.returncode == 0 and '"facts": 0' in stats.stdout.replace("\n", " ")
    cleared = run("cache", "clear", "tool_cache")
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    one_line_error(run("cache", "clear", "everything"), "clear what?")


def test_cache_search_by_meaning_and_export(mini_corpus: Path, tmp_path: Path) -> None:
    from memory import KnowledgeCache

    with KnowledgeCache(tmp_path / "data" / "knowledge.db") as cache:
        cache.add_document("mini:louvre", "https://example.org/louvre", "Louvre", "mini")
        cache.record_fact("Mona Lisa", "painter", "Leonardo da Vinci", "mini:louvre", "r1")
        cache.record_fact("Tokyo", "country", "Japan", "mini:tokyo", "r1")
    found = run("cache", "search", "who made the famous portrait of Lisa Gherardini")
    assert found.returncode == 0, found.stderr
    assert "Leonardo da Vinci" in found.stdout and "example.org/louvre" in found.stdout
    assert "Japan" not in found.stdout
    stats = json.loads(run("cache", "stats").stdout)
    assert stats["facts"] == 2 and stats["fact_index"]["vectors"] == 2  # saved beside the db
    words = run("cache", "search", "Tokyo country", "--words")
    assert words.returncode == 0 and "Japan" in words.stdout
    out = tmp_path / "facts.csv"
    exported = run("cache", "export", str(out), "--format", "csv")
    assert exported.returncode == 0 and "exported 2 facts" in exported.stdout
    assert "Leonardo da Vinci" in out.read_text()


def test_cache_facts_lists_ids_and_forget_removes_them(mini_corpus: Path, tmp_path: Path) -> None:
    from memory import KnowledgeCache

    with KnowledgeCache(tmp_path / "data" / "knowledge.db") as cache:
        cache.add_document("mini:tokyo", "https://example.org/tokyo", "Tokyo", "mini")
        good = cache.record_fact("Tokyo", "country", "Japan", "mini:tokyo", "r1")
        wrong = cache.record_fact("Mongolia", "capital", "Mongolia", "mini:tokyo", "r1")
        cache.put_answer("What is the capital of Mongolia?", "scope", "Mongolia [1].", {}, "r1")
    listed = run("cache", "facts")
    assert listed.returncode == 0, listed.stderr
    assert "Mongolia" in listed.stdout and "Japan" in listed.stdout
    assert run("cache", "facts", "Tokyo").stdout.count("Japan") == 1
    forgot = run("cache", "forget", str(wrong), "999")
    assert forgot.returncode == 0, forgot.stderr
    assert "removed 1 facts and 1 stored answers (1 of the ids" in forgot.stdout
    with KnowledgeCache(tmp_path / "data" / "knowledge.db") as cache:
        assert cache.fact_ids() == [good] and cache.stats()["answers"] == 0
    assert "Mongolia" not in run("cache", "facts").stdout
    none = run("cache", "forget", "999")
    assert none.returncode == 1 and "removed 0 facts" in none.stdout
    bad = run("cache", "forget", "abc")  # the usage error of the command line parser
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "integer" in bad.stderr


def test_an_embeddings_endpoint_replaces_minilm_by_config(
    mini_corpus: Path, server: FakeOpenAI
) -> None:
    def embed(req: Any) -> Reply:
        data = [{"index": i, "embedding": [float(len(t)), 1.0, 0.5]}
                for i, t in enumerate(req.body["input"])]  # fmt: skip
        return Reply(body={"object": "list", "data": data, "model": req.body["model"]})

    server.script = embed
    env = {"WIDESEEK_EMBEDDINGS__ENCODER": server.url, "WIDESEEK_EMBEDDINGS__MODEL": "e5-small"}
    proc = run("corpus", "embed", "mini", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "3 of 3 have vectors" in proc.stderr
    assert {r.path for r in server.requests} == {"/v1/embeddings"}
    assert all(r.body["model"] == "e5-small" for r in server.requests)
    # the default encoder (MiniLM) will not use vectors made by another model: said clearly
    stats = run("corpus", "stats")
    said = stats.stderr.replace("\n", " ")
    assert stats.returncode == 0 and "3-d vectors, not 384-d" in said
    assert said.count("warning:") == 1
    # an unreachable endpoint is one line, not a traceback
    down = {"WIDESEEK_EMBEDDINGS__ENCODER": "http://127.0.0.1:9/v1",
            "WIDESEEK_EMBEDDINGS__MODEL": "m"}  # fmt: skip
    one_line_error(run("corpus", "embed", "mini", env=down), "127.0.0.1:9")


def _wide_corpus(tmp_path: Path) -> Path:
    from tests.agent.wide.corpus import RIVERS, river_page

    path = tmp_path / "rivers.jsonl"
    docs = [river_page(*r) for r in RIVERS]
    path.write_text(
        "\n".join(
            json.dumps({"id": d.doc_id, "url": d.url, "title": d.title, "text": d.text})
            for d in docs
        )
        + "\n"
    )
    proc = run("index", str(path), "--corpus", "rivers")
    assert proc.returncode == 0, proc.stderr
    return path


def test_ask_format_csv_and_json_print_the_table(tmp_path: Path, server: FakeOpenAI) -> None:
    from agent.llm.base import Message
    from tests.agent.wide.test_nodes import PLAN, QUESTION, oracle

    _wide_corpus(tmp_path)
    answer = oracle(PLAN)

    def script(req: Any) -> Reply:
        if req.path.endswith("/models"):
            return Reply(body={"object": "list", "data": [{"id": "m"}]})
        messages = [Message(m["role"], m["content"]) for m in req.body["messages"]]
        return chat_reply(req, answer(messages))

    server.script = script
    env = {
        "WIDESEEK_MODELS__DEFAULT__BACKEND": "openai",
        "WIDESEEK_MODELS__DEFAULT__BASE_URL": server.url,
        "WIDESEEK_MODELS__DEFAULT__MODEL": "m",
    }
    proc = run("ask", QUESTION, "--corpus", "rivers", "--format", "csv", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "River,Length (km),Mouth"
    assert sorted(lines[1:]) == [
        "Danube,2850,Black Sea", "Elbe,1094,North Sea", "Rhine,1230,North Sea",
        "Volga,3530,Caspian Sea",
    ]  # fmt: skip
    proc = run("ask", QUESTION, "--corpus", "rivers", "--format", "json", "--fresh", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {"River": "Volga", "Length (km)": "3530", "Mouth": "Caspian Sea"} in rows
    proc = run("ask", QUESTION, "--corpus", "rivers", "--format", "xml", env=env)
    one_line_error(proc, "--format must be text, csv or json")


def test_tui_command_exists_and_bad_config_is_one_line(tmp_path: Path) -> None:
    proc = run("tui", "--help")
    assert proc.returncode == 0 and "--corpus" in proc.stdout and "terminal" in proc.stdout
    one_line_error(run("tui", "--config", str(tmp_path / "missing.toml")), "does not exist")


TOOL_FIXTURES = Path(__file__).parents[1] / "tools" / "fixtures"


def test_tools_import_and_list(tmp_path: Path) -> None:
    spec = tmp_path / "petstore.json"
    spec.write_text((TOOL_FIXTURES / "petstore.json").read_text())
    proc = run("tools", "import", str(spec))
    assert proc.returncode == 0, proc.stderr
    assert "8 tools imported from petstore.json as petstore" in proc.stdout
    assert "listPets" in proc.stdout and "DELETE /pets/{petId}" in proc.stdout
    assert "calls need a secret: set WIDESEEK_TOOL_PETSTORE_TOKEN" in proc.stdout
    assert "not imported" not in proc.stdout
    # some operations broken: those are listed, the rest imported; the secret is in the env
    (tmp_path / "wideseek.toml").write_text('[tools.apis.half]\nbase_url = "http://127.0.0.1:1"\n')
    env = {"WIDESEEK_TOOL_PETSTORE_TOKEN": "tok-123"}
    proc = run("tools", "import", str(TOOL_FIXTURES / "broken_ops.json"), "--name", "half", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "2 tools imported" in proc.stdout and "7 not imported" in proc.stdout
    assert "unresolvable $ref '#/components/schemas/Missing'" in proc.stdout
    assert "'in: cookie' is not supported" in proc.stdout
    assert "no base URL" not in proc.stdout  # wideseek.toml's [tools.apis.half] has one
    proc = run("tools", "import", str(spec), "--base-url", "http://127.0.0.1:2/v1", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "replaced 8 tools of an earlier import of petstore" in proc.stdout
    assert "calls need a secret" not in proc.stdout
    proc = run("tools", "list", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("│")[1:3] for line in proc.stdout.splitlines() if line.count("│") == 4]
    rows = [[cell.strip() for cell in row] for row in rows if row[0].strip()]
    assert rows[:2] == [["search", "builtin"], ["read", "builtin"]]
    assert ["listThings", "openapi:broken_ops.json"] in rows
    assert ["getInventory", "openapi:petstore.json"] in rows and len(rows) == 12


def test_tools_import_errors_are_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("these are notes: not a spec [at all]\n")
    proc = run("tools", "import", str(text))
    assert proc.returncode == 2
    one_line_error(proc, "notes.txt")
    one_line_error(run("tools", "import", str(tmp_path / "nope.json")), "nope.json does not exist")
    broken = tmp_path / "all_broken.json"
    broken.write_text(json.dumps({"openapi": "3.0.0", "paths": {"/a/{b}": {"get": {}}}}))
    proc = run("tools", "import", str(broken))
    assert proc.returncode == 2 and "path parameter {b} is not declared" in proc.stdout
    one_line_error(proc, "no tool could be imported from")
    spec = str(TOOL_FIXTURES / "petstore.json")
    one_line_error(run("tools", "import", spec, "--base-url", "ftp://x"), "must start with http")
    one_line_error(run("tools", "import", spec, "--name", "a b"), "--name 'a b'")
    (tmp_path / "wideseek.toml").write_text("[tools.apis.petstore]\nbase_uri = 'http://x'\n")
    one_line_error(run("tools", "list"), "tools.apis.petstore.base_uri")
    (tmp_path / "wideseek.toml").unlink()
    db = Path(os.environ["WIDESEEK_DATA_DIR"]) / "tools.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    one_line_error(run("tools", "list"), "tools.db")


def test_ask_web_searches_the_web_and_cites_the_page(tmp_path: Path, server: FakeOpenAI) -> None:
    """`ask --web` end to end in a real process: a SearxNG-style backend and its page on
    127.0.0.1 (allow-listed in wideseek.toml), the model behind the OpenAI API."""
    from tests.agent.fake_web import FakeWeb, page

    plan = {"task_kind": "lookup", "columns": [], "sub_goals": [{
        "goal": "Find when the Harbour Bridge opened", "evidence_needed": "the date",
        "query": "Harbour Bridge opened"}]}  # fmt: skip
    satisfied = {"evidence": "opened on 19 March 1932 [1]", "facts": [], "missing": "",
                 "verdict": "satisfied", "next_action": "next_goal", "query": "",
                 "read": 0}  # fmt: skip

    def script(req: Any) -> Reply:
        if req.path.endswith("/models"):
            return Reply(body={"object": "list", "data": [{"id": "m"}]})
        system = req.body["messages"][0]["content"]
        if "planner of a research assistant" in system:
            return Reply(body=chat(json.dumps(plan)))
        if "reflection step" in system:
            return Reply(body=chat(json.dumps(satisfied)))
        return chat_reply(req, "The Harbour Bridge opened on 19 March 1932 [1].")

    server.script = script
    config = tmp_path / "web.toml"
    config.write_text(
        '[models.default]\nbackend = "openai"\nmodel = "m"\n'
        f'base_url = "{server.url}"\n\n[web]\nallow_hosts = ["127.0.0.1"]\n'
    )
    bridge = page("Harbour Bridge", "The Harbour Bridge was opened on 19 March 1932.")
    with FakeWeb({"/bridge": bridge}).running() as web:
        env = {"WIDESEEK_SEARXNG_URL": web.base_url}
        proc = run("ask", "When did the Harbour Bridge open?", "--web", "--json",
                   "--config", str(config), env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert "1932" in result["answer"]
        assert result["citations"][0]["url"] == web.base_url + "/bridge"
        assert any(r.startswith("/search?") for r in web.requests)
        # without --web (and [web] off) the same question never reaches the web
        before = len(web.requests)
        no_web = run("ask", "When did the Harbour Bridge open?", "--json", "--config",
                     str(config), env=env)  # fmt: skip
        assert len(web.requests) == before
        one_line_error(no_web, "no corpus is indexed")
    # --web with no backend anywhere: one clear line
    one_line_error(
        run("ask", "When did it open?", "--web", "--config", str(config)),
        "no backend is configured",
    )


def test_an_old_format_corpus_must_be_rebuilt(mini_corpus: Path) -> None:
    db = Path(os.environ["WIDESEEK_DATA_DIR"]) / "corpus.db"
    conn = sqlite3.connect(db)  # what a corpus indexed by an older wideseek looks like
    conn.execute("UPDATE corpora SET format = 1 WHERE name = 'mini'")
    conn.commit()
    conn.close()
    proc = run("corpus", "list")
    assert proc.returncode == 0 and "old: re-index" in proc.stdout and "--rebuild" in proc.stdout
    one_line_error(run("index", str(mini_corpus), "--corpus", "mini"), "--rebuild")
    proc = run("index", str(mini_corpus), "--corpus", "mini", "--rebuild")
    assert proc.returncode == 0, proc.stderr
    assert "removed corpus mini" in proc.stderr and "indexed 3 documents" in proc.stderr
    proc = run("corpus", "list")
    assert "old: re-index" not in proc.stdout


def test_the_default_corpus_is_rebuilt_when_outdated() -> None:
    assert run("index", "--default").returncode == 0
    db = Path(os.environ["WIDESEEK_DATA_DIR"]) / "corpus.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE corpora SET format = 1")
    conn.commit()
    conn.close()
    proc = run("index", "--default")  # its source is known: no --rebuild needed
    assert proc.returncode == 0, proc.stderr
    assert "removed corpus" in proc.stderr and "indexed" in proc.stderr
    assert "old: re-index" not in run("corpus", "list").stdout


def test_ask_prints_the_answer_as_it_is_written(
    mini_corpus: Path, server: FakeOpenAI, tmp_path: Path
) -> None:
    """A real `wideseek ask` against a model server on 127.0.0.1: the writer's reply, streamed
    in pieces, is printed as the pieces arrive (before the stream has ended), under a draft
    header; then what the support check removed, then the checked answer's panel."""
    import re
    import threading

    from tests.fake_openai import stream_chunk

    hold = threading.Event()  # the stream stops half-way until the test has seen its start
    pieces = ["The Louvre ", "houses the ", "Mona Lisa [", "{n}]. It was ", "built by Napoleon",
              " in 1793 [{n}]."]  # fmt: skip

    def number(text: str, title: str) -> int:
        # the reflection's results read "[n] title ...", the writer's sources <source n="n" ...>
        found = re.search(rf'(?:\[(\d+)\]|n="(\d+)")[^\n]*{title}', text)
        assert found, text
        return int(found.group(1) or found.group(2))

    def script(req: Any) -> Reply:
        if req.path.endswith("/models"):
            return Reply(body={"object": "list", "data": [{"id": "m"}]})
        system, user = (m["content"] for m in req.body["messages"][:2])
        if req.body.get("stream"):
            n = number(user, "Louvre")
            chunks: list[str | threading.Event] = [stream_chunk(p.format(n=n)) for p in pieces]
            chunks.insert(3, hold)
            return Reply(sse=[*chunks, stream_chunk(finish="stop"), "[DONE]"])
        if "reflection step" in system:
            n = number(user, "Louvre")
            reflection = {
                "evidence": f"It houses the Mona Lisa, painted by Leonardo da Vinci [{n}]",
                "answer": "",  # no drafted answer: the writer is called, streaming
                "facts": [], "missing": "", "verdict": "satisfied",
                "next_action": "next_goal", "query": "", "read": 0,
            }  # fmt: skip
            return Reply(body=chat(json.dumps(reflection)))
        return Reply(status=500, body={"error": {"message": f"unexpected call: {system[:80]}"}})

    server.script = script
    env = {
        "WIDESEEK_MODELS__DEFAULT__BACKEND": "openai",
        "WIDESEEK_MODELS__DEFAULT__BASE_URL": server.url,
        "WIDESEEK_MODELS__DEFAULT__MODEL": "m",
        "WIDESEEK_MODELS__DEFAULT__MAX_RETRIES": "0",
        "COLUMNS": "120",
    }
    err = tmp_path / "stderr.txt"
    with err.open("wb") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wideseek", "ask", "Which museum houses the Mona Lisa?",
             "--corpus", "mini"],
            stdout=subprocess.PIPE, stderr=err_file, env={**os.environ, **env},
        )  # fmt: skip
    out = bytearray()

    def read_stdout() -> None:
        assert proc.stdout is not None
        while data := os.read(proc.stdout.fileno(), 4096):
            out.extend(data)

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while b"Mona Lisa [" not in out and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        shown = out.decode()
        # the first pieces are on screen while the writer is still writing
        assert "Answer (draft, checking sources…)" in shown, (shown, err.read_text())
        assert "The Louvre houses the Mona Lisa [" in shown
        assert "Napoleon" not in shown and "Sources" not in shown and proc.poll() is None
    finally:
        hold.set()
    try:
        assert proc.wait(120) == 0, err.read_text()
    finally:
        proc.kill()
    reader.join(10)
    stdout = out.decode()
    assert "Traceback" not in err.read_text()
    n = number(next(r.body["messages"][1]["content"] for r in server.chat_requests()
                    if r.body.get("stream")), "Louvre")  # fmt: skip
    draft = "".join(p.format(n=n) for p in pieces)
    lines = stdout.splitlines()
    # the pieces as they came, on one line (not a progress line each), "[n]" kept as text
    drafted = [i for i, line in enumerate(lines) if line == draft]
    assert len(drafted) == 1, stdout
    assert lines[drafted[0] - 1] == "Answer (draft, checking sources…)"
    removed = [i for i, line in enumerate(lines) if "removed 1 of 2 sentences" in line]
    panel = [i for i, line in enumerate(lines) if "Answer" in line and "╭" in line]
    assert len(removed) == 1 and len(panel) == 1, stdout
    assert drafted[0] < removed[0] < panel[0]
    final = "\n".join(lines[panel[0] :])
    assert f"The Louvre houses the Mona Lisa [{n}]" in final and "Napoleon" not in final
    assert "Louvre" in final.split("Sources")[1]  # the cited source, resolved at the end
    streamed = [r for r in server.chat_requests() if r.body.get("stream")]
    assert len(streamed) == 1 and streamed[0].body["stream_options"] == {"include_usage": True}
