"""The `wideseek` command: ask, tui, index, corpus, tools, resume, runs, config, demo.

Every expected failure (bad config, unknown corpus, missing weights, corrupt index, a model that
returns garbage) ends with a one-line error and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from wideseek.render import AnswerDraft, event_line, print_result, table_csv

if TYPE_CHECKING:
    from rich.status import Status

    from agent.events import Event

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="wideseek: plans, searches, reads, reflects and answers with sources.",
)
corpus_app = typer.Typer(help="Indexed corpora.", no_args_is_help=True)
runs_app = typer.Typer(help="Past runs.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
app.add_typer(runs_app, name="runs")

console = Console()
err_console = Console(stderr=True)

SAMPLE_QUESTION = "Who developed the theory of general relativity, and when was it published?"

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="wideseek.toml to read", show_default=False)
]
CorpusOpt = Annotated[
    list[str] | None,
    typer.Option("--corpus", help="corpus to search (repeatable)", show_default=False),
]


class CliError(Exception):
    """An expected failure: printed as one line, exit code 2."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    from agent.errors import expected_errors

    return (CliError, *expected_errors())


def _settings(config: Path | None, **overrides: Any) -> Any:
    from agent.config import load_settings

    return load_settings(config, **overrides)


# --- ask ---------------------------------------------------------------------------------------


_NEXT_PHASE = {
    "plan": "searching…",
    "tool_call": "running tool…",
    "observation": "reflecting…",
    "reflection": "choosing next step…",
    "goal": "searching…",
}
"""What the spinner says after an event of each type (anything else: "working…")."""


class _ProgressPrinter:
    """Prints a run's events as progress lines, and the answer live as it is written: the
    `answer_delta` pieces go on one growing draft (`AnswerDraft`), not one line each. With a
    `status` spinner, the spinner shows between events and is stopped while the draft
    streams."""

    def __init__(self, status: Status | None = None) -> None:
        self.status = status
        self.draft = AnswerDraft(console)

    def __call__(self, event: Event) -> None:
        if event.type == "answer_delta":
            if self.status and not self.draft.open:
                self.status.stop()
            self.draft.add(str(event.data.get("text", "")))
            return
        self.draft.close()
        if self.status:
            self.status.stop()
        console.print(event_line(event))
        if self.status:
            next_phase = _NEXT_PHASE.get(event.type, "working…")
            if event.type == "reflection" and event.data.get("decision") == "answer":
                next_phase = "writing the answer…"
            self.status.update(next_phase)
            self.status.start()

    def close(self) -> None:
        self.draft.close()
        if self.status:
            self.status.stop()


