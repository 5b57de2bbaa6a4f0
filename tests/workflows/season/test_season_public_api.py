"""The season package's public face: what the CLI and the server call must not change by accident."""

from __future__ import annotations

import inspect

import baton.agents.rules as rules
import baton.workflows.season as season


def test_exported_names() -> None:
    assert sorted(season.__all__) == [
        "DataProblem",
        "LocalRun",
        "PlanningPolicy",
        "ReplenishmentStrategy",
        "SeasonDataError",
        "SeasonInputs",
        "SeasonParameterError",
        "SeasonParameters",
        "extract_parameters",
        "run_locally",
        "workflow",
        "write_sample_data",
    ]
    assert sorted(rules.__all__) == [
        "FieldRule",
        "Kind",
        "Mention",
        "RulesResult",
        "extract_with_rules",
        "find_mentions",
    ]


def test_signatures_the_cli_calls() -> None:
    assert str(inspect.signature(season.write_sample_data)) == (
        "(directory: 'str | Path', stores: 'int' = 50, weeks: 'int' = 104, seed: 'int' = 7, "
        "last_week: 'date' = datetime.date(2026, 2, 23)) -> 'tuple[Path, Path]'"
    )
    assert str(inspect.signature(season.extract_parameters)) == (
        "(text: 'str', *, today: 'date | None' = None, categories: 'list[str] | None' = None, "
        "store_groups: 'Mapping[str, Sequence[str]] | None' = None) -> 'SeasonParameters'"
    )
    assert str(inspect.signature(rules.extract_with_rules)) == (
        "(text: 'str', model: 'type[BaseModel]', *, hints: 'Mapping[str, FieldRule | Mapping[str, Any]] | None' "
        "= None, today: 'date | None' = None) -> 'RulesResult'"
    )
    assert season.workflow.name == "season"
    assert set(season.SeasonInputs.model_fields) == {
        "request",
        "parameters",
        "data",
        "out",
        "actuals",
        "policy",
        "today",
    }
