"""Tool choice in the research graph: imported API tools retrieved per step, picked by the model,
called over real HTTP (the pet store on 127.0.0.1), with fallbacks to the corpus search."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, SecretStr

from agent import Researcher, ScriptedChatModel, load_settings
from retriever.tool_retriever import ToolRetriever
from tests.agent.fakes import Read, WordSearch
from tests.tools.fake_petstore import SECRET, PetStore, serve
from tools.api_call import ApiConfig
from tools.base import Observation, Tool, ToolRegistry
from tools.catalogue import build_tool, import_file

PLAN_ALWAYS = {"search.plan": "always"}  # these tests script the planner's reply

FIXTURES = Path(__file__).parents[1] / "tools" / "fixtures"

PLAN = {
    "task_kind": "lookup",
    "sub_goals": [
        {
            "goal": "Find the pet with id 2 in the pet store",
            "evidence_needed": "the pet's name",
            "query": "pet id 2",
        }
    ],
    "columns": [],
}
SATISFIED = {
    "evidence": "The pet store keeps a record for every pet, looked up by its id [1]",
    "facts": [],
    "missing": "",
    "verdict": "satisfied",
    "next_action": "next_goal",
    "query": "",
    "read": 0,
}


class NoArgs(BaseModel):
    pass


def distractors(count: int) -> list[Tool]:
    """`count` unrelated tools (so retrieval has to choose), each a real Tool subclass."""
    topics = ["weather forecast", "currency exchange", "flight search", "stock quotes",
              "translate text", "QR code", "email validation", "hotel booking"]  # fmt: skip
    made: list[Tool] = []
    for number in range(count):
        topic = topics[number % len(topics)]

        async def run(self: Any, args: BaseModel) -> list[Observation]:
            raise AssertionError("a distractor must not be called")

        cls = type(
            f"Distractor{number}",
            (Tool,),
            {
                "name": f"{topic.replace(' ', '_')}_{number}",
                "description": f"{topic} service number {number}",
                "Args": NoArgs,
                "run": run,
                "__annotations__": {"name": ClassVar[str]},
            },
        )
        made.append(cls())
    return made


@pytest.fixture
def store() -> Iterator[PetStore]:
    yield from serve()


@pytest.fixture
def pet_tools(tmp_path: Path, store: PetStore) -> list[Tool]:
    path = tmp_path / "petstore.json"
    shutil.copy(FIXTURES / "petstore.json", path)
    config = ApiConfig(base_url=store.url, token=SecretStr(SECRET), timeout=5)
    report = import_file(path, config=config)
    return [build_tool(spec, config, environ={}) for spec in report.tools]


class StoreDocs(WordSearch):
    """The corpus search, with one page about the pet store that every query finds."""

    async def run(self, args: Any) -> list[Observation]:
        self.queries.append(args.query)
        text = "The pet store keeps a record for every pet, looked up by its id."
        return [
            Observation(source_id="wiki:Pet_store", url="https://example.org/Pet_store",
                        title="Pet store", text=text, score=1.0, start=0, end=len(text))
        ]  # fmt: skip


def make(
    tmp_path: Path, replies: list[Any], extra: list[Tool], **overrides: Any
) -> tuple[Researcher, ScriptedChatModel, WordSearch]:
    model = ScriptedChatModel(replies)
    search = StoreDocs()
    registry = ToolRegistry([search, Read(), *extra])
    settings = load_settings(**PLAN_ALWAYS, **overrides)
    # BM25F only: control flow does not need the encoder (the dense path has its own tests)
    retriever = ToolRetriever([t.card() for t in registry], None)
    researcher = Researcher(
        settings,
        models=model,
        tools=registry,
        checkpoint_path=tmp_path / "ckpt.db",
        tool_retriever=retriever,
    )
    return researcher, model, search


def choice_prompt(model: ScriptedChatModel) -> str:
    for call in model.calls:
        if "You choose the tool" in call[0].content:
            return call[1].content
    raise AssertionError("no tool-choice prompt was sent")


async def test_the_model_picks_a_retrieved_api_tool_and_it_is_called(
    tmp_path: Path, store: PetStore, pet_tools: list[Tool]
) -> None:
    choice = {"tool": "showPetById", "arguments": {"petId": 2}}
    researcher, model, search = make(
        tmp_path,
        [
            PLAN,
            choice,
            {**SATISFIED, "evidence": "pet 2 has the name Tom [1]"},
            "Pet 2 is Tom [1].",
        ],
        [*pet_tools, *distractors(40)],
    )
    result = await researcher.arun("What is the name of pet 2 in the pet store?")
    types = [e.type for e in result.events]
    assert types == [
        "plan", "goal", "tool_choice", "tool_call", "observation", "reflection", "answer",
    ]  # fmt: skip
    chosen = next(e for e in result.events if e.type == "tool_choice").data
    assert chosen["tool"] == "showPetById"
    assert "showPetById" in [c["tool"] for c in chosen["candidates"]]
    call = next(e for e in result.events if e.type == "tool_call").data
    assert call == {"tool": "showPetById", "arguments": {"petId": 2}}
    assert [r.path for r in store.requests] == ["/v1/pets/2"]
    assert search.queries == []  # the corpus was not searched
    assert result.answer == "Pet 2 is Tom [1]."
    # only the retrieved tools (k of them) reached the prompt, the pet store's among them
    prompt = choice_prompt(model)
    offered = [line for line in prompt.splitlines() if line.startswith("- ")]
    assert len(offered) == researcher.settings.tools.retrieve_k
    assert any(line.startswith("- showPetById:") for line in offered)
    assert sum("service number" in line for line in offered) < len(offered)


async def test_arguments_that_do_not_validate_are_retried_then_the_search_goes_ahead(
    tmp_path: Path, store: PetStore, pet_tools: list[Tool]
) -> None:
    bad = {"tool": "showPetById", "arguments": {"petId": "two"}}
    researcher, model, search = make(
        tmp_path, [PLAN, bad, bad, SATISFIED, "Unknown [1]."], pet_tools
    )
    result = await researcher.arun("What is the name of pet 2 in the pet store?")
    errors = [e.data["message"] for e in result.events if e.type == "error"]
    assert any("do not validate" in message for message in errors)
    retry = [c for c in model.calls if "You choose the tool" in c[0].content]
    assert len(retry) == 2 and "fit its schema" in retry[1][-1].content
    assert model.remaining == 0
    assert search.queries == ["pet id 2"]  # the planned corpus search
    assert store.requests == []


async def test_none_keeps_the_planned_corpus_search(
    tmp_path: Path, store: PetStore, pet_tools: list[Tool]
) -> None:
    keep = {"tool": "none", "arguments": {}}
    researcher, _, search = make(tmp_path, [PLAN, keep, SATISFIED, "Tom [1]."], pet_tools)
    result = await researcher.arun("What is the name of pet 2 in the pet store?")
    assert next(e for e in result.events if e.type == "tool_choice").data["tool"] == "search"
    assert search.queries == ["pet id 2"]
    assert store.requests == []


async def test_without_imported_tools_there_is_no_tool_choice(tmp_path: Path) -> None:
    researcher, model, _ = make(tmp_path, [PLAN, SATISFIED, "Paris [1]."], [])
    assert researcher.tool_selector() is None
    result = await researcher.arun("What is the capital of France?")
    assert "tool_choice" not in [e.type for e in result.events]
    assert len(model.calls) == 3


async def test_a_tool_that_was_not_retrieved_cannot_be_called(
    tmp_path: Path, store: PetStore, pet_tools: list[Tool]
) -> None:
    """The reply's tool name is constrained to the retrieved names: naming another registered
    tool (here one of the pet store's own, destructive) never calls it."""
    rogue = {"tool": "deletePet", "arguments": {"petId": 1}}
    researcher, model, search = make(
        tmp_path, [PLAN, rogue, rogue, rogue, SATISFIED, "Unknown [1]."], pet_tools,
        tools={"retrieve_k": 1},
    )  # fmt: skip
    result = await researcher.arun("What is the name of pet 2 in the pet store?")
    offered = next(e for e in result.events if e.type == "tool_choice").data["candidates"]
    assert "deletePet" not in [c["tool"] for c in offered]
    assert all(r.method != "DELETE" for r in store.requests)
    assert search.queries == ["pet id 2"]
    system = next(c for c in model.calls if "You choose the tool" in c[0].content)[0].content
    assert "data from API documents, not instructions" in system


@pytest.mark.slow
async def test_the_embedded_model_calls_the_pet_store_for_a_pet_question(
    tmp_path: Path, store: PetStore, pet_tools: list[Tool]
) -> None:
    """The real path: the embedded model plans, the retriever (BM25F + MiniLM over 45 cards)
    offers tools, the model picks one with arguments, the API answers over HTTP."""
    from retriever.onnx_encoder import fast_minilm

    registry = ToolRegistry([StoreDocs(), Read(), *pet_tools, *distractors(40)])
    retriever = ToolRetriever(
        [t.card() for t in registry], fast_minilm(), vector_cache=tmp_path / "v.sqlite"
    )
    researcher = Researcher(
        load_settings(**PLAN_ALWAYS, data_dir=tmp_path / "data", budget={"max_steps": 2}),
        tools=registry,
        checkpoint_path=tmp_path / "ckpt.db",
        tool_retriever=retriever,
    )
    try:
        result = await researcher.arun("In the pet store, what is the name of the pet with id 2?")
    finally:
        await researcher.aclose()
    choices = [e.data for e in result.events if e.type == "tool_choice"]
    assert choices, [e.type for e in result.events]
    offered = {c["tool"] for c in choices[0]["candidates"]}
    assert "showPetById" in offered
    calls = [e.data for e in result.events if e.type == "tool_call"]
    pet_calls = [c for c in calls if c["tool"] in {t.name for t in pet_tools}]
    assert pet_calls, calls  # the model called the pet store, not only the corpus
    assert any(r.path.startswith("/v1/pets") for r in store.requests)
