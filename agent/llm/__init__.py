"""Model access: the `ChatModel` seam and its backends (embedded, openai, scripted)."""

from agent.llm.base import (
    ChatModel,
    Completion,
    Message,
    ModelError,
    StructuredOutputError,
    Usage,
    repeats_itself,
    system,
    user,
)
from agent.llm.factory import build_model, build_role_models
from agent.llm.repair import extract_json, json_schema_for, partial_object, strip_think
from agent.llm.scripted import CutOff, ScriptedChatModel
from agent.llm.weights import MODELS, WeightsError, resolve_model_path

__all__ = [
    "MODELS",
    "ChatModel",
    "Completion",
    "CutOff",
    "Message",
    "ModelError",
    "ScriptedChatModel",
    "StructuredOutputError",
    "Usage",
    "WeightsError",
    "build_model",
    "build_role_models",
    "extract_json",
    "json_schema_for",
    "partial_object",
    "repeats_itself",
    "resolve_model_path",
    "strip_think",
    "system",
    "user",
]
