"""Things the agent can do in the world, each a typed `Tool`."""

from tools.api_call import ApiConfig, ApiTool, HttpCall, secret_env_name
from tools.base import Observation, Tool, ToolError, ToolRegistry
from tools.cards import ToolCard, ToolExample
from tools.catalogue import (
    ApiEntry,
    SavedImport,
    ToolCatalogue,
    ToolCatalogueError,
    build_tool,
    import_file,
)
from tools.corpus import CorpusSearchTool, ReadDocumentTool
from tools.function_list import import_function_list
from tools.importing import ImportedToolSpec, ImportProblem, ImportReport, ToolImportError
from tools.openapi import import_openapi

__all__ = [
    "ApiConfig",
    "ApiEntry",
    "ApiTool",
    "CorpusSearchTool",
    "HttpCall",
    "ImportProblem",
    "ImportReport",
    "ImportedToolSpec",
    "Observation",
    "ReadDocumentTool",
    "SavedImport",
    "Tool",
    "ToolCard",
    "ToolCatalogue",
    "ToolCatalogueError",
    "ToolError",
    "ToolExample",
    "ToolImportError",
    "ToolRegistry",
    "build_tool",
    "import_file",
    "import_function_list",
    "import_openapi",
    "secret_env_name",
]
