"""What the crew's tests share: the scripted model server, a gateway on it, and `baton build` as a user
runs it (a subprocess, the real engine) with BATON_CONFIG pointing at the scripted models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[2]))  # tests/: the gateway tests' fake server

from baton.llm import Gateway, load_config
from baton.store.store import Store
from llm.fakeserver import FakeModelServer, Reply

__all__ = ["FakeModelServer", "Reply", "baton", "config_text", "gateway_on"]

KEY = "sk-crew-test-key"
# The architect and the reviewer answer at the moderate tier, the coder at the complex one: each has
# its own queue of scripted turns on the fake server.
ARCHITECT_MODEL = "gpt-4o-mini"
CODER_MODEL = "gpt-4o"


def config_text(server: FakeModelServer, *, fallback: bool = False) -> str:
    text = f"""
[llm]
cache = false

[llm.providers.cloud]
kind = "openai"
base_url = "{server.openai_url}"
api_key_env = "CREW_TEST_KEY"
local = false
backoff = 0.01

[llm.providers.cloud.breaker]
failure_threshold = 50

[[llm.models]]
name = "{ARCHITECT_MODEL}"
provider = "cloud"
tier = "moderate"

[[llm.models]]
name = "{CODER_MODEL}"
provider = "cloud"
tier = "complex"
"""
    if fallback:
        text += """
[llm.providers.other]
kind = "anthropic"
base_url = "ANTHROPIC_URL"
api_key_env = "CREW_TEST_KEY"
local = false

[[llm.models]]
name = "claude-sonnet-4-5"
provider = "other"
tier = "complex"
""".replace("ANTHROPIC_URL", server.anthropic_url)
    return text


def gateway_on(server: FakeModelServer, store: Store) -> Gateway:
    import tomllib

    table = tomllib.loads(config_text(server))["llm"]
    return Gateway(load_config(data=table, env={"CREW_TEST_KEY": KEY}), store)


def baton(
    tmp_path: Path, *args: str, config: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    env: dict[str, Any] = {
        **os.environ,
        "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
        "COLUMNS": "200",
        "CREW_TEST_KEY": KEY,
    }
    env.pop("BATON_CONFIG", None)
    if config is not None:
        path = tmp_path / "baton.toml"
        path.write_text(config, encoding="utf-8")
        env["BATON_CONFIG"] = str(path)
    else:
        env["BATON_CONFIG"] = str(tmp_path / "offline.toml")
        (tmp_path / "offline.toml").write_text("[llm]\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
