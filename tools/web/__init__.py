"""The web: search backends behind one interface (search side) and page fetching (read side)."""

from tools.web.backends import (
    BackendConfigError,
    BackendSettings,
    BraveBackend,
    BraveSettings,
    SearchBackend,
    SearxNGBackend,
    SearxNGSettings,
    SerperBackend,
    SerperSettings,
    TavilyBackend,
    TavilySettings,
    build_backend,
    parse_backend_settings,
)
from tools.web.limits import BackendLimits, RetryPolicy, TokenBucket
from tools.web.multi import MultiSearch, SearchCache, SearchOutcome
from tools.web.results import (
    BackendError,
    BackendFailure,
    SearchRequest,
    WebResult,
    normalise_url,
)
from tools.web.search_tool import WebSearchTool

__all__ = [
    "BackendConfigError",
    "BackendError",
    "BackendFailure",
    "BackendLimits",
    "BackendSettings",
    "BraveBackend",
    "BraveSettings",
    "MultiSearch",
    "RetryPolicy",
    "SearchBackend",
    "SearchCache",
    "SearchOutcome",
    "SearchRequest",
    "SearxNGBackend",
    "SearxNGSettings",
    "SerperBackend",
    "SerperSettings",
    "TavilyBackend",
    "TavilySettings",
    "TokenBucket",
    "WebResult",
    "WebSearchTool",
    "build_backend",
    "normalise_url",
    "parse_backend_settings",
]

# read side (fetch/read_url) re-exported below
from tools.web.extract import ExtractedDocument, ExtractError, extract_text
from tools.web.fetch import (
    ContentTooLargeError,
    FetchedPage,
    FetchError,
    FetchLimits,
    FetchTimeoutError,
    TooManyRedirectsError,
    UnsupportedContentError,
    fetch_url,
)
from tools.web.read_tool import ReadUrlTool
from tools.web.safety import (
    ResolvedTarget,
    UnresolvableHostError,
    UnsafeUrlError,
    UrlPolicy,
    check_url,
)

__all__ += [
    "ContentTooLargeError",
    "ExtractError",
    "ExtractedDocument",
    "FetchError",
    "FetchLimits",
    "FetchTimeoutError",
    "FetchedPage",
    "ReadUrlTool",
    "ResolvedTarget",
    "TooManyRedirectsError",
    "UnresolvableHostError",
    "UnsafeUrlError",
    "UnsupportedContentError",
    "UrlPolicy",
    "check_url",
    "extract_text",
    "fetch_url",
]
