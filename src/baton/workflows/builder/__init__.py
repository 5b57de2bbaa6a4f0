"""The ``build`` workflow: an idea in plain words → a generated, tested, deployed service.

Stages (tasks): architecture → repository → code → gate ∥ infrastructure → deploy → docs → notify.
Without a model, every stage uses deterministic skills (templates and rules) and each artifact says
what produced it. The CLI starts :data:`workflow` through
the engine; :func:`run_stages_locally` runs the same steps in-process, without the engine.
The run's report (:mod:`.summary`, shown by `GET /runs/{id}`, `baton status` and the dashboard) is the
requirements table.
"""

from baton.workflows.builder.architecture import BuildInputs, check_output_dir
from baton.workflows.builder.deploy import stop_service
from baton.workflows.builder.extractor import extract_spec
from baton.workflows.builder.gate import GateFailedError
from baton.workflows.builder.local import LocalBuild, run_stages_locally
from baton.workflows.builder.pipeline import build_workflow, needs_approval, workflow
from baton.workflows.builder.results import (
    ArchitectureResult,
    Artifact,
    CodeResult,
    DeployResult,
    DeployTarget,
    DocsResult,
    GateReport,
    InfrastructureReport,
    NotifyResult,
    RepositoryResult,
    Stage,
)
from baton.workflows.builder.spec import (
    AuthScheme,
    BuildSpec,
    Environment,
    Stack,
    dump_spec,
    load_spec,
    validate_spec,
)

__all__ = [
    "ArchitectureResult",
    "Artifact",
    "AuthScheme",
    "BuildInputs",
    "BuildSpec",
    "CodeResult",
    "DeployResult",
    "DeployTarget",
    "DocsResult",
    "Environment",
    "GateFailedError",
    "GateReport",
    "InfrastructureReport",
    "LocalBuild",
    "NotifyResult",
    "RepositoryResult",
    "Stack",
    "Stage",
    "build_workflow",
    "check_output_dir",
    "dump_spec",
    "extract_spec",
    "load_spec",
    "needs_approval",
    "run_stages_locally",
    "stop_service",
    "validate_spec",
    "workflow",
]
