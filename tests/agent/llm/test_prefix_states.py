"""Saved KV states of prompt prefixes, on the real default model."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm.embedded import EmbeddedChatModel
from agent.llm.prefix_states import PrefixStates
from agent.llm.weights import resolve_model_path

RULES = (
    "You answer questions about the harbour town of Easthaven. Answer with one short sentence. "
    "Use plain words, no lists, no markdown. If you do not know, say that you do not know. "
    "The ferry to Ollby leaves from the north pier. The lighthouse on Varn Point was first "
    "lit in 1874. The customs house has twelve rooms and a clock tower."
)


def chat(system: str, question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


@pytest.fixture(scope="module")
def llama(embedded_model: EmbeddedChatModel) -> object:
    return embedded_model.load()


def reply(llama: object, messages: list[dict[str, str]]) -> str:
    out = llama.create_chat_completion(messages=messages, max_tokens=24, temperature=0.0)  # type: ignore[attr-defined]
    return str(out["choices"][0]["message"]["content"])


@pytest.mark.slow
def test_a_prefix_is_read_once_and_restored_in_memory_and_from_disk(
    llama: object, tmp_path: Path
) -> None:
    path = resolve_model_path()
    states = PrefixStates(llama, path, tmp_path)
    assert states.enabled
    first = chat(RULES, "When was the lighthouse first lit?")
    prefix = states.prime(first)
    assert prefix >= 48 and states.saved == 1 and len(list(tmp_path.glob("*.kv"))) == 1
    expected = reply(llama, first)
    assert "1874" in expected

    # another role's prompt takes the context over; then the first role's state comes back
    states.prime(chat("You translate English into French. " * 8, "Good morning."))
    assert states.saved == 2
    assert states.prime(chat(RULES, "When was the lighthouse first lit?")) == prefix
    assert states.hits == 1
    assert reply(llama, first) == expected  # same reply from the restored state

    # a new process finds the state on disk
    later = PrefixStates(llama, path, tmp_path)
    later.prime(chat("Something else entirely. " * 10, "Hello."))
    assert later.prime(chat(RULES, "How many rooms does the customs house have?")) == prefix
    assert later.hits == 1 and later.saved == 1

    # a damaged file is a miss, removed and saved anew
    for file in tmp_path.glob("*.kv"):
        file.write_bytes(b"not a state")
    fresh = PrefixStates(llama, path, tmp_path)
    fresh.prime(chat("Something else entirely. " * 10, "Hello."))
    assert fresh.prime(first) == prefix and fresh.hits == 0
    assert reply(llama, first) == expected
