from __future__ import annotations

from pathlib import Path

import pytest

from baton.llm import Complexity, GatewayConfigError, ProviderKind, load_config
from baton.llm.errors import redact

TOML = """
[llm]
budget_usd = 1.5

[llm.providers.ollama]
base_url = "http://127.0.0.1:11434/v1"
max_concurrency = 2

[llm.providers.claude]
kind = "anthropic"
api_key_env = "MY_CLAUDE_KEY"
requests_per_minute = 50

[[llm.models]]
name = "llama3.1:8b"
provider = "ollama"
tier = "simple"

[[llm.models]]
name = "claude-haiku-4-5"
provider = "claude"
tier = "complex"
fallbacks = ["llama3.1:8b"]
"""


def test_a_toml_file_configures_providers_and_models(tmp_path: Path) -> None:
    path = tmp_path / "baton.toml"
    path.write_text(TOML)
    config = load_config(path, env={"MY_CLAUDE_KEY": "sk-ant-secret-value-123"})
    assert config.budget_usd == 1.5
    assert config.providers["ollama"].is_local and config.providers["ollama"].max_concurrency == 2
    claude = config.providers["claude"]
    assert claude.kind is ProviderKind.ANTHROPIC and not claude.is_local
    assert claude.api_key is not None and claude.api_key.get_secret_value() == "sk-ant-secret-value-123"
    assert "sk-ant-secret-value-123" not in repr(config) + config.model_dump_json()
    assert config.model("claude-haiku-4-5").tier is Complexity.COMPLEX  # type: ignore[union-attr]
    assert redact("the key sk-ant-secret-value-123 leaked") == "the key *** leaked"


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text(TOML)
    config = load_config(
        env={"BATON_CONFIG": str(path), "BATON_LLM_BUDGET_USD": "0.25", "BATON_LLM_DISABLED": "1"}
    )
    assert config.budget_usd == 0.25 and not config.enabled


def test_no_file_means_no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert not config.enabled and config.models == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"providers": {"p": {"api_key": "sk-x"}}}, "keys do not belong in files"),
        ({"providers": {"p": {"kind": "gemini"}}}, "kind must be openai, azure or anthropic"),
        ({"providers": {}, "models": [{"name": "m", "provider": "nowhere"}]}, "names provider 'nowhere'"),
        (
            {"providers": {"p": {}}, "models": [{"name": "m", "provider": "p", "tier": "huge"}]},
            "complexity must be simple, moderate or complex",
        ),
        (
            {"providers": {"p": {}}, "models": [{"name": "m", "provider": "p", "fallbacks": ["x"]}]},
            "falls back to 'x'",
        ),
        ({"budget_usd": -1}, "budget_usd"),
    ],
)
def test_bad_configuration_is_one_clear_error(table: dict[str, object], message: str) -> None:
    with pytest.raises(GatewayConfigError, match=message):
        load_config(data=table, env={})


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml", env={})


def test_invalid_toml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "baton.toml"
    path.write_text("[llm\n")
    with pytest.raises(GatewayConfigError, match="not valid TOML"):
        load_config(path, env={})


def test_a_directory_or_a_binary_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="is a directory"):
        load_config(tmp_path, env={})
    binary = tmp_path / "baton.toml"
    binary.write_bytes(b"\xff\xfe\x00[llm]")
    with pytest.raises(GatewayConfigError, match="not a UTF-8 text file"):
        load_config(binary, env={})


@pytest.mark.parametrize(
    "text",
    [
        '[providers.local]\nbase_url = "http://127.0.0.1:11434/v1"\n',
        '[[models]]\nname = "m"\nprovider = "p"\n',
        "budget_usd = 2.0\n",
    ],
)
def test_gateway_settings_outside_the_llm_table_are_refused_not_ignored(tmp_path: Path, text: str) -> None:
    path = tmp_path / "baton.toml"
    path.write_text(text)
    with pytest.raises(GatewayConfigError, match=r"must be inside the \[llm\] table"):
        load_config(path, env={})


def test_other_top_level_tables_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "baton.toml"
    path.write_text("[tool.other]\nx = 1\n\n[llm]\nbudget_usd = 1.0\n")
    assert load_config(path, env={}).budget_usd == 1.0


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:1234/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://192.168.1.20:11434/v1", True),
        ("https://api.openai.com/v1", False),
        (None, False),
    ],
)
def test_local_endpoints_are_recognised_by_their_host(url: str | None, local: bool) -> None:
    config = load_config(data={"providers": {"p": {"base_url": url}}}, env={})
    assert config.providers["p"].is_local is local