async def _ask(
    settings: Any, question: str, as_json: bool, quiet: bool, output: str = "text"
) -> int:
    from agent.researcher import Researcher

    researcher = Researcher(settings)
    researcher.tools()  # fail fast on unknown corpus / missing index, before loading a model
    printer: _ProgressPrinter | None = None
    if not as_json and not quiet:
        console.print(f"[bold]Question:[/] {question}")
        status = console.status("planning…", spinner="dots")
        status.start()
        printer = _ProgressPrinter(status)
    try:
        result = await researcher.arun(question, on_event=printer)
    finally:
        if printer:
            printer.close()
        await researcher.aclose()
    if output in ("csv", "json") and result.table is None:
        err_console.print(
            f"[bold red]error:[/] --format {output} needs a table, and this answer has none "
            "(not a list/table question); the answer follows"
        )
        print_result(console, result)
        return 1
    if output == "csv":
        sys.stdout.write(table_csv(result))
    elif output == "json":
        sys.stdout.write(json.dumps(result.table, ensure_ascii=False) + "\n")
    elif as_json:
        sys.stdout.write(result.model_dump_json() + "\n")
    else:
        print_result(console, result)
    if result.stop_reason.startswith(("writer failed", "model output unusable")):
        err_console.print(
            f"[bold red]error:[/] {result.stop_reason} (run {result.run_id}; the answer above "
            "is only the evidence found)",
            highlight=False,
        )
        return 1
    return 0


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question to research")],
    corpus: CorpusOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the ResearchResult as one JSON object")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only the answer")] = False,
    output: Annotated[
        str,
        typer.Option(
            "--format",
            help="text (default), or for a table question: csv or json (the table's rows)",
        ),
    ] = "text",
    max_steps: Annotated[int | None, typer.Option(help="search/read steps")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="wall-time budget")] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="research again: no stored answer, stored facts or cached tool results are "
            "reused (what this run learns is still stored)",
        ),
    ] = False,
    web: Annotated[
        bool | None,
        typer.Option(
            "--web/--no-web",
            help="also search the web and read URLs ([web] backends in wideseek.toml, or "
            "BRAVE_API_KEY / TAVILY_API_KEY / SERPER_API_KEY / WIDESEEK_SEARXNG_URL)",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Research QUESTION over the indexed corpora (and the web: --web) with numbered sources."""
    if not question.strip():
        raise CliError("the question is empty")
    if output not in ("text", "csv", "json"):
        raise CliError(f"--format must be text, csv or json, not {output!r}")
    reuse = {
        f"knowledge.{key}": False
        for key in ("reuse_answers", "recall_facts", "reuse_tool_results")
        if fresh
    }
    settings = _settings(
        config,
        corpora=corpus or None,
        **{
            "budget.max_steps": max_steps,
            "budget.max_seconds": max_seconds,
            "web.enabled": web,
            **reuse,
        },
    )
    quiet = quiet or output != "text"
    raise typer.Exit(asyncio.run(_ask(settings, question.strip(), as_json, quiet, output)))


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="id of an interrupted run")],
    config: ConfigOpt = None,
) -> None:
    """Continue an interrupted run from its last checkpoint."""
    from agent.researcher import Researcher

    settings = _settings(config)

    async def go() -> None:
        researcher = Researcher(settings)
        printer = _ProgressPrinter()
        try:
            result = await researcher.aresume(run_id, on_event=printer)
        finally:
            printer.close()
            await researcher.aclose()
        print_result(console, result)

    asyncio.run(go())


# --- indexing ----------------------------------------------------------------------------------


def _index_documents(
    settings: Any,
    corpus: str,
    docs: Any,
    label: str,
    *,
    rebuild: bool = False,
    rebuild_outdated: bool = False,
) -> int:
    """Index `docs` into `corpus` with a progress bar. `rebuild` replaces the corpus first; a
    corpus indexed in an older document format is never added to: it is replaced when
    `rebuild_outdated` (the caller has the whole source), else the error says to rebuild."""
    from retriever.corpus_store import DOCUMENT_FORMAT, CorpusStore, OutdatedCorpusError

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = CorpusStore(settings.corpus_db)
    found = store.corpus_format(corpus)
    rebuild = rebuild or (rebuild_outdated and found is not None and found < DOCUMENT_FORMAT)
    if found is not None and (rebuild or found < DOCUMENT_FORMAT):
        if not rebuild:
            store.close()
            raise CliError(str(OutdatedCorpusError(corpus, found)))
        store.remove_corpus(corpus)
        err_console.print(f"removed corpus [bold]{corpus}[/] to index it anew")
    started = time.perf_counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=None)
        count = store.add_documents(
            corpus, docs, progress=lambda n: progress.update(task, completed=n)
        )
        progress.update(task, total=count, completed=count)
    store.close()
    err_console.print(
        f"indexed {count} documents into corpus [bold]{corpus}[/] "
        f"in {time.perf_counter() - started:.1f} s ({settings.corpus_db})"
    )
    return count


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="JSONL(.gz), Markdown, text or HTML files/dirs")
    ] = None,
    corpus: Annotated[str | None, typer.Option("--corpus", help="corpus name")] = None,
    default: Annotated[
        bool, typer.Option("--default", help="index the default corpus (Wikipedia summaries)")
    ] = False,
    embed: Annotated[
        bool,
        typer.Option("--embed", help="also build dense vectors (MiniLM; resumable, ~25-40/s)"),
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="replace the corpus instead of adding to it (needed once for a corpus "
            "indexed by an older wideseek)",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Add documents to a corpus (incremental: re-indexing a document replaces it)."""
    from retriever.default_corpus import DEFAULT_CORPUS, default_corpus_documents
    from retriever.ingest import IngestReport, load_documents

    settings = _settings(config)
    if default:  # its source is known: an outdated default corpus is simply rebuilt
        name = corpus or DEFAULT_CORPUS
        _index_documents(
            settings,
            name,
            default_corpus_documents(),
            "default corpus",
            rebuild=rebuild,
            rebuild_outdated=True,
        )
        if embed:
            _embed(settings, [corpus or DEFAULT_CORPUS])
        if not paths:
            return
    if not paths:
        raise CliError("give PATH... to index, or --default for the default corpus")
    for path in paths:
        if not path.exists():
            raise CliError(f"{path} does not exist")
    # --corpus NAME: everything into NAME; else one corpus per path, named after the file
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(corpus or path.name.split(".")[0], []).append(path)
    report = IngestReport()

    def documents(group: list[Path]) -> Any:
        for path in group:
            yield from load_documents(path, report=report)

    for name, group in groups.items():
        _index_documents(settings, name, documents(group), f"indexing {name}", rebuild=rebuild)
    if embed:
        _embed(settings, list(groups))
    err_console.print(report.summary())
    for problem in report.problems:
        err_console.print(f"[yellow]skipped[/] {problem}", highlight=False)
    if report.problem_count > len(report.problems):
        err_console.print(f"… and {report.problem_count - len(report.problems)} more problems")


def _embed(settings: Any, corpora: list[str] | None) -> None:
    """Build (or continue building) the dense vectors of `corpora`, with progress and ETA."""
    from retriever.corpus_store import CorpusStore
    from retriever.vectors import CorpusVectors

    store = CorpusStore(settings.corpus_db)
    vectors = CorpusVectors(store, settings.embeddings.build())
    vectors.load()  # a damaged or mismatched file is reported (a warning) and rebuilt
    done, total = vectors.coverage(corpora)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]embedding passages"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    ) as progress:
        task = progress.add_task("embed", total=total, completed=done)
        added = vectors.build(
            corpora, progress=lambda n, t: progress.update(task, completed=n, total=t)
        )
    done, total = vectors.coverage(corpora)
    err_console.print(f"embedded {added} passages; {done} of {total} have vectors")
    store.close()


@corpus_app.command("embed")
def corpus_embed(
    names: Annotated[list[str] | None, typer.Argument(help="corpora (default: all)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Build dense vectors for hybrid search; resumable (Ctrl-C keeps what is done)."""
    settings = _settings(config)
    if not settings.corpus_db.exists():
        raise CliError("no corpus indexed yet: wideseek index PATH --corpus NAME")
    _embed(settings, names or None)


@corpus_app.command("list")
def corpus_list(config: ConfigOpt = None) -> None:
    """List indexed corpora."""
    from rich.table import Table

    from retriever.corpus_store import CorpusStore

    settings = _settings(config)
    if not settings.corpus_db.exists():
        console.print("no corpora indexed yet: wideseek index PATH --corpus NAME")
        return
    store = CorpusStore(settings.corpus_db)
    table = Table("corpus", "documents", "passages", "updated", "format")
    outdated = []
    for info in store.corpora():
        table.add_row(
            info.name,
            str(info.documents),
            str(info.passages),
            f"{info.updated:%Y-%m-%d %H:%M}",
            f"{info.format} (old: re-index)" if info.outdated else str(info.format),
        )
        if info.outdated:
            outdated.append(info.name)
    console.print(table)
    if outdated:
        console.print(
            f"[yellow]{', '.join(outdated)}: indexed by an older wideseek without document "
            "structure (sections, tables); re-index with `wideseek index PATH --corpus NAME "
            "--rebuild`[/]"
        )


@corpus_app.command("stats")
def corpus_stats(config: ConfigOpt = None) -> None:
    """Corpora with their dense-vector coverage and the index sizes on disk."""
    from rich.table import Table

    from retriever.corpus_store import CorpusStore
    from retriever.vectors import default_index_path

    settings = _settings(config)
    if not settings.corpus_db.exists():
        raise CliError("no corpus indexed yet: wideseek index PATH --corpus NAME")
    store = CorpusStore(settings.corpus_db)
    index_path = default_index_path(settings.corpus_db)
    vectors = None
    if index_path.exists():
        from retriever.vectors import CorpusVectors

        vectors = CorpusVectors(store, settings.embeddings.build())
        if not vectors.load():  # the warning says why
            vectors = None
    table = Table("corpus", "documents", "passages", "with vectors")
    for info in store.corpora():
        done = vectors.coverage([info.name])[0] if vectors else 0
        table.add_row(info.name, str(info.documents), str(info.passages), str(done))
    console.print(table)
    size = settings.corpus_db.stat().st_size / 1e6
    dense = index_path.stat().st_size / 1e6 if index_path.exists() else 0.0
    console.print(f"SQLite {size:.1f} MB · FAISS {dense:.1f} MB · {settings.corpus_db.parent}")


@corpus_app.command("remove")
def corpus_remove(name: str, config: ConfigOpt = None) -> None:
    """Remove a corpus and its documents."""
    from retriever.corpus_store import CorpusStore

    settings = _settings(config)
    store = CorpusStore(settings.corpus_db)
    if not store.has_corpus(name):
        raise CliError(f"unknown corpus {name!r}")
    store.remove_corpus(name)
    console.print(f"removed corpus {name}")


# --- knowledge cache ---------------------------------------------------------------------------

cache_app = typer.Typer(help="The knowledge cache: what runs read, noted and fetched.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(cache_app, name="cache")


def _cache(config: Path | None) -> Any:
    from memory.knowledge import KnowledgeCache

    return KnowledgeCache(_settings(config).knowledge_db)


@cache_app.command("stats")
def cache_stats(config: ConfigOpt = None) -> None:
    """Counts per table, the size on disk, and the facts' FAISS index beside the database."""
    from memory.fact_index import default_fact_index_path

    with _cache(config) as cache:
        stats = cache.stats()
    index = default_fact_index_path(Path(stats["path"]))
    side = index.with_name(index.name + ".json")
    stats["fact_index"] = {"path": str(index), "vectors": 0, "bytes": 0}
    if index.is_file() and side.is_file():
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
            stats["fact_index"].update(vectors=int(meta["count"]), bytes=index.stat().st_size)
        except (OSError, ValueError, KeyError, TypeError):
            stats["fact_index"]["problem"] = "unreadable; it is rebuilt on the next recall"
    console.print_json(json.dumps(stats, default=str))


@cache_app.command("search")
def cache_search(
    text: str,
    limit: int = 20,
    meaning: Annotated[
        bool, typer.Option("--meaning/--words", help="by meaning (MiniLM + FAISS) or by words")
    ] = True,
    config: ConfigOpt = None,
) -> None:
    """Search stored facts, by meaning and by words, with their sources."""
    from rich.table import Table

    from memory.fact_index import FactIndex, recall

    settings = _settings(config)
    with _cache(config) as cache:
        index = None
        if meaning and cache.stats()["facts"]:
            index = FactIndex(cache, settings.embeddings.build())
            index.load()  # a damaged file is reported (a warning) and rebuilt
        facts = recall(
            cache, text, text, index=index, k=limit,
            min_similarity=settings.knowledge.min_similarity, min_coverage=0.5,
        )  # fmt: skip
        if index is not None:
            index.close()
        table = Table("subject", "attribute", "value", "confidence", "source")
        for f in facts:
            table.add_row(
                f.subject, f.attribute, f.value, f"{f.confidence:.2f}",
                f"{f.title or f.source_id} {f.url}".strip(),
            )  # fmt: skip
        console.print(table if facts else "no stored facts match")


@cache_app.command("facts")
def cache_facts(
    text: Annotated[str, typer.Argument(help="only facts with these words")] = "",
    limit: int = 50,
    config: ConfigOpt = None,
) -> None:
    """List stored facts with their ids, confidence and source (newest first): find a wrong
    one and remove it with `wideseek cache forget ID`."""
    from rich.table import Table

    with _cache(config) as cache:
        if text.strip():
            facts = cache.search_facts(text, limit=limit)
        else:
            facts = cache.all_facts(since_id=0)[-limit:][::-1]
        table = Table("id", "subject", "attribute", "value", "confidence", "source")
        for f in facts:
            table.add_row(
                str(f.id), f.subject, f.attribute, f.value, f"{f.confidence:.2f}",
                f"{f.title or f.source_id} {f.url}".strip(),
            )  # fmt: skip
        console.print(table if facts else "no stored facts" + (" match" if text else ""))


@cache_app.command("forget")
def cache_forget(
    ids: Annotated[list[int], typer.Argument(help="fact ids, as `wideseek cache facts` shows")],
    config: ConfigOpt = None,
) -> None:
    """Remove facts you found wrong. Stored answers are forgotten too (any of them may rest on
    a removed fact); the next run researches again."""
    with _cache(config) as cache:
        removed = cache.remove_facts(ids)
        answers = cache.clear("answers")["answers"] if removed else 0
    missing = len(set(ids)) - removed
    note = f" ({missing} of the ids were not stored facts)" if missing else ""
    console.print(f"removed {removed} facts and {answers} stored answers{note}")
    if not removed:
        raise typer.Exit(1)


@cache_app.command("export")
def cache_export(path: Path, fmt: Annotated[str, typer.Option("--format")] = "jsonl",
                 config: ConfigOpt = None) -> None:  # fmt: skip
    """Export facts with their sources (jsonl or csv)."""
    if fmt not in ("jsonl", "csv"):
        raise CliError("--format must be jsonl or csv")
    with _cache(config) as cache:
        count = cache.export(path, format=fmt)
    console.print(f"exported {count} facts to {path}")


@cache_app.command("clear")
def cache_clear(
    what: Annotated[
        str,
        typer.Argument(
            help="results (tool results and answers) | tool_cache | answers | facts | all"
        ),
    ] = "results",
    config: ConfigOpt = None,
) -> None:
    """Forget cached tool results and stored answers (default), facts, or everything."""
    if what not in ("all", "results", "tool_cache", "answers", "facts"):
        raise CliError("clear what? results, tool_cache, answers, facts or all")
    with _cache(config) as cache:
        removed = cache.clear(what)
    console.print(f"removed: {removed}")


# --- tools -------------------------------------------------------------------------------------

tools_app = typer.Typer(help="Tools: the builtin ones and those imported from API descriptions.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(tools_app, name="tools")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _builtin_tools() -> list[Any]:
    from tools.corpus import CorpusSearchTool, ReadDocumentTool

    return [CorpusSearchTool, ReadDocumentTool]


@tools_app.command("import")
def tools_import(
    file: Annotated[
        Path,
        typer.Argument(help="an OpenAPI 3 document (JSON, or YAML) or an OpenAI function list"),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="the API's name: its [tools.apis.NAME] section and WIDESEEK_TOOL_NAME_TOKEN "
            "secret (default: the file's name)",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="where the API is served (default: the spec's first server); function lists: "
            "each function is POSTed to URL/<name>",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Import the tools FILE describes; importing it again replaces them."""
    import re

    from pydantic import ValidationError
    from rich.markup import escape
    from rich.table import Table

    from tools.api_call import ApiConfig, secret_env_name
    from tools.catalogue import ToolCatalogue, import_file
    from tools.importing import api_name

    settings = _settings(config)
    if not file.is_file():
        raise CliError(f"{file} does not exist" if not file.exists() else f"{file} is not a file")
    if name is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise CliError(f"--name {name!r}: use letters, digits, '_' or '-' (at most 64)")
    api = name or api_name(file)
    try:
        given = ApiConfig(base_url=base_url) if base_url else None
    except ValidationError:
        raise CliError(f"--base-url {base_url!r} must start with http:// or https://") from None
    report = import_file(file, api=api, config=given)
    saved = None
    if report.tools:
        with ToolCatalogue(settings.tools_db) as catalogue:
            saved = catalogue.save(report, reserved=[t.name for t in _builtin_tools()])
        report = saved.report
    if report.tools:
        title = escape(f"{len(report.tools)} tools imported from {file.name} as {api}")
        table = Table("tool", "call", "description", title=title)
        for spec in report.tools:
            call = f"{spec.call.method} {spec.call.path}" if spec.call else "(no endpoint)"
            table.add_row(
                escape(spec.card.name), escape(call), escape(_clip(spec.card.description, 60))
            )
        console.print(table)
    if report.problems:
        problems = Table("operation", "problem", title=f"{len(report.problems)} not imported")
        for problem in report.problems:
            problems.add_row(escape(problem.where), escape(problem.reason))
        console.print(problems)
    if not report.tools:
        raise CliError(f"no tool could be imported from {file} ({len(report.problems)} problems)")
    if saved and saved.replaced:
        console.print(
            f"replaced {len(saved.replaced)} tools of an earlier import of {api}", markup=False
        )
    effective = report.config.merged(settings.tools.apis.get(api))
    section = f"[tools.apis.{api}]"
    if report.kind == "functions" and not (effective.base_url or effective.endpoints):
        console.print(
            f"these tools have no endpoint: calling one fails until {section} sets "
            "endpoints.<tool> or base_url (or import with --base-url)",
            markup=False,
            highlight=False,
        )
    elif report.kind == "openapi" and not effective.base_url:
        console.print(
            f"no base URL: set base_url in {section} or import with --base-url",
            markup=False,
            highlight=False,
        )
    needs_secret = any(spec.call and spec.call.auth_required for spec in report.tools)
    if needs_secret and effective.secret(api) is None:
        env = effective.token_env or secret_env_name(api)
        console.print(
            f"calls need a secret: set {env} (or token in {section})", markup=False, highlight=False
        )


@tools_app.command("list")
def tools_list(config: ConfigOpt = None) -> None:
    """The builtin tools and the imported ones, with where each comes from."""
    from rich.markup import escape
    from rich.table import Table

    settings = _settings(config)
    cards = _all_cards(settings)
    table = Table("tool", "source", "description")
    for card in cards:
        table.add_row(escape(card.name), escape(card.source), escape(_clip(card.description, 70)))
    console.print(table)


def _all_cards(settings: Any) -> list[Any]:
    from tools.catalogue import ToolCatalogue

    cards = [tool.card() for tool in _builtin_tools()]
    if settings.tools_db.exists():
        with ToolCatalogue(settings.tools_db) as catalogue:
            cards += catalogue.list_cards()
    return cards


@tools_app.command("search")
def tools_search(
    query: Annotated[str, typer.Argument(help="what the tool should do, in words")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="how many tools")] = 5,
    goal: Annotated[str | None, typer.Option(help="the step's goal, matched too")] = None,
    dense: Annotated[
        bool, typer.Option("--dense/--no-dense", help="also match by meaning (MiniLM)")
    ] = True,
    demos: Annotated[int, typer.Option(min=0, max=10, help="demonstrations to show")] = 3,
    config: ConfigOpt = None,
) -> None:
    """The tools the retriever picks for QUERY out of the builtin and imported ones."""
    from rich.markup import escape
    from rich.table import Table

    from retriever.demo_selector import select_demos
    from retriever.onnx_encoder import fast_minilm
    from retriever.tool_retriever import ToolRetriever

    settings = _settings(config)
    if not query.strip():
        raise CliError("give a query: what the tool should do")
    cards = _all_cards(settings)
    encoder = fast_minilm() if dense else None
    retriever = ToolRetriever(
        cards, encoder, vector_cache=settings.data_dir / "tool_vectors.sqlite"
    )
    try:
        hits = retriever.search(query, k, goal=goal)
        chosen = select_demos(retriever, hits, query, max_demos=demos)
    finally:
        retriever.close()
    table = Table("#", "tool", "score", "source", "description", title=f"{len(cards)} tools")
    for rank, hit in enumerate(hits, 1):
        table.add_row(
            str(rank),
            escape(hit.card.name),
            f"{hit.score:.3f}",
            escape(hit.card.source),
            escape(_clip(hit.card.description, 60)),
        )
    console.print(table)
    for demo in chosen:
        call = json.dumps(demo.arguments, ensure_ascii=False)
        console.print(
            f"demo: {escape(_clip(demo.query, 80))} -> {escape(demo.tool)}({escape(call)})"
        )


@tools_app.command("bench")
def tools_bench(
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="a benchmark set (repeatable; default: all five)"),
    ] = None,
    beir: Annotated[
        list[Path] | None, typer.Option("--beir", help="a BEIR-format folder (repeatable)")
    ] = None,
    root: Annotated[Path | None, typer.Option(help="the toolret data folder")] = None,
    max_queries: Annotated[
        int | None, typer.Option(min=1, help="at most this many test queries per set")
    ] = None,
    dense: Annotated[bool, typer.Option("--dense/--no-dense")] = True,
    config: ConfigOpt = None,
) -> None:
    """Tool retrieval on public benchmarks (MetaTool, Gorilla, StableToolBench, any BEIR folder):
    Recall@5 and NDCG@10 of BM25, dense and wideseek's retriever; last line JSON."""
    from evals.tool_bench import bench_json, run_tool_bench
    from evals.toolret import SET_NAMES, ToolSetError
    from retriever.onnx_encoder import fast_minilm

    settings = _settings(config)
    unknown = [name for name in sets or [] if name not in SET_NAMES]
    if unknown:
        raise CliError(f"unknown set {', '.join(unknown)}; known: {', '.join(SET_NAMES)}")
    chosen = list(sets) if sets else ([] if beir else list(SET_NAMES))
    try:
        results = run_tool_bench(
            chosen,
            root=root,
            beir=beir or [],
            encoder_factory=fast_minilm if dense else None,
            vector_cache=settings.data_dir / "tool_vectors.sqlite",
            console=console,
            max_queries=max_queries,
        )
    except ToolSetError as exc:
        raise CliError(str(exc)) from None
    sys.stdout.write(json.dumps(bench_json(results)) + "\n")


# --- runs, config, demo ------------------------------------------------------------------------


@runs_app.command("list")
def runs_list(limit: int = 20, config: ConfigOpt = None) -> None:
    """List recent runs."""
    from rich.table import Table

    from memory.run_store import RunStore

    settings = _settings(config)
    store = RunStore(settings.runs_db)
    table = Table("run", "status", "started", "question")
    for run in store.list_runs(limit):
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
        table.add_row(run.run_id, run.status, started, run.question[:70])
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: str, as_json: Annotated[bool, typer.Option("--json")] = False, config: ConfigOpt = None
) -> None:
    """Show a stored run: its events and answer."""
    from agent.events import Event
    from agent.result import ResearchResult
    from memory.run_store import RunStore

    settings = _settings(config)
    store = RunStore(settings.runs_db)
    run = store.get_run(run_id)
    if run is None:
        raise CliError(f"no run {run_id!r}; see: wideseek runs list")
    if as_json:
        sys.stdout.write(json.dumps(run.result or {"status": run.status}) + "\n")
        return
    for raw in store.events(run_id):
        console.print(event_line(Event.model_validate(raw)))
    if run.result:
        print_result(console, ResearchResult.model_validate(run.result))


@app.command()
def tui(
    corpus: CorpusOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The research assistant in the terminal (Textual): ask, watch, read, reopen past runs."""
    from tui import WideseekApp

    settings = _settings(config, corpora=corpus or None)
    log_path = settings.data_dir / "tui.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    # warnings go to a file while the screen is up: stderr lines would tear the display
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            root.removeHandler(handler)
    file_handler = logging.FileHandler(log_path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    WideseekApp(settings, config_file=config).run()


@app.command()
def doctor(
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="send one test search to each backend")
    ] = True,
    config: ConfigOpt = None,
) -> None:
    """Check what this installation can use: models, corpora, web search backends.

    Each web backend: configured, key present (never printed), answering a probe search."""
    from rich.markup import escape
    from rich.table import Table

    from wideseek.doctor import run_checks

    settings = _settings(config)
    checks = asyncio.run(run_checks(settings, probe=probe))
    table = Table(title="wideseek doctor", show_lines=False)
    for column in ("area", "check", "", "detail"):
        table.add_column(column)
    marks = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "[dim]-[/]"}
    for check in checks:
        table.add_row(check.area, escape(check.name), marks[check.ok], escape(check.detail))
    console.print(table)
    raise typer.Exit(1 if any(c.ok is False for c in checks) else 0)


@app.command("config")
def show_config(config: ConfigOpt = None) -> None:
    """Print the effective configuration (secrets hidden)."""
    settings = _settings(config)
    console.print_json(settings.model_dump_json())


@app.command()
def demo(
    question: Annotated[str, typer.Argument(help="the question to ask")] = SAMPLE_QUESTION,
    config: ConfigOpt = None,
) -> None:
    """Index the default corpus if needed, then ask a sample question."""
    from retriever.corpus_store import DOCUMENT_FORMAT, CorpusStore
    from retriever.default_corpus import DEFAULT_CORPUS, default_corpus_documents

    settings = _settings(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = CorpusStore(settings.corpus_db)
    found = store.corpus_format(DEFAULT_CORPUS)
    store.close()
    if found is None or found < DOCUMENT_FORMAT:  # not indexed, or by an older wideseek
        _index_documents(
            settings,
            DEFAULT_CORPUS,
            default_corpus_documents(),
            "default corpus",
            rebuild_outdated=True,
        )
    settings.corpora = [DEFAULT_CORPUS]
    raise typer.Exit(asyncio.run(_ask(settings, question, False, False)))


def _register_eval_commands() -> None:
    from wideseek.eval_cli import eval_command, score_command
    from wideseek.finetune_cli import finetune_app
    from wideseek.serve_cli import serve

    app.command("eval")(eval_command)
    app.command("score")(score_command)
    app.command("serve")(serve)
    app.add_typer(finetune_app, name="finetune")


_register_eval_commands()


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """Click's usage-error and abort classes: typer >= 0.20 vendors click as `typer._click`,
    older typer uses `click` itself (either may be what is installed)."""
    import importlib

    usage: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = []
    for name in ("typer._click.exceptions", "typer.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for kind, found in (("ClickException", usage), ("Abort", aborts)):
            cls = getattr(module, kind, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found.append(cls)
    return tuple(usage), tuple(aborts)


def _configure_logging() -> None:
    """Warnings from the library (a damaged index being rebuilt, a dense side unavailable)
    reach the terminal once, as one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def main() -> None:
    _configure_logging()
    try:
        code = app(standalone_mode=False)
        raise SystemExit(code if isinstance(code, int) else 0)
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except KeyboardInterrupt:
        err_console.print(
            "interrupted; an interrupted run can be continued with: wideseek resume RUN_ID"
        )
        raise SystemExit(130) from None
    except Exception as error:
        usage_errors, aborts = _click_exceptions()
        if isinstance(error, usage_errors):
            error.show()  # type: ignore[attr-defined]
            raise SystemExit(error.exit_code) from None  # type: ignore[attr-defined]
        if isinstance(error, aborts):
            raise SystemExit(1) from None
        if isinstance(error, _expected_errors()):
            err_console.print(f"[bold red]error:[/] {error}", highlight=False)
            raise SystemExit(2) from None
        raise
