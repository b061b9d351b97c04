"""Build the model for each role from configuration; roles with equal configs share a model."""

from __future__ import annotations

from agent.config import ROLES, ConfigError, ModelConfig, ModelsConfig, Role
from agent.llm.base import ChatModel


def build_model(config: ModelConfig) -> ChatModel:
    if config.backend == "embedded":
        from agent.llm.embedded import EmbeddedChatModel

        return EmbeddedChatModel(config.model, n_ctx=config.n_ctx, n_threads=config.n_threads)
    if config.backend == "openai":
        if not config.base_url:
            raise ConfigError(
                "models: the openai backend needs base_url (e.g. http://host:8000/v1)"
            )
        from agent.llm.openai import OpenAIChatModel

        return OpenAIChatModel(
            base_url=config.base_url,
            model=config.model,
            api_key=config.api_key.get_secret_value() if config.api_key else None,
            timeout=config.timeout,
            max_retries=config.max_retries,
            structured_mode=config.structured_mode,
        )
    raise ConfigError(
        "models: the scripted backend replays canned replies for tests; pass the models to "
        "Researcher(models=...) instead of configuring it"
    )


def build_role_models(config: ModelsConfig) -> dict[Role, ChatModel]:
    built: dict[str, ChatModel] = {}
    roles: dict[Role, ChatModel] = {}
    for role in ROLES:
        role_config = config.for_role(role)
        key = role_config.model_dump_json()
        if key not in built:
            built[key] = build_model(role_config)
        roles[role] = built[key]
    return roles
