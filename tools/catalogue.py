"""The tool catalogue: imported tools' cards and call plans, kept in `<data_dir>/tools.db`.

One row per API (its file, kind and configuration without the secret) and one per tool.
Importing a file again, or under the same API name, replaces its tools. Secrets are never
stored: they come from the configuration or `WIDESEEK_TOOL_<API>_TOKEN` when tools are built.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from pydantic import ValidationError

from tools.api_call import READ_ONLY_METHODS, ApiConfig, ApiTool, AuthScheme, BodySpec, HttpCall
from tools.cards import ToolCard
from tools.function_list import function_entries, function_list_report
from tools.importing import (
    ImportedToolSpec,
    ImportProblem,
    ImportReport,
    ToolImportError,
    read_spec_file,
)
from tools.openapi import is_openapi, openapi_report
from tools.schema_args import args_model, schema_problems

__all__ = [
    "ApiEntry",
    "SavedImport",
    "ToolCatalogue",
    "ToolCatalogueError",
    "build_tool",
    "import_file",
]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apis (
    name TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    imported_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tools (
    name TEXT PRIMARY KEY,
    api TEXT NOT NULL,
    spec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tools_api ON tools(api);
"""


class ToolCatalogueError(RuntimeError):
    """The catalogue file cannot be opened or written (damaged, not a database, read-only)."""


def import_file(
    path: Path, *, api: str | None = None, config: ApiConfig | None = None
) -> ImportReport:
    """Import an OpenAPI 3 document or an OpenAI function list (told apart by content)."""
    document = read_spec_file(path)
    if is_openapi(document):
        return openapi_report(document, path, api=api, config=config)
    if function_entries(document) is not None:
        return function_list_report(document, path, api=api, config=config)
    raise ToolImportError(f"{path}: neither an OpenAPI 3 document nor an OpenAI function list")


def _class_name(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part) + "Tool"


def build_tool(
    spec: ImportedToolSpec, config: ApiConfig, environ: Mapping[str, str] | None = None
) -> ApiTool:
    """A callable tool for `spec`: a fresh `ApiTool` subclass with the card's name,
    description and an `Args` model built from its JSON schema. A function without an
    endpoint gets one from `config.endpoints[name]` or `config.base_url + "/" + name`."""
    card = spec.card
    call = spec.call
    if call is None:
        url = config.endpoints.get(card.name) or (
            f"{config.base_url}/{card.name}" if config.base_url else None
        )
        if url:
            call = HttpCall(
                method="POST", path=url, body=BodySpec(mode="all"),
                auth=[AuthScheme(kind="bearer")],
            )  # fmt: skip
    read_only = call is not None and call.method.upper() in READ_ONLY_METHODS
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": f"Imported tool {card.name!r} ({card.source}).",
        "name": card.name,
        "description": card.description,
        "Args": args_model(card.name, card.parameters),
        "examples": [
            e.arguments for e in card.examples if not schema_problems(e.arguments, card.parameters)
        ],
        "source": card.source,
        "tags": tuple(card.tags),
        "tool_card": card,
        "call": call,
        "api": spec.api,
        "cache_ttl": config.cache_ttl if read_only else 0,
    }
    cls = cast(type[ApiTool], type(_class_name(card.name), (ApiTool,), namespace))
    return cls(config, config.secret(spec.api, environ))


@dataclass
class ApiEntry:
    """An imported API as stored."""

    name: str
    file: str
    kind: str
    config: ApiConfig
    imported_at: float
    tools: list[str] = field(default_factory=list)


@dataclass
class SavedImport:
    """What `ToolCatalogue.save` stored: the report without the tools it could not keep (their
    names are builtin or another API's; listed in its problems) and the tools it replaced."""

    report: ImportReport
    replaced: list[str]


