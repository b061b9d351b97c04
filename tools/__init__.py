"""Things the agent can do in the world, each a typed `Tool`."""

from tools.base import Observation, Tool, ToolError, ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool

__all__ = [
    "CorpusSearchTool",
    "Observation",
    "ReadDocumentTool",
    "Tool",
    "ToolError",
    "ToolRegistry",
]
