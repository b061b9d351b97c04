"""What importing a tool file yields: the tools, per-operation problems, and file-level errors.

Shared by the OpenAPI and function-list importers: reading a JSON/YAML file, tool names, local
`$ref` resolution with cycle protection.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.api_call import ApiConfig, HttpCall
from tools.cards import ToolCard

__all__ = [
    "ImportProblem",
    "ImportReport",
    "ImportedToolSpec",
    "OperationError",
    "ToolImportError",
    "api_name",
    "read_spec_file",
    "resolve_refs",
    "tool_name",
    "unique_name",
]

MAX_NAME = 64


class ToolImportError(ValueError):
    """A file is not a usable tool description at all (unreadable, not JSON/YAML, not an
    OpenAPI 3 document or function list). The message is one line and names the file."""


class OperationError(ValueError):
    """One operation (or function) cannot become a tool; the others still can."""


class ImportProblem(BaseModel):
    """Why one operation (`GET /pets/{id}`) or list entry (`#3 name`) was not imported."""

    where: str
    reason: str


class ImportedToolSpec(BaseModel):
    """An imported tool as stored: its card and how to call it (None: no endpoint known)."""

    model_config = ConfigDict(extra="forbid")

    card: ToolCard
    api: str
    call: HttpCall | None = None


class ImportReport(BaseModel):
    """The outcome of importing one file."""

    file: str
    kind: Literal["openapi", "functions"]
    api: str = Field(description="name of the API: its wideseek.toml section and secret")
    config: ApiConfig = ApiConfig()
    tools: list[ImportedToolSpec] = Field(default_factory=list)
    problems: list[ImportProblem] = Field(default_factory=list)

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(ImportProblem(where=where, reason=reason))

    @property
    def names(self) -> list[str]:
        return [spec.card.name for spec in self.tools]


def _yaml() -> Any | None:
    """PyYAML when installed (optional)."""
    try:
        return importlib.import_module("yaml")
    except ImportError:
        return None


def read_spec_file(path: Path) -> Any:
    """The parsed JSON (or, with PyYAML installed, YAML) content of `path`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ToolImportError(f"{path}: cannot read it ({error.__class__.__name__})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        json_error = f"{error.msg} at line {error.lineno}"
    yaml = _yaml()
    looks_yaml = path.suffix.lower() in (".yaml", ".yml")
    if yaml is None:
        if looks_yaml:
            raise ToolImportError(f"{path}: YAML needs PyYAML (pip install pyyaml), or use JSON")
        raise ToolImportError(f"{path}: not JSON ({json_error})")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ToolImportError(f"{path}: neither JSON ({json_error}) nor YAML{at}") from None
    if not isinstance(data, dict | list):
        raise ToolImportError(f"{path}: neither JSON ({json_error}) nor a YAML mapping or list")
    return data


def tool_name(raw: str) -> str:
    """`raw` as a tool name: `[A-Za-z0-9_]`, at most 64 characters (may be empty)."""
    name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", raw)).strip("_")
    return name[:MAX_NAME].rstrip("_") or name[:MAX_NAME]


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`… (still at most 64 characters) if it is taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        suffix = f"_{n}"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


def api_name(path: Path) -> str:
    """The default API name of a file: its stem as a tool name."""
    return tool_name(path.name.split(".")[0]).lower() or "api"


_MAX_DEPTH = 40


def _pointer(document: Any, ref: str) -> Any:
    node = document
    for raw in ref[2:].split("/") if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise OperationError(f"unresolvable $ref {ref!r}")
    return node


def resolve_refs(node: Any, document: Any, stack: tuple[str, ...] = ()) -> Any:
    """`node` with every local `$ref` (`#/components/...`) replaced by what it points to. A
    reference to itself (a recursive schema) becomes an open schema `{}` with a description;
    external or unresolvable references raise `OperationError`."""
    if isinstance(node, list):
        return [resolve_refs(item, document, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#"):
            raise OperationError(f"external $ref {ref!r} is not supported")
        if ref in stack or len(stack) >= _MAX_DEPTH:
            return {"description": f"(recursive: {ref.rsplit('/', 1)[-1]})"}
        target = resolve_refs(_pointer(document, ref), document, (*stack, ref))
        siblings = {k: resolve_refs(v, document, stack) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings} if isinstance(target, dict) else target
    return {key: resolve_refs(value, document, stack) for key, value in node.items()}
