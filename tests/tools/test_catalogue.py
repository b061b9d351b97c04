"""The tool catalogue: imported tools persist across runs; re-importing replaces them."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.tools.fake_petstore import SECRET, PetStore, serve
from tools import (
    ApiConfig,
    ToolCatalogue,
    ToolCatalogueError,
    ToolImportError,
    import_file,
)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def petstore_file(tmp_path: Path) -> Path:
    path = tmp_path / "petstore.json"
    shutil.copy(FIXTURES / "petstore.json", path)
    return path


@pytest.fixture
def store() -> Iterator[PetStore]:
    yield from serve()


def test_import_file_tells_the_kinds_apart(petstore_file: Path, tmp_path: Path) -> None:
    assert import_file(petstore_file).kind == "openapi"
    assert import_file(FIXTURES / "functions.json").kind == "functions"
    other = tmp_path / "other.json"
    other.write_text('{"title": "a JSON file about something else"}')
    with pytest.raises(ToolImportError) as caught:
        import_file(other)
    assert str(caught.value) == (
        f"{other}: neither an OpenAPI 3 document nor an OpenAI function list"
    )


def test_cards_and_config_persist_across_runs(petstore_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "data" / "tools.db"
    report = import_file(petstore_file, config=ApiConfig(base_url="http://127.0.0.1:1/v1"))
    with ToolCatalogue(db) as catalogue:
        saved = catalogue.save(report)
        assert saved.replaced == [] and saved.report.names == report.names
        catalogue.save(import_file(FIXTURES / "functions.json"))
    with ToolCatalogue(db) as catalogue:  # a later run
        cards = catalogue.list_cards()
        apis = {entry.name: entry for entry in catalogue.apis()}
    assert [c.name for c in cards] == [
        "get_weather", "book_flight", "now", "get_weather_2", *report.names,
    ]  # fmt: skip
    assert cards[4:] == [spec.card for spec in report.tools]
    assert apis["petstore"].config.base_url == "http://127.0.0.1:1/v1"
    assert apis["petstore"].file == str(petstore_file.resolve())
    assert apis["petstore"].kind == "openapi" and apis["functions"].kind == "functions"
    assert apis["petstore"].tools == report.names
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reimporting_a_file_replaces_its_tools(petstore_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "tools.db"
    with ToolCatalogue(db) as catalogue:
        catalogue.save(import_file(petstore_file))
        spec = json.loads(petstore_file.read_text())
        del spec["paths"]["/pets/{petId}"]  # three operations fewer
        spec["paths"]["/store/inventory"]["get"]["summary"] = "Counts of pets per status"
        petstore_file.write_text(json.dumps(spec))
        saved = catalogue.save(import_file(petstore_file))
        assert len(saved.replaced) == 8
        names = [c.name for c in catalogue.list_cards()]
        assert names == [
            "listPets", "createPet", "pets_find_by_tags", "get_owners_ownerName_pets",
            "getInventory",
        ]  # fmt: skip
        inventory = next(c for c in catalogue.list_cards() if c.name == "getInventory")
        assert inventory.description == "Counts of pets per status."
        # the same API name from another file replaces it too
        other = tmp_path / "inventory_v2.json"
        other.write_text(json.dumps({"openapi": "3.0.0", "paths": {"/stock": {"get": {
            "operationId": "getStock", "responses": {}}}}}))  # fmt: skip
        saved = catalogue.save(import_file(other, api="petstore"))
        assert len(saved.replaced) == 5
        assert [c.name for c in catalogue.list_cards()] == ["getStock"]
        assert [e.file for e in catalogue.apis()] == [str(other.resolve())]
        assert catalogue.remove("petstore") == 1 and catalogue.list_cards() == []


def test_names_of_builtin_or_other_apis_tools_are_not_taken(
    petstore_file: Path, tmp_path: Path
) -> None:
    with ToolCatalogue(tmp_path / "tools.db") as catalogue:
        catalogue.save(import_file(petstore_file))
        clash = tmp_path / "clash.json"
        clash.write_text(json.dumps([
            {"name": "listPets", "description": "Another API's listPets."},
            {"name": "search", "description": "Not the builtin search."},
            {"name": "unique_one", "description": "Fine."},
        ]))  # fmt: skip
        saved = catalogue.save(import_file(clash), reserved=["search", "read"])
        assert saved.report.names == ["unique_one"]
        assert {p.where: p.reason for p in saved.report.problems} == {
            "listPets": "already a tool of 'petstore'",
            "search": "a builtin tool's name",
        }
        cards = {c.name: c for c in catalogue.list_cards()}
        assert cards["listPets"].source == "openapi:petstore.json"
        assert "search" not in cards and "unique_one" in cards


async def test_stored_tools_call_the_api_with_config_and_env_secrets(
    petstore_file: Path, tmp_path: Path, store: PetStore
) -> None:
    db = tmp_path / "tools.db"
    with ToolCatalogue(db) as catalogue:
        config = ApiConfig(base_url=store.url, token=SecretStr(SECRET), timeout=5)
        catalogue.save(import_file(petstore_file, config=config))
    for path in db.parent.glob("tools.db*"):  # the database and its WAL
        assert SECRET.encode() not in path.read_bytes()
    with ToolCatalogue(db) as catalogue:  # a later run: the secret comes from the environment
        tools = {
            t.name: t for t in catalogue.tools(environ={"WIDESEEK_TOOL_PETSTORE_TOKEN": SECRET})
        }
        [pet] = await tools["showPetById"]({"petId": 2})
        assert json.loads(pet.text)["name"] == "Tom"
        assert tools["showPetById"].config.timeout == 5  # stored at import
        # wideseek.toml's section goes on top of what was stored
        override = {"petstore": ApiConfig(max_chars=200, token=SecretStr(SECRET))}
        tools = {t.name: t for t in catalogue.tools(override, environ={})}
        assert tools["listPets"].config.base_url == store.url
        assert tools["listPets"].config.max_chars == 200
        [pets] = await tools["listPets"]({})
        assert "Rex" in pets.text
        assert store.requests[-1].headers["authorization"] == f"Bearer {SECRET}"


def test_a_damaged_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "tools.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ToolCatalogueError, match=r"tool catalogue .*tools.db"):
        ToolCatalogue(db)
