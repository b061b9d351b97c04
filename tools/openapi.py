"""OpenAPI 3.x import: every operation (path + method) becomes a tool.

Arguments are the operation's path, query and header parameters plus its JSON request body
(its properties side by side with the parameters when they do not clash, else under `body`).
A broken operation is reported in the `ImportReport` and skipped; the others are imported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tools.api_call import ApiConfig, AuthScheme, BodySpec, HttpCall, ParamSpec
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
from tools.schema_args import schema_problems

__all__ = ["import_openapi", "is_openapi", "openapi_report"]

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_DESCRIPTION_CHARS = 1200


def is_openapi(document: Any) -> bool:
    return isinstance(document, dict) and ("openapi" in document or "swagger" in document)


def import_openapi(
    path: Path, *, api: str | None = None, config: ApiConfig | None = None
) -> ImportReport:
    """Import the OpenAPI 3 document in `path` (JSON, or YAML with PyYAML installed)."""
    return openapi_report(read_spec_file(path), path, api=api, config=config)


def openapi_report(
    document: Any, path: Path, *, api: str | None = None, config: ApiConfig | None = None
) -> ImportReport:
    """The tools of an already parsed OpenAPI document read from `path`."""
    _check_document(document, path)
    config = config or ApiConfig()
    if config.base_url is None:
        server = _server_url(document)
        if server is not None:
            config = config.model_copy(update={"base_url": server})
    report = ImportReport(file=str(path), kind="openapi", api=api or api_name(path), config=config)
    schemes = _security_schemes(document)
    taken: set[str] = set()
    for route, item in document["paths"].items():
        if not isinstance(item, dict):
            report.problem(str(route), "path item is not an object")
            continue
        try:
            item = resolve_refs(item, document) if "$ref" in item else item
            shared = item.get("parameters", [])
        except OperationError as error:
            report.problem(str(route), str(error))
            continue
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            where = f"{method.upper()} {route}"
            try:
                spec = _operation(
                    document, str(route), method, operation, shared, schemes, report, taken
                )
            except OperationError as error:
                report.problem(where, str(error))
                continue
            report.tools.append(spec)
    return report


def _check_document(document: Any, path: Path) -> None:
    if not isinstance(document, dict):
        raise ToolImportError(f"{path}: not an OpenAPI document (no 'openapi' key)")
    version = str(document.get("openapi") or "")
    if "swagger" in document and not version:
        raise ToolImportError(
            f"{path}: Swagger {document['swagger']} is not supported; convert it to OpenAPI 3"
        )
    if not version.startswith("3."):
        raise ToolImportError(f"{path}: not an OpenAPI 3 document (openapi: {version!r})")
    if not isinstance(document.get("paths"), dict):
        raise ToolImportError(f"{path}: the OpenAPI document has no 'paths' object")


def _server_url(document: dict[str, Any]) -> str | None:
    servers = document.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return None
    url = str(servers[0].get("url") or "")
    variables = servers[0].get("variables")
    for name, variable in (variables if isinstance(variables, dict) else {}).items():
        if isinstance(variable, dict) and "default" in variable:
            url = url.replace("{" + str(name) + "}", str(variable["default"]))
    if not url.startswith(("http://", "https://")) or "{" in url:
        return None  # relative or templated: the base URL must come from the configuration
    return url.rstrip("/")


def _security_schemes(document: dict[str, Any]) -> dict[str, AuthScheme]:
    """The bearer and API-key (header/query) schemes; others (OAuth2, cookies) are unusable."""
    components = document.get("components")
    raw = components.get("securitySchemes", {}) if isinstance(components, dict) else {}
    schemes: dict[str, AuthScheme] = {}
    for name, scheme in (raw if isinstance(raw, dict) else {}).items():
        try:
            scheme = resolve_refs(scheme, document)
        except OperationError:
            continue
        if not isinstance(scheme, dict):
            continue
        kind = scheme.get("type")
        if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            schemes[name] = AuthScheme(kind="bearer")
        elif kind == "apiKey" and scheme.get("in") in ("header", "query") and scheme.get("name"):
            schemes[name] = AuthScheme(kind=scheme["in"], name=str(scheme["name"]))
    return schemes


def _security(
    document: dict[str, Any], operation: dict[str, Any], schemes: dict[str, AuthScheme]
) -> tuple[list[AuthScheme], bool]:
    """The usable alternatives of the operation's security and whether auth is required."""
    requirements = operation.get("security", document.get("security", []))
    if not isinstance(requirements, list) or not requirements:
        return [], False
    usable: list[AuthScheme] = []
    optional = False
    for requirement in requirements:
        if not isinstance(requirement, dict):
            continue
        if not requirement:
            optional = True
        for name in requirement:
            if name in schemes and schemes[name] not in usable:
                usable.append(schemes[name])
    return usable, not optional


def _param_schema(param: dict[str, Any]) -> dict[str, Any]:
    schema = param.get("schema")
    if schema is None and isinstance(param.get("content"), dict) and param["content"]:
        media = next(iter(param["content"].values()))
        schema = media.get("schema") if isinstance(media, dict) else None
    schema = dict(schema) if isinstance(schema, dict) else {"type": "string"}
    if isinstance(param.get("description"), str) and "description" not in schema:
        schema["description"] = param["description"]
    if "example" in param and "example" not in schema:
        schema["example"] = param["example"]
    return schema