class ToolCatalogue:
    """Imported tools that persist across runs (SQLite, WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as error:
            raise ToolCatalogueError(f"tool catalogue {path}: {error}") from None

    def __enter__(self) -> ToolCatalogue:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def save(self, report: ImportReport, *, reserved: Iterable[str] = ()) -> SavedImport:
        """Store the report's tools under its API, replacing what an earlier import of the same
        file or API name stored. Names in `reserved` (builtin tools) or owned by another API
        are not stored and become problems of the returned report."""
        file = str(Path(report.file).resolve())
        blocked = set(reserved)
        try:
            with self._db:
                old = [
                    row[0]
                    for row in self._db.execute(
                        "SELECT name FROM apis WHERE name = ? OR file = ?", (report.api, file)
                    )
                ]
                replaced = [
                    row[0]
                    for api in old
                    for row in self._db.execute("SELECT name FROM tools WHERE api = ?", (api,))
                ]
                for api in old:
                    self._db.execute("DELETE FROM tools WHERE api = ?", (api,))
                    self._db.execute("DELETE FROM apis WHERE name = ?", (api,))
                owners = dict(self._db.execute("SELECT name, api FROM tools").fetchall())
                kept: list[ImportedToolSpec] = []
                problems = list(report.problems)
                for spec in report.tools:
                    name = spec.card.name
                    if name in blocked:
                        problems.append(ImportProblem(where=name, reason="a builtin tool's name"))
                    elif name in owners:
                        problems.append(
                            ImportProblem(where=name, reason=f"already a tool of {owners[name]!r}")
                        )
                    else:
                        kept.append(spec)
                self._db.execute(
                    "INSERT INTO apis (name, file, kind, config, imported_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (report.api, file, report.kind, json.dumps(report.config.stored()),
                     time.time()),
                )  # fmt: skip
                self._db.executemany(
                    "INSERT INTO tools (name, api, spec) VALUES (?, ?, ?)",
                    [(s.card.name, report.api, s.model_dump_json()) for s in kept],
                )
        except sqlite3.Error as error:
            raise ToolCatalogueError(f"tool catalogue {self.path}: {error}") from None
        stored = report.model_copy(update={"tools": kept, "problems": problems})
        return SavedImport(report=stored, replaced=replaced)

    def remove(self, api: str) -> int:
        """Forget API `api` and its tools; how many tools were removed."""
        try:
            with self._db:
                removed = self._db.execute("DELETE FROM tools WHERE api = ?", (api,)).rowcount
                self._db.execute("DELETE FROM apis WHERE name = ?", (api,))
        except sqlite3.Error as error:
            raise ToolCatalogueError(f"tool catalogue {self.path}: {error}") from None
        return removed

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise ToolCatalogueError(f"tool catalogue {self.path}: {error}") from None

    def specs(self) -> list[ImportedToolSpec]:
        """Every stored tool, by API and import order; unreadable rows are skipped (warned)."""
        specs = []
        for name, raw in self._rows("SELECT name, spec FROM tools ORDER BY api, rowid"):
            try:
                specs.append(ImportedToolSpec.model_validate_json(raw))
            except ValidationError:
                logger.warning("tool catalogue: stored tool %r is unreadable; re-import it", name)
        return specs

    def list_cards(self) -> list[ToolCard]:
        """The cards of every imported tool (the builtin tools' cards are not stored)."""
        return [spec.card for spec in self.specs()]

    def apis(self) -> list[ApiEntry]:
        """The imported APIs with their stored configuration and tool names."""
        names: dict[str, list[str]] = {}
        for tool, api in self._rows("SELECT name, api FROM tools ORDER BY rowid"):
            names.setdefault(api, []).append(tool)
        entries = []
        for name, file, kind, config, imported in self._rows(
            "SELECT name, file, kind, config, imported_at FROM apis ORDER BY name"
        ):
            try:
                stored = ApiConfig.model_validate(json.loads(config))
            except (ValueError, ValidationError):
                logger.warning("tool catalogue: the configuration of %r is unreadable", name)
                stored = ApiConfig()
            entries.append(ApiEntry(name, file, kind, stored, imported, names.get(name, [])))
        return entries

    def tools(
        self,
        configs: Mapping[str, ApiConfig] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> list[ApiTool]:
        """Callable tools for every stored tool: the stored configuration of its API with
        `configs[api]` (wideseek.toml's `[tools.apis.<api>]`) on top, secrets from `configs`
        or `environ` (default: the process environment)."""
        stored = {entry.name: entry.config for entry in self.apis()}
        configs = configs or {}
        return [
            build_tool(
                spec, stored.get(spec.api, ApiConfig()).merged(configs.get(spec.api)), environ
            )
            for spec in self.specs()
        ]
