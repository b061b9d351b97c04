"""Model access: the `ChatModel` seam and its backends (embedded, openai, scripted)."""

from agent.llm.base import (
    ChatModel,
    Completion,
    Message,
    ModelError,
    StructuredOutputError,
    Usage,
    system,
    user,
)
from agent.llm.factory import build_model, build_role_models
from agent.llm.repair import extract_json, json_schema_for, strip_think
from agent.llm.scripted import ScriptedChatModel
from agent.llm.weights import MODELS, WeightsError, resolve_model_path

__all__ = [
    "MODELS",
    "ChatModel",
    "Completion",
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
    "resolve_model_path",
    "strip_think",
    "system",
    "user",
]
