"""wideseek's agent: the research graph, model access and configuration.

from agent import Researcher
result = Researcher().run("Who painted the Mona Lisa?")
"""

from agent.config import ConfigError, ModelConfig, Settings, load_settings
from agent.events import Event
from agent.llm import ChatModel, ModelError, ScriptedChatModel, StructuredOutputError
from agent.researcher import Researcher, ResearchError
from agent.result import Citation, ResearchResult, RunUsage, Timings

__all__ = [
    "ChatModel",
    "Citation",
    "ConfigError",
    "Event",
    "ModelConfig",
    "ModelError",
    "ResearchError",
    "ResearchResult",
    "Researcher",
    "RunUsage",
    "ScriptedChatModel",
    "Settings",
    "StructuredOutputError",
    "Timings",
    "load_settings",
]