def _parameters(
    document: dict[str, Any], shared: Any, own: Any
) -> list[tuple[dict[str, Any], str, str]]:
    """(parameter, name, in) of the operation: its own override the path item's."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for group in (shared, own):
        if group is None:
            continue
        if not isinstance(group, list):
            raise OperationError("'parameters' is not a list")
        for raw in group:
            param = resolve_refs(raw, document)
            if not isinstance(param, dict):
                raise OperationError("a parameter is not an object")
            name = param.get("name")
            if not isinstance(name, str) or not name:
                raise OperationError("a parameter has no name")
            location = param.get("in")
            if location not in ("path", "query", "header"):
                raise OperationError(
                    f"parameter {name!r}: 'in: {location}' is not supported (path, query or header)"
                )
            merged[(name, location)] = param
    return [(param, name, location) for (name, location), param in merged.items()]


def _json_body(document: dict[str, Any], operation: dict[str, Any]) -> tuple[Any, bool] | None:
    """(schema, required) of the JSON request body, None when there is none."""
    if "requestBody" not in operation:
        return None
    body = resolve_refs(operation["requestBody"], document)
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        raise OperationError("requestBody has no 'content'")
    required = body.get("required") is True
    content = body["content"]
    media = next((m for m in content if m.split(";")[0].strip().endswith("json")), None)
    if media is None:
        if required:
            raise OperationError(
                f"request body {', '.join(content) or '(none)'} is not supported (JSON only)"
            )
        return None
    entry = content[media]
    schema = entry.get("schema", {}) if isinstance(entry, dict) else {}
    schema = dict(schema) if isinstance(schema, dict) else {}
    if isinstance(body.get("description"), str) and "description" not in schema:
        schema["description"] = body["description"]
    return schema, required


def _operation(
    document: dict[str, Any],
    route: str,
    method: str,
    operation: Any,
    shared: Any,
    schemes: dict[str, AuthScheme],
    report: ImportReport,
    taken: set[str],
) -> ImportedToolSpec:
    if not isinstance(operation, dict):
        raise OperationError("operation is not an object")
    properties: dict[str, Any] = {}
    required: list[str] = []
    params: list[ParamSpec] = []
    for param, name, location in _parameters(document, shared, operation.get("parameters")):
        if location == "header" and name.lower() in _IGNORED_HEADERS:
            continue
        arg = name if name not in properties else f"{location}_{name}"
        properties[arg] = _param_schema(param)
        explode = param.get("explode", param.get("style", "form") == "form")
        params.append(ParamSpec(arg=arg, name=name, location=location, explode=explode is True))
        if location == "path" or param.get("required") is True:
            required.append(arg)
    declared = {p.name for p in params if p.location == "path"}
    for placeholder in re.findall(r"{([^{}]+)}", route):
        if placeholder not in declared:
            raise OperationError(f"path parameter {{{placeholder}}} is not declared")
    body_spec: BodySpec | None = None
    body = _json_body(document, operation)
    if body is not None:
        schema, body_required = body
        fields = schema.get("properties")
        flat = (
            schema.get("type", "object") == "object"
            and isinstance(fields, dict)
            and bool(fields)
            and not set(fields) & set(properties)
            and not any(k in schema for k in ("allOf", "anyOf", "oneOf", "additionalProperties"))
        )
        if flat:
            assert isinstance(fields, dict)
            fields = {k: v for k, v in fields.items() if not _read_only(v)}  # server-set
            properties.update(fields)
            if body_required:
                required += [r for r in schema.get("required", []) if r in fields]
            body_spec = BodySpec(mode="flat", fields=list(fields))
        else:
            key = "body" if "body" not in properties else "request_body"
            properties[key] = schema
            if body_required:
                required.append(key)
            body_spec = BodySpec(mode="key", key=key)
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        parameters["required"] = list(dict.fromkeys(required))
    raw_name = operation.get("operationId")
    name = tool_name(str(raw_name)) if isinstance(raw_name, str) else ""
    name = unique_name(name or tool_name(f"{method}_{route}") or method, taken)
    auth, auth_required = _security(document, operation, schemes)
    tags = [str(t) for t in operation.get("tags", []) if isinstance(t, str | int)]
    if operation.get("deprecated") is True:
        tags.append("deprecated")
    card = ToolCard(
        name=name,
        description=_description(operation, method, route),
        parameters=parameters,
        examples=_examples(operation, parameters),
        source=f"openapi:{Path(report.file).name}",
        tags=tags,
    )
    call = HttpCall(
        method=method.upper(),
        path=route,
        params=params,
        body=body_spec,
        auth=auth,
        auth_required=auth_required,
    )
    return ImportedToolSpec(card=card, api=report.api, call=call)


def _read_only(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("readOnly") is True


def _description(operation: dict[str, Any], method: str, route: str) -> str:
    parts = [
        " ".join(str(operation[key]).split())
        for key in ("summary", "description")
        if isinstance(operation.get(key), str) and operation[key].strip()
    ]
    if len(parts) == 2 and parts[1].startswith(parts[0].rstrip(".")):
        parts = parts[1:]
    text = ". ".join(p.rstrip(".") for p in parts) + "." if parts else f"{method.upper()} {route}"
    return text if len(text) <= _DESCRIPTION_CHARS else text[: _DESCRIPTION_CHARS - 1] + "…"


def _examples(operation: dict[str, Any], parameters: dict[str, Any]) -> list[ToolExample]:
    """One example when the spec gives an example value for every required argument."""
    values = {
        name: schema["example"]
        for name, schema in parameters["properties"].items()
        if isinstance(schema, dict) and "example" in schema
    }
    if not values or any(name not in values for name in parameters.get("required", [])):
        return []
    if schema_problems(values, parameters):  # an example that contradicts its own schema
        return []
    query = str(operation.get("summary") or "").strip()
    return [ToolExample(query=query, arguments=values)]
