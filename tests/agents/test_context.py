from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from baton.agents import ContextSpec, assemble_context
from baton.core.errors import MissingContextError


class Inputs(BaseModel):
    idea: str
    region: str = "eu"


class DesignInput(BaseModel):
    idea: str
    plan: list[str]
    sales: Path


def test_the_declared_context_is_assembled_and_validated(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").write_text("week,units\n1,3\n")
    spec = ContextSpec(inputs=("idea",), checkpoints=("plan",), files=("data/sales.csv",))
    context = assemble_context(
        spec,
        step="design",
        inputs=Inputs(idea="a shop"),
        checkpoints={"plan": ["a", "b"], "other": 1},
        data_dir=tmp_path,
        into=DesignInput,
    )
    assert context == DesignInput(idea="a shop", plan=["a", "b"], sales=tmp_path / "data" / "sales.csv")


def test_everything_missing_is_named_at_once(tmp_path: Path) -> None:
    spec = ContextSpec(inputs=("idea", "budget"), checkpoints=("plan",), files=("sales.csv",))
    with pytest.raises(MissingContextError) as caught:
        assemble_context(spec, step="design", inputs={"idea": "x"}, checkpoints={}, data_dir=tmp_path)
    message = caught.value.message
    assert message.startswith(
        "step 'design' cannot start: missing input 'budget', checkpoint of step 'plan', file"
    )
    assert "sales.csv" in message
    assert caught.value.details["missing"][0] == "input 'budget'"
    assert not caught.value.transient


def test_optional_parts_may_be_absent(tmp_path: Path) -> None:
    spec = ContextSpec(
        inputs=("idea", "budget"), files=("extra.csv",), optional=frozenset({"budget", "extra"})
    )
    assert assemble_context(spec, step="s", inputs={"idea": "x"}, data_dir=tmp_path) == {"idea": "x"}


def test_a_context_that_does_not_fit_the_agents_input_names_the_fields() -> None:
    spec = ContextSpec(inputs=("idea",), checkpoints=("plan",))
    with pytest.raises(MissingContextError, match=r"does not fit DesignInput \(sales is missing; plan\.0"):
        assemble_context(
            spec, step="design", inputs={"idea": "x"}, checkpoints={"plan": [{}]}, into=DesignInput
        )
