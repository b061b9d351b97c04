"""OpenAPI import, and imported tools calling a real pet-store server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.tools.fake_petstore import SECRET, PetStore, serve
from tools import ApiConfig, ApiTool, ToolError, ToolImportError, build_tool, import_openapi
from tools import importing as importing_module

FIXTURES = Path(__file__).parent / "fixtures"
PETSTORE = FIXTURES / "petstore.json"


@pytest.fixture
def store() -> Iterator[PetStore]:
    yield from serve()


def petstore_tools(
    base_url: str, environ: dict[str, str] | None = None, **config: Any
) -> dict[str, ApiTool]:
    report = import_openapi(PETSTORE, config=ApiConfig(base_url=base_url, **config))
    env = {"WIDESEEK_TOOL_PETSTORE_TOKEN": SECRET} if environ is None else environ
    return {spec.card.name: build_tool(spec, report.config, env) for spec in report.tools}


# --- import ------------------------------------------------------------------------------------


def test_every_operation_becomes_a_tool_with_a_card() -> None:
    report = import_openapi(PETSTORE)
    assert report.problems == []
    assert report.api == "petstore" and report.kind == "openapi"
    assert report.names == [
        "listPets", "createPet", "showPetById", "updatePet", "deletePet",
        "pets_find_by_tags", "get_owners_ownerName_pets", "getInventory",
    ]  # fmt: skip
    # the first server, its variable at its default
    assert report.config.base_url == "https://eu.petstore.example.com/v1"
    cards = {spec.card.name: spec.card for spec in report.tools}
    calls = {spec.card.name: spec.call for spec in report.tools}

    listing = cards["listPets"]
    assert listing.source == "openapi:petstore.json" and listing.tags == ["pets"]
    assert listing.description.startswith("List pets. List the pets in the store")
    props = listing.parameters["properties"]
    assert set(props) == {"limit", "status", "fields", "X-Request-Id"}  # `Accept` is not one
    assert props["limit"]["maximum"] == 100 and props["limit"]["description"]
    assert props["status"]["enum"] == ["available", "pending", "sold"]  # via $ref
    assert "required" not in listing.parameters
    assert listing.parameters["additionalProperties"] is False

    # path parameter shared by the path item, via $ref; body properties beside it
    update = cards["updatePet"].parameters
    assert update["required"] == ["petId", "name"]
    assert "id" not in update["properties"]  # readOnly: set by the server
    owner = update["properties"]["owner"]
    assert owner["required"] == ["name"]
    assert owner["properties"]["pets"]["items"] == {"description": "(recursive: Pet)"}
    assert calls["updatePet"] is not None and calls["updatePet"].body is not None
    assert calls["updatePet"].body.fields == ["name", "tag", "owner"]

    assert cards["createPet"].parameters["required"] == ["name"]
    assert cards["createPet"].parameters["properties"]["status"]["enum"][0] == "available"
    # the spec's examples become the card's example calls
    assert [e.model_dump() for e in cards["pets_find_by_tags"].examples] == [
        {"query": "Find pets by tags", "arguments": {"tags": ["cute"]}}
    ]
    auth = {name: (c.auth[0].kind if c and c.auth else None) for name, c in calls.items()}
    assert auth["listPets"] == "bearer" and auth["deletePet"] == "header"
    assert auth["pets_find_by_tags"] == "query" and auth["getInventory"] is None


def test_broken_operations_are_reported_and_the_rest_imported() -> None:
    report = import_openapi(FIXTURES / "broken_ops.json", api="half")
    assert report.names == ["listThings", "listThings_2"]  # a duplicate id is deduplicated
    problems = {p.where: p.reason for p in report.problems}
    assert problems == {
        "POST /things": "unresolvable $ref '#/components/schemas/Missing'",
        "GET /things/{id}": "a parameter has no name",
        "DELETE /things/{id}": "parameter 'session': 'in: cookie' is not supported "
        "(path, query or header)",
        "GET /things/{id}/parts": "path parameter {id} is not declared",
        "GET /remote": "external $ref 'https://example.com/params.json#/Q' is not supported",
        "POST /upload": "request body multipart/form-data is not supported (JSON only)",
        "PUT /dupes": "operation is not an object",
    }
    assert report.config.base_url is None  # a relative server URL needs configuration


async def test_a_relative_server_needs_a_base_url() -> None:
    report = import_openapi(FIXTURES / "broken_ops.json", api="half")
    tool = build_tool(report.tools[0], report.config, {})
    with pytest.raises(ToolError, match=r"no base URL: set base_url in \[tools.apis.half\]"):
        await tool({"q": "x"})


def test_names_are_sanitised_and_at_most_64_characters(tmp_path: Path) -> None:
    long_id = "get" + "VeryLong" * 12
    spec = {
        "openapi": "3.0.0",
        "paths": {
            "/a": {"get": {"operationId": long_id, "responses": {}}},
            "/b": {"get": {"operationId": long_id, "responses": {}}},
            "/c-d/{e}": {"post": {"parameters": [{"name": "e", "in": "path"}], "responses": {}}},
            "/f": {"get": {"operationId": "ünïcode näme", "responses": {}}},
        },
    }
    path = tmp_path / "names.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    names = import_openapi(path).names
    assert names[0] == long_id[:64] and names[1] == long_id[:62] + "_2"
    assert names[2:] == ["post_c_d_e", "n_code_n_me"]
    assert all(re.fullmatch(r"[A-Za-z0-9_]{1,64}", name) for name in names)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just some text, no JSON", "not JSON"),
        ('{"openapi": "2.0", "paths": {}}', "not an OpenAPI 3 document"),
        ('{"swagger": "2.0", "paths": {}}', "Swagger 2.0 is not supported"),
        ('{"openapi": "3.0.0"}', "has no 'paths' object"),
        ("[1, 2, 3]", "not an OpenAPI document"),
    ],
)
def test_a_file_that_is_no_spec_is_one_clear_error(
    tmp_path: Path, content: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing_module, "_yaml", lambda: None)
    path = tmp_path / "thing.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ToolImportError) as caught:
        import_openapi(path)
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text


def test_yaml_specs_need_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("yaml")
    report = import_openapi(FIXTURES / "inventory.yaml")
    assert report.names == ["getInventory"] and report.api == "inventory"
    monkeypatch.setattr(importing_module, "_yaml", lambda: None)
    with pytest.raises(ToolImportError, match=r"inventory.yaml: YAML needs PyYAML"):
        import_openapi(FIXTURES / "inventory.yaml")


def test_unreadable_yaml_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "bad.yaml"
    path.write_text("openapi: [unclosed\n  paths: {\n", encoding="utf-8")
    with pytest.raises(ToolImportError, match=r"bad.yaml: neither JSON .* nor YAML at line"):
        import_openapi(path)


# --- calls -------------------------------------------------------------------------------------


async def test_query_and_header_parameters_and_bearer_auth(store: PetStore) -> None:
    tools = petstore_tools(store.url)
    found = await tools["listPets"](
        {"limit": 5, "status": "available", "fields": ["id", "name"], "X-Request-Id": "req-1"}
    )
    seen = store.requests[-1]
    assert seen.method == "GET" and seen.path == "/v1/pets"
    assert seen.query == {"limit": ["5"], "status": ["available"], "fields": ["id,name"]}
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    assert seen.headers["x-request-id"] == "req-1"
    [observation] = found
    assert json.loads(observation.text) == [
        {"id": 1, "name": "Rex", "tag": "dog", "status": "available"}
    ]
    assert observation.text.startswith("[\n  {")  # pretty-printed
    assert observation.url == f"{store.url}/pets?limit=5&status=available&fields=id%2Cname"
    assert re.fullmatch(r"api:listPets:[0-9a-f]{12}", observation.source_id)
    again = await tools["listPets"](
        {"X-Request-Id": "req-1", "fields": ["id", "name"], "status": "available", "limit": 5}
    )
    other = await tools["listPets"]({"limit": 1})
    assert again[0].source_id == observation.source_id != other[0].source_id
    assert "limit" not in store.requests[-1].query or store.requests[-1].query["limit"] == ["1"]
    assert "status" not in store.requests[-1].query  # arguments not given are not sent


async def test_json_body_path_parameters_and_nested_arguments(store: PetStore) -> None:
    tools = petstore_tools(store.url)
    [created] = await tools["createPet"]({"name": "Bo", "tag": "fish"})
    assert store.requests[-1].method == "POST"
    assert store.requests[-1].body == {"name": "Bo", "tag": "fish"}  # only what was given
    assert json.loads(created.text)["id"] == 3
    [shown] = await tools["showPetById"]({"petId": 3})
    assert store.requests[-1].path == "/v1/pets/3" and json.loads(shown.text)["name"] == "Bo"
    [updated] = await tools["updatePet"](
        {"petId": 2, "name": "Tom", "owner": {"name": "Ann", "pets": []}}
    )
    assert store.requests[-1].method == "PUT" and store.requests[-1].path == "/v1/pets/2"
    assert store.requests[-1].body == {"name": "Tom", "owner": {"name": "Ann", "pets": []}}
    assert json.loads(updated.text)["owner"] == {"name": "Ann", "pets": []}


async def test_path_parameters_are_url_encoded(store: PetStore) -> None:
    tools = petstore_tools(store.url)
    [found] = await tools["get_owners_ownerName_pets"]({"ownerName": "Ann Lee/ü?"})
    assert store.requests[-1].raw_path == "/v1/owners/Ann%20Lee%2F%C3%BC%3F/pets"
    assert json.loads(found.text)["owner_raw"] == "Ann%20Lee%2F%C3%BC%3F"


async def test_api_keys_in_a_header_or_the_query(store: PetStore) -> None:
    tools = petstore_tools(store.url)
    [gone] = await tools["deletePet"]({"petId": 1})
    assert store.requests[-1].headers["x-api-key"] == SECRET
    assert "authorization" not in store.requests[-1].headers
    assert gone.text == "(empty 204 reply)" and 1 not in store.pets
    [tagged] = await tools["pets_find_by_tags"]({"tags": ["cat", "bird"]})
    assert store.requests[-1].query == {"tags": ["cat", "bird"], "api_key": [SECRET]}
    assert [pet["name"] for pet in json.loads(tagged.text)] == ["Tom"]
    assert tagged.url == f"{store.url}/pets/findByTags?tags=cat&tags=bird"  # no key in it
    [counts] = await tools["getInventory"]({})  # `security: []`: nothing is sent
    assert json.loads(counts.text) == {"sold": 1}
    assert "authorization" not in store.requests[-1].headers
    assert "api_key" not in store.requests[-1].query


async def test_auth_from_configuration_overrides_the_spec(store: PetStore) -> None:
    tools = petstore_tools(store.url, auth="query", key_name="api_key")
    await tools["pets_find_by_tags"]({"tags": ["dog"]})
    assert store.requests[-1].query["api_key"] == [SECRET]
    tools = petstore_tools(store.url, environ={}, token=SecretStr(SECRET))
    await tools["listPets"]({})
    assert store.requests[-1].headers["authorization"] == f"Bearer {SECRET}"


async def test_a_missing_secret_is_a_tool_error_naming_the_variable(store: PetStore) -> None:
    tools = petstore_tools(store.url, environ={})
    with pytest.raises(ToolError, match=r"needs a secret \(bearer\): set WIDESEEK_TOOL_PETSTORE_"):
        await tools["listPets"]({})
    assert store.requests == []  # nothing was sent
    tools = petstore_tools(store.url, environ={"MY_PET_KEY": SECRET}, token_env="MY_PET_KEY")
    await tools["listPets"]({})
    assert store.requests[-1].headers["authorization"] == f"Bearer {SECRET}"


async def test_invalid_arguments_are_tool_errors(store: PetStore) -> None:
    tools = petstore_tools(store.url)
    for bad in ({"limit": 0}, {"status": "eaten"}, {"colour": "red"}, {"limit": "many"}):
        with pytest.raises(ToolError, match="bad arguments for tool 'listPets'"):
            await tools["listPets"](bad)
    with pytest.raises(ToolError, match="bad arguments"):
        await tools["createPet"]({"tag": "no name"})
    with pytest.raises(
        ToolError, match=r"(?s)bad arguments.*arguments.owner: missing required 'name'"
    ):
        await tools["updatePet"]({"petId": 2, "name": "Tom", "owner": {"pets": []}})
    with pytest.raises(ToolError, match="expected integer"):
        await tools["updatePet"]({"petId": "two", "name": "Tom"})
    assert store.requests == []


async def test_error_statuses_are_tool_errors_with_an_excerpt(store: PetStore) -> None:
    tools = petstore_tools(store.url)
    with pytest.raises(ToolError, match=r"GET .*/pets/99 returned HTTP 404: .*pet 99 not found"):
        await tools["showPetById"]({"petId": 99})
    with pytest.raises(ToolError) as caught:
        await tools["showPetById"]({"petId": 500})
    message = str(caught.value)
    assert "returned HTTP 500" in message and "database down for Bearer ***" in message
    assert SECRET not in message  # the server echoed it; it is masked


async def test_a_slow_server_times_out(store: PetStore) -> None:
    tools = petstore_tools(store.url, timeout=0.3)
    started = time.perf_counter()
    with pytest.raises(ToolError, match=r"GET .*/pets/7777 timed out after 0.3 s"):
        await tools["showPetById"]({"petId": 7777})
    assert time.perf_counter() - started < 2.5


async def test_an_unreachable_server_is_a_tool_error() -> None:
    tools = petstore_tools("http://127.0.0.1:9/v1")  # the discard port: nothing listens
    with pytest.raises(ToolError, match=r"GET http://127.0.0.1:9/v1/pets failed"):
        await tools["listPets"]({})


async def test_long_responses_are_clipped(store: PetStore) -> None:
    for n in range(3, 60):
        store.pets[n] = {"id": n, "name": f"pet number {n}", "status": "available"}
    tools = petstore_tools(store.url, max_chars=300)
    [found] = await tools["listPets"]({"limit": 100})
    head, _, tail = found.text.partition("\n… (clipped: ")
    assert len(head) == 300 and tail.endswith(" more characters)")


async def test_secrets_never_leave_the_tool(
    store: PetStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tools = petstore_tools(store.url, timeout=0.5)
    seen: list[str] = []
    calls: list[tuple[str, dict[str, Any]]] = [
        ("listPets", {"limit": 2}),
        ("pets_find_by_tags", {"tags": ["dog"]}),
        ("deletePet", {"petId": 2}),
    ]
    for name, args in calls:
        for observation in await tools[name](args):
            seen.append(observation.model_dump_json())
    for pet in (500, 7777):  # echoed by the server; timed out
        with pytest.raises(ToolError) as caught:
            await tools["showPetById"]({"petId": pet})
        seen.append(str(caught.value))
        seen.append(repr(caught.value.__cause__) + repr(caught.value.__context__))
    assert any(SECRET in r.raw_path for r in store.requests)  # it was really sent…
    assert "HTTP Request: GET" in caplog.text  # …and httpx logged the requests…
    for tool in tools.values():
        seen += [repr(tool), repr(tool.config), str(tool.config), tool.card().model_dump_json()]
        seen.append(json.dumps(tool.config.stored()))
    seen.append(caplog.text)
    leaks = [text for text in seen if SECRET in text]
    assert leaks == []  # …but nothing anyone sees holds the secret
