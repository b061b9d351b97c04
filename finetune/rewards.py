"""ToolRL-style rewards: a model's output against the reference output of the same prompt.

Tool choice (`{"tool": name, "arguments": {...}}`, also the OpenAI shapes `{"name",
"arguments"}` and `{"function": {...}}`, arguments as an object or a JSON string):

- `format_reward`: 1 when the output parses as the expected shape (a tool call; a JSON object
  with the reference's fields; non-empty text for an answer), 0 otherwise;
- `tool_name_reward`: 1 when the tool names match (case, spaces, `-`/`_` ignored);
- `argument_name_reward`: Jaccard overlap of the argument names;
- `argument_value_reward`: the share of arguments (over the union of names, so missing and
  extra arguments both cost) whose values match after normalisation (case, whitespace,
  `"5"` == `5`, lists in any order);
- `answer_reward`: 1 for a normalised exact match, else token F1 (SQuAD normalisation).

`combined_reward` weighs the parts that apply to the reference (`RewardWeights`) and returns
a value in [0, 1]; the output must have the right format before anything else counts
(ToolRL: correctness is only scored on well-formed calls). `reward_function` wraps it for
trl's GRPOTrainer.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?")


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


def _strip(text: str) -> str:
    text = _THINK.sub("", text).strip()
    fenced = _FENCE.search(text)
    return fenced.group(1).strip() if fenced else text


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in `text` (think blocks and a code fence removed), or None."""
    if not isinstance(text, str):
        return None
    body = _strip(text)
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if start < 0 or end <= start:
            return None
        try:
            value = json.loads(body[start : end + 1])
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


def as_tool_call(value: dict[str, Any] | None) -> ToolCall | None:
    """A parsed object as a tool call, when it has that shape."""
    if value is None:
        return None
    if isinstance(value.get("function"), dict):  # OpenAI tool_calls item
        value = value["function"]
    name = value.get("tool", value.get("name"))
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return None
    if arguments is None:
        arguments = {}
    if not isinstance(name, str) or not name.strip() or not isinstance(arguments, dict):
        return None
    return ToolCall(name, arguments)


def parse_tool_call(text: str) -> ToolCall | None:
    """The tool call in a model's output, or None when it is not one."""
    return as_tool_call(parse_json_object(text))


# --- normalisation -----------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", name.strip().casefold()).strip("_")


def normalise_value(value: Any) -> Any:
    """A comparable form: strings folded and squashed, numbers (also numeric strings) as
    floats, lists as sorted normalised items, objects key by key."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
        if text in ("true", "false"):
            return text == "true"
        plain = text.replace(",", "")
        return float(plain) if _NUMBER.fullmatch(plain) else text
    if isinstance(value, list | tuple):
        items = [normalise_value(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, dict):
        return {normalise_name(str(k)): normalise_value(v) for k, v in value.items()}
    return value


def normalise_answer(text: str) -> str:
    """SQuAD-style: lower case, no punctuation, no articles, single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


# --- the parts ---------------------------------------------------------------------------------


def format_reward(output: str, reference: str) -> float:
    """1 when `output` has the reference's shape: a tool call for a tool-call reference, a
    JSON object with the same fields for a JSON reference, non-empty text for text."""
    ref_value = parse_json_object(reference)
    if ref_value is None:  # free text (an answer)
        return 1.0 if isinstance(output, str) and _strip(output) else 0.0
    value = parse_json_object(output)
    if value is None:
        return 0.0
    if as_tool_call(ref_value) is not None:
        return 1.0 if as_tool_call(value) is not None else 0.0
    return 1.0 if set(value) == set(ref_value) else 0.0


def tool_name_reward(predicted: ToolCall | None, reference: ToolCall) -> float:
    if predicted is None:
        return 0.0
    return 1.0 if normalise_name(predicted.name) == normalise_name(reference.name) else 0.0


def _names(arguments: dict[str, Any]) -> set[str]:
    return {normalise_name(str(k)) for k in arguments}


def argument_name_reward(predicted: ToolCall | None, reference: ToolCall) -> float:
    """Jaccard overlap of the argument names (1 when both have none)."""
    if predicted is None:
        return 0.0
    got, want = _names(predicted.arguments), _names(reference.arguments)
    if not got and not want:
        return 1.0
    return len(got & want) / len(got | want)


