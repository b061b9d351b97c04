"""`web_search`: the agent's tool over the configured web search backends (`MultiSearch`)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tools.base import Observation, Tool, ToolError
from tools.web.multi import MultiSearch
from tools.web.results import Recency, SearchRequest, WebResult, normalise_url

__all__ = ["WebSearchArgs", "WebSearchTool", "web_observation", "web_source_id"]


def web_source_id(url: str) -> str:
    """The stable, citable id of a web page: `web:<normalised url>`."""
    return f"web:{normalise_url(url)}"


def web_observation(result: WebResult) -> Observation:
    text = result.snippet or result.title or result.url
    if result.published is not None:
        text += f" (published {result.published.isoformat()})"
    return Observation(
        source_id=web_source_id(result.url),
        url=result.url,
        title=result.title,
        text=text,
        score=result.score,
    )


class WebSearchArgs(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=500,
        description="what to look for, as you would type it into a web search engine; "
        'search operators such as site:example.org or "exact phrase" work on most engines',
    )
    k: int = Field(default=10, ge=1, le=50, description="how many results to return (1-50)")
    recency: Recency | None = Field(
        default=None,
        description="only pages published within the last day, week, month or year",
    )
    date_from: date | None = Field(
        default=None, description="only pages published on or after this date (YYYY-MM-DD)"
    )
    date_to: date | None = Field(
        default=None, description="only pages published on or before this date (YYYY-MM-DD)"
    )

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _window(self) -> WebSearchArgs:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        return self


class WebSearchTool(Tool):
    """Searches the live web through every configured backend at once (merged, de-duplicated).

    `cache_ttl = 0`: the agent's tool cache must not keep a merged result (one made while a
    backend was down would be served for the whole TTL); each backend's own answer is cached
    inside `MultiSearch` instead.
    """

    name: ClassVar[str] = "web_search"
    description: ClassVar[str] = (
        "Search the live internet (web search engines such as Google, Brave, Tavily or "
        "SearxNG) for current or recent information: news, events, prices, releases, people, "
        "companies, statistics, documentation or anything not in the offline corpus. Returns "
        "up to k web pages, best first, each with its title, URL, a snippet and the "
        "publication date when known; filter by recency (day, week, month, year) or by a date "
        "range (date_from, date_to). Snippets are short: read a promising page to get its "
        "full text before relying on it."
    )
    Args: ClassVar[type[BaseModel]] = WebSearchArgs
    examples: ClassVar[list[dict[str, Any]]] = [
        {"query": "latest stable Python release"},
        {"query": "EU AI Act enforcement news", "recency": "week", "k": 5},
        {"query": "SpaceX Starship launch", "date_from": "2024-01-01", "date_to": "2024-06-30"},
    ]
    tags: ClassVar[tuple[str, ...]] = ("web", "internet", "search", "news", "online", "current")
    cache_ttl: ClassVar[float | None] = 0

    def __init__(self, search: MultiSearch) -> None:
        self.search = search

    def __repr__(self) -> str:
        return f"<WebSearchTool {self.search!r}>"

    def cache_scope(self) -> str:
        """The backends by name and URL: another instance is another source."""
        return ",".join(f"{backend.name}={backend.base_url}" for backend in self.search.backends)

    async def run(self, args: WebSearchArgs) -> list[Observation]:
        if not self.search.backends:
            raise ToolError("web_search: no web search backend is configured")
        try:
            request = SearchRequest(
                query=args.query,
                k=args.k,
                recency=args.recency,
                date_from=args.date_from,
                date_to=args.date_to,
            )
        except ValidationError as error:
            raise ToolError(f"bad arguments for tool 'web_search': {error}") from None
        outcome = await self.search.search(request)
        if outcome.all_failed:
            reasons = "; ".join(str(failure) for failure in outcome.failures)
            raise ToolError(f"web_search: every backend failed: {reasons}")
        return [web_observation(result) for result in outcome.results]
