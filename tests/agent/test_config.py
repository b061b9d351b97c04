from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import ConfigError, load_settings


def test_defaults() -> None:
    s = load_settings()
    assert s.models.default.backend == "embedded"
    assert s.models.for_role("writer") is s.models.default
    assert s.corpora == ["wiki-offline"]


def test_precedence_toml_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "w.toml"
    cfg.write_text(
        "[budget]\nmax_steps = 3\nmax_tool_calls = 5\n"
        '[models.planner]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
    )
    s = load_settings(cfg)
    assert s.budget.max_steps == 3 and s.budget.max_tool_calls == 5
    assert s.models.for_role("planner").backend == "openai"
    assert s.models.for_role("writer").backend == "embedded"
    monkeypatch.setenv("WIDESEEK_BUDGET__MAX_STEPS", "4")
    s = load_settings(cfg)
    assert s.budget.max_steps == 4 and s.budget.max_tool_calls == 5  # env beats toml
    s = load_settings(cfg, **{"budget.max_steps": 2})
    assert s.budget.max_steps == 2  # flags beat env


def test_toml_in_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "wideseek.toml").write_text('corpora = ["a", "b"]\n')
    assert load_settings().corpora == ["a", "b"]


def test_corpora_from_env_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIDESEEK_CORPORA", '["x","y"]')
    assert load_settings().corpora == ["x", "y"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[budget]\nmax_stepz = 3\n", "budget.max_stepz"),
        ("[budget]\nmax_steps = 0\n", "budget.max_steps"),
        ('[models.default]\nbackend = "gpt"\n', "models.default.backend"),
        ('[models.default]\nbase_url = "localhost:8000"\n', "models.default.base_url"),
        ("colour = 1\n", "colour"),
    ],
)
def test_bad_key_or_value_is_named(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        load_settings(cfg)


def test_bad_env_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIDESEEK_BUDGET__MAX_SECONDS", "soon")
    with pytest.raises(ConfigError, match=r"budget\.max_seconds"):
        load_settings()


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text("[budget\n")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_env_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIDESEEK_BUDGET__MAX_STEPZ", "3")
    with pytest.raises(ConfigError, match="WIDESEEK_BUDGET__MAX_STEPZ"):
        load_settings()
    monkeypatch.delenv("WIDESEEK_BUDGET__MAX_STEPZ")
    monkeypatch.setenv("WIDESEEK_MODELS__WRITER__MODEL", "x.gguf")
    assert load_settings().models.for_role("writer").model == "x.gguf"


def test_embeddings_encoder_by_config(tmp_path) -> None:
    from retriever.encoder import MiniLMEncoder, OpenAIEmbeddingsEncoder, SentenceTransformerEncoder

    assert isinstance(load_settings().embeddings.build(), MiniLMEncoder)
    remote = load_settings(
        **{"embeddings.encoder": "http://127.0.0.1:8000/v1", "embeddings.model": "bge-m3"}
    ).embeddings.build()
    assert isinstance(remote, OpenAIEmbeddingsEncoder) and remote.name.endswith("bge-m3")
    local = load_settings(**{"embeddings.encoder": str(tmp_path)}).embeddings.build()
    assert isinstance(local, SentenceTransformerEncoder)
    with pytest.raises(ConfigError, match=r"embeddings\.encoder"):
        load_settings(**{"embeddings.encoder": "no-such-model"})
    with pytest.raises(ConfigError, match=r"embeddings\.model"):
        load_settings(**{"embeddings.encoder": "http://127.0.0.1:8000/v1"}).embeddings.build()