def argument_value_reward(predicted: ToolCall | None, reference: ToolCall) -> float:
    """Matching values over the union of argument names (1 when both have none)."""
    if predicted is None:
        return 0.0
    got = {normalise_name(str(k)): normalise_value(v) for k, v in predicted.arguments.items()}
    want = {normalise_name(str(k)): normalise_value(v) for k, v in reference.arguments.items()}
    names = set(got) | set(want)
    if not names:
        return 1.0
    return sum(1 for n in names if n in got and n in want and got[n] == want[n]) / len(names)


def token_f1(predicted: str, reference: str) -> float:
    got, want = normalise_answer(predicted).split(), normalise_answer(reference).split()
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def answer_reward(predicted: str, reference: str) -> float:
    """1 for a normalised exact match, else token F1."""
    if not isinstance(predicted, str):
        return 0.0
    predicted = _strip(predicted)
    if normalise_answer(predicted) == normalise_answer(reference):
        return 1.0
    return token_f1(predicted, reference)


# --- combined ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RewardWeights:
    format: float = 1.0
    tool_name: float = 1.0
    argument_names: float = 1.0
    argument_values: float = 1.0
    answer: float = 1.0

    @classmethod
    def parse(cls, text: str) -> RewardWeights:
        """From `format=1,tool_name=2,...` (unnamed parts keep their default)."""
        values: dict[str, float] = {}
        known = set(asdict(cls()))
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, raw = part.partition("=")
            name = name.strip()
            if name not in known:
                raise ValueError(f"unknown reward weight {name!r}; one of {', '.join(known)}")
            try:
                values[name] = float(raw)
            except ValueError:
                raise ValueError(f"reward weight {name} must be a number, not {raw!r}") from None
        return cls(**values)


@dataclass(frozen=True)
class RewardBreakdown:
    """Each part that applies to the reference (None: does not apply), and the total."""

    format: float
    tool_name: float | None = None
    argument_names: float | None = None
    argument_values: float | None = None
    answer: float | None = None
    total: float = 0.0


def score_output(output: str, reference: str, weights: RewardWeights | None = None
                 ) -> RewardBreakdown:  # fmt: skip
    """Every reward part of `output` against `reference`, and the weighted total in [0, 1].

    A tool-call reference scores format, tool name, argument names and values; another JSON
    reference scores format and its fields as arguments; text scores format and answer.
    Ill-formed output gets 0 for every part."""
    weights = weights or RewardWeights()
    form = format_reward(output, reference)
    ref_value = parse_json_object(reference)
    parts: dict[str, float]
    if ref_value is None:
        parts = {"format": form, "answer": answer_reward(output, reference) if form else 0.0}
    else:
        ref_call = as_tool_call(ref_value)
        value = parse_json_object(output) if form else None
        if ref_call is not None:
            got = as_tool_call(value)
            parts = {
                "format": form,
                "tool_name": tool_name_reward(got, ref_call),
                "argument_names": argument_name_reward(got, ref_call),
                "argument_values": argument_value_reward(got, ref_call),
            }
        else:  # a structured reply: its fields are compared like arguments
            fields = ToolCall("", value) if value is not None else None
            ref_fields = ToolCall("", ref_value)
            parts = {
                "format": form,
                "argument_names": argument_name_reward(fields, ref_fields),
                "argument_values": argument_value_reward(fields, ref_fields),
            }
    weight = {name: float(getattr(weights, name)) for name in parts}
    denominator = sum(weight.values())
    total = sum(parts[n] * weight[n] for n in parts) / denominator if denominator > 0 else 0.0
    return RewardBreakdown(**parts, total=total)


def combined_reward(output: str, reference: str, weights: RewardWeights | None = None) -> float:
    """The weighted reward of `output` against `reference`, in [0, 1]."""
    return score_output(output, reference, weights).total


def completion_text(completion: Any) -> str:
    """A trl completion (text, or conversational: a list of messages) as text."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            return str(last.get("content") or "")
    return ""


def reward_function(weights: RewardWeights | None = None) -> Callable[..., list[float]]:
    """A GRPOTrainer reward function: scores each completion against the dataset's
    `reference` column with `combined_reward`."""

    def tool_rl_reward(completions: Sequence[Any], reference: Sequence[str], **_: Any
                       ) -> list[float]:  # fmt: skip
        return [
            combined_reward(completion_text(c), r, weights)
            for c, r in zip(completions, reference, strict=True)
        ]

    return tool_rl_reward
