"""What the models are asked to return, as pydantic models (compiled to JSON-schema grammars).

Small models follow short, flat schemas best: no free-text length limits in the schema (they
bloat grammars); lengths are bounded after parsing instead.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MAX_TEXT = 600


def _clip(value: str) -> str:
    value = " ".join(value.split())
    return value[:_MAX_TEXT]


class SubGoal(BaseModel):
    goal: str = Field(description="what to find out")
    evidence_needed: str = Field(description="what text in a document would settle the goal")
    query: str = Field(description="3-8 keywords for a keyword search")

    _clip = field_validator("goal", "evidence_needed", "query")(_clip)

    @field_validator("query")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be empty")
        return value


class Plan(BaseModel):
    task_kind: Literal["lookup", "wide"] = Field(
        description="wide only when the question asks for a list or table of many items"
    )
    sub_goals: list[SubGoal] = Field(min_length=1, max_length=4)
    columns: list[str] = Field(default_factory=list, description="wide: the table's columns")


class FactItem(BaseModel):
    """One fact read from a result: what the knowledge cache stores (with the result's source)."""

    subject: str = Field(description="the entity the fact is about, e.g. 'Mona Lisa'")
    attribute: str = Field(description="the property, e.g. 'painter'")
    value: str = Field(description="its value, copied from the result, e.g. 'Leonardo da Vinci'")
    result: int = Field(description="the number of the result that states it")

    _clip = field_validator("subject", "attribute", "value")(_clip)


EVIDENCE_SENTENCES = 3
"""Most result sentences a reflection names as its evidence."""
FACTS_ASKED = 1
"""Most facts the model may write per reflection: each costs ~30 tokens, 3-4 s on two cores
(parsing still takes up to 4, as older replies have)."""


def _reflection_schema(schema: dict[str, Any]) -> None:
    """What the model is constrained to: `answer` required, at most `FACTS_ASKED` facts, and
    `evidence` as at most three sentence numbers ("2.1"): a small model asked to copy evidence
    copies whole passages, and one asked for free-form numbers counts on and on."""
    schema.setdefault("required", [])
    if "answer" not in schema["required"]:
        schema["required"].insert(1, "answer")
    schema["properties"]["evidence"] = {
        "description": "the numbers of the result sentences that bear on the goal, like 2.1",
        "type": "array",
        "items": {"type": "string", "pattern": "^[0-9]{1,2}[.][0-9]{1,2}$"},
        "maxItems": EVIDENCE_SENTENCES,
    }
    schema["properties"]["facts"]["maxItems"] = FACTS_ASKED


class Reflection(BaseModel):
    """What the reflector returns. The model is constrained to `_reflection_schema`; parsing
    also takes older shapes: `evidence` written out as text, and no `answer`."""

    model_config = ConfigDict(json_schema_extra=_reflection_schema)

    evidence: str = Field(
        description="the numbers of the result sentences that bear on the goal, like '2.1, "
        "2.3' (or those facts written out, each followed by its result number like [1]); "
        "empty if none"
    )
    answer: str = Field(
        "",
        description="when the evidence settles the goal: its answer in one or two sentences, "
        "each followed by its result number like [1]; empty otherwise",
    )
    facts: list[FactItem] = Field(
        max_length=4,
        description="the same facts as subject / attribute / value, each with its result number",
    )
    missing: str = Field(description="what the goal still needs; empty if nothing")
    verdict: Literal["satisfied", "partial", "off_track"]
    next_action: Literal["next_goal", "search", "read", "answer"]
    query: str = Field("", description="for search: a new query, different from those used")
    read: int = Field(0, description="for read: the number of the result to read in full")

    @field_validator("evidence", mode="before")
    @classmethod
    def _sentence_numbers(cls, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value[:EVIDENCE_SENTENCES])
        return value

    _clip = field_validator("evidence", "answer", "missing", "query")(_clip)
