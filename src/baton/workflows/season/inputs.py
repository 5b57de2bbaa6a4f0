"""A season run's inputs, and their check before a run is stored — one check for every front end.

:func:`check_season_inputs` is the workflow's input check (:meth:`baton.core.workflow.Workflow.check`):
``POST /runs`` calls it before it stores a run, and ``baton season plan`` calls its two halves
(:func:`read_season_request`, then :func:`check_season_files`, printing the readings between them). A
request the rules cannot read is refused with the message the ``parameters`` step would fail with — unless
a model is configured and all that is wrong is something missing, which the model may fill (the run's
``parameters`` step asks it). Missing or broken files and an ``out`` that cannot be written are refused too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from baton.core.errors import InvalidInputError
from baton.workflows.reach import CONTEXT_KEY, WorkspaceFile, WorkspaceFolder, WorkspaceOutput, shown_path
from baton.workflows.season.artifacts import prepare_output_folder
from baton.workflows.season.context import assemble_context
from baton.workflows.season.data import categories_in, load_data, store_groups_in
from baton.workflows.season.parameters import SeasonParameterError, SeasonParameters, extract_parameters
from baton.workflows.season.policy import PlanningPolicy

__all__ = ["SeasonInputs", "check_season_files", "check_season_inputs", "read_season_request"]


class SeasonInputs(BaseModel):
    """A season run's inputs: the request in plain words (or the parameters themselves) and the files."""

    model_config = ConfigDict(extra="forbid")

    request: str = Field("", description="the season described in plain words")
    parameters: SeasonParameters | None = Field(None, description="the parameters, when already known")
    data: WorkspaceFolder = Field(description="folder with historical_sales.csv and stores.csv")
    out: WorkspaceOutput = Field("season-plan", description="folder the plan is written to")
    actuals: WorkspaceFile | None = Field(
        None, description="CSV of actual sales since the season start, to re-plan"
    )
    policy: PlanningPolicy = Field(default_factory=PlanningPolicy)
    today: date | None = Field(None, description="reference date for dates written without a year")

    @model_validator(mode="after")
    def _request_or_parameters(self) -> Self:
        if not self.request.strip() and self.parameters is None:
            raise ValueError("give the season as a request in plain words or as parameters")
        return self


def _model_configured() -> bool:
    """Whether the configured gateway has a model (BATON_CONFIG); a broken configuration is refused."""
    from baton.llm import load_config

    return load_config().enabled


def _over_api(context: dict[str, Any]) -> bool:
    return context.get(CONTEXT_KEY) is not None


def _check_folder(inputs: SeasonInputs, context: dict[str, Any]) -> None:
    data = Path(inputs.data)
    if not data.is_dir():
        shown = shown_path(inputs.data, context)
        raise InvalidInputError(
            f"the data folder {shown} is {'a file' if data.exists() else 'not there'}: give the folder that "
            "holds historical_sales.csv and stores.csv",
            fields={"data": "not a folder"},
            hint=(
                "send historical_sales.csv and stores.csv as the files of `data`, or name a folder of the "
                "workspace that holds them"
                if _over_api(context)
                else "`baton season sample-data DIR` writes an example of each"
            ),
        )
    if inputs.actuals is not None and not Path(inputs.actuals).is_file():
        raise InvalidInputError(
            f"the actuals file {shown_path(inputs.actuals, context)} is not a file",
            fields={"actuals": "not a file"},
            hint="give a CSV of the sales since the season start",
        )


def read_season_request(
    inputs: SeasonInputs, *, model: bool | None = None, context: dict[str, Any] | None = None
) -> SeasonParameters | None:
    """The parameters as the run's ``parameters`` step reads them without a model; None when a model is
    configured (``model``, else BATON_CONFIG) and what the rules could not read is only missing — the run
    asks the model. Refuses a data folder that is not there, and a request that cannot be planned."""
    _check_folder(inputs, context or {})
    if inputs.parameters is not None:
        return inputs.parameters
    try:
        return extract_parameters(
            inputs.request,
            today=inputs.today,
            categories=categories_in(inputs.data),
            store_groups=store_groups_in(inputs.data),
        )
    except SeasonParameterError as error:
        if error.invalid or not (_model_configured() if model is None else model):
            raise
        return None


def check_season_files(
    inputs: SeasonInputs, parameters: SeasonParameters | None, *, context: dict[str, Any] | None = None
) -> None:
    """The files can be planned from (the season from the history too, when its parameters are known)
    and ``out`` can be written."""
    _check_folder(inputs, context or {})
    if parameters is not None:
        assemble_context(inputs.data, parameters, inputs.actuals)
    else:
        load_data(Path(inputs.data))
    context = context or {}
    label = "out" if _over_api(context) else "--out"
    prepare_output_folder(inputs.out, label=label, shown=shown_path(inputs.out, context))


def check_season_inputs(inputs: SeasonInputs, context: dict[str, Any]) -> SeasonParameters | None:
    """The season workflow's input check: the request, then the files (see the module docstring)."""
    parameters = read_season_request(inputs, context=context)
    check_season_files(inputs, parameters, context=context)
    return parameters
