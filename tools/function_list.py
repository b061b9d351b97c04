"""OpenAI function-calling lists: `[{"type": "function", "function": {...}}]` or bare
`[{"name", "description", "parameters"}]` (also under a `tools` or `functions` key).

These tools have cards but no endpoint: calling one fails with a `ToolError` unless an
endpoint URL is configured for it (`endpoints.<name>`, or `base_url` + `/<name>`), which gets
the arguments POSTed as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.api_call import ApiConfig
from tools.cards import ToolCard, ToolExample
from tools.importing import (
    ImportedToolSpec,
    ImportReport,
    OperationError,
    ToolImportError,
    api_name,
    read_spec_file,
    resolve_refs,
    tool_name,
    unique_name,
)

__all__ = ["function_entries", "function_list_report", "import_function_list"]


def function_entries(document: Any) -> list[Any] | None:
    """The entries of a function list, None when `document` is not shaped like one."""
    if isinstance(document, dict):
        for key in ("tools", "functions"):
            if isinstance(document.get(key), list):
                document = document[key]
                break
        else:
            return None
    if not isinstance(document, list) or not any(
        isinstance(e, dict) and ("name" in e or "function" in e) for e in document
    ):
        return None
    return document


def import_function_list(
    path: Path, *, api: str | None = None, config: ApiConfig | None = None
) -> ImportReport:
    """Import the OpenAI function list in `path` (JSON, or YAML with PyYAML installed)."""
    return function_list_report(read_spec_file(path), path, api=api, config=config)


def function_list_report(
    document: Any, path: Path, *, api: str | None = None, config: ApiConfig | None = None
) -> ImportReport:
    """The tools of an already parsed function list read from `path`."""
    entries = function_entries(document)
    if entries is None:
        raise ToolImportError(
            f"{path}: not an OpenAI function list (a list of {{'name', 'description', "
            "'parameters'}} or {'type': 'function', 'function': {...}} objects)"
        )
    report = ImportReport(
        file=str(path), kind="functions", api=api or api_name(path), config=config or ApiConfig()
    )
    taken: set[str] = set()
    for index, entry in enumerate(entries):
        label = f"#{index}"
        if isinstance(entry, dict):
            inner = entry.get("function", entry)
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                label += f" {inner['name']}"
        try:
            card = _card(entry, path, taken)
        except OperationError as error:
            report.problem(label, str(error))
            continue
        report.tools.append(ImportedToolSpec(card=card, api=report.api))
    return report


def _card(entry: Any, path: Path, taken: set[str]) -> ToolCard:
    if not isinstance(entry, dict):
        raise OperationError("entry is not an object")
    if "function" in entry or "type" in entry:
        if entry.get("type", "function") != "function":
            raise OperationError(f"type {entry.get('type')!r} is not a function")
        entry = entry.get("function")
        if not isinstance(entry, dict):
            raise OperationError("'function' is not an object")
    raw = entry.get("name")
    if not isinstance(raw, str) or not tool_name(raw):
        raise OperationError("the function has no name")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise OperationError("'description' is not a string")
    parameters = entry.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, dict):
        raise OperationError("'parameters' is not a JSON schema object")
    parameters = resolve_refs(parameters, parameters)
    if parameters.get("type", "object") != "object":
        raise OperationError(f"'parameters' must be an object schema, not {parameters['type']!r}")
    if not isinstance(parameters.get("properties", {}), dict):
        raise OperationError("'parameters.properties' is not an object")
    parameters.pop("$defs", None)
    parameters.pop("definitions", None)
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    return ToolCard(
        name=unique_name(tool_name(raw), taken),
        description=" ".join(description.split()),
        parameters=parameters,
        examples=_examples(entry.get("examples")),
        source=f"functions:{path.name}",
    )


def _examples(raw: Any) -> list[ToolExample]:
    """Optional `examples: [{"query", "arguments"}]` beside a function (not OpenAI's own)."""
    if not isinstance(raw, list):
        return []
    examples = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("arguments"), dict):
            examples.append(
                ToolExample(query=str(item.get("query") or ""), arguments=item["arguments"])
            )
    return examples
