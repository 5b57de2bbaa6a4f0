"""The code stage's skill: render the service, its tests and its requirements from templates.

``template`` produced every file. After rendering, the project's own ruff (from the cached venv of
its requirements) sorts imports, drops the unused ones and formats the code — as a developer would
run the formatter after scaffolding — so the templates stay readable rather than formatter-exact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path

from baton.core.errors import PermanentError
from baton.workflows.builder._render import TEMPLATES, render_tree
from baton.workflows.builder._views import template_context
from baton.workflows.builder.results import Artifact
from baton.workflows.builder.spec import BuildSpec, Stack
from baton.workflows.builder.venvs import Venv, clean_env

# Pinned so that every project of a stack shares one cached venv (its hash is over these lines).
COMMON_RUNTIME = ["sqlalchemy==2.1.9", "pydantic==2.14.3", "pydantic-settings==2.16.3"]
STACK_RUNTIME: dict[Stack, list[str]] = {
    Stack.FASTAPI: ["fastapi==0.165.0", "uvicorn==0.54.0"],
    Stack.FLASK: ["flask==3.1.3", "gunicorn==27.0.1"],
    Stack.FUNCTIONS: ["azure-functions==1.26.0"],
}
DEV_REQUIREMENTS = ["pytest==9.2.0", "pytest-cov==7.1.0", "ruff==0.17.6", "mypy==2.4.1", "httpx2==2.16.2"]
# The data layer of the entities: a service that keeps nothing (a calculator, a converter) has none; its
# skeleton is the app, its health endpoint (database included, for what the crew may keep), tests, infra.
ENTITY_ONLY = frozenset(
    {
        "app/repositories.py",
        "app/schemas.py",
        "app/services.py",
        "tests/factories.py",
        "tests/test_services.py",
    }
)
REQUIREMENTS_JSON = "tests/requirements.json"
STACK_FOLDERS: dict[Stack, str] = {
    Stack.FASTAPI: "fastapi",
    Stack.FLASK: "flask",
    Stack.FUNCTIONS: "functions",
}


def runtime_requirements(spec: BuildSpec) -> list[str]:
    return [*STACK_RUNTIME[spec.stack], *COMMON_RUNTIME]


def requirement_files(spec: BuildSpec) -> dict[str, str]:
    runtime = "\n".join(runtime_requirements(spec)) + "\n"
    dev = "-r requirements.txt\n" + "\n".join(DEV_REQUIREMENTS) + "\n"
    return {"requirements.txt": runtime, "requirements-dev.txt": dev}


def render_project_files(spec: BuildSpec, spec_yaml: str, date: int | None = None) -> dict[str, str]:
    """The skeleton of the repository stage: README, .gitignore, LICENSE, pyproject, spec.yaml.

    The LICENSE's year is that of ``date`` (the build's clock, seconds since the epoch), else today's."""
    day = dt.datetime.fromtimestamp(date, dt.UTC).date() if date is not None else dt.date.today()
    context = {
        **template_context(spec),
        "year": day.year,
        "runtime_requirements": runtime_requirements(spec),
        "dev_requirements": DEV_REQUIREMENTS,
    }
    files = render_tree("project", context)
    files["spec.yaml"] = spec_yaml
    return files


def render_code_files(spec: BuildSpec) -> dict[str, str]:
    """The service and its tests for the spec's stack, plus the pinned requirements."""
    context = template_context(spec)
    entities = context["entities"]
    files = render_tree("core", context, entities=entities)
    if not entities:
        files = {path: text for path, text in files.items() if path not in ENTITY_ONLY}
    files.update(render_tree(STACK_FOLDERS[spec.stack], context, entities=entities))
    if not entities and (TEMPLATES / "service" / STACK_FOLDERS[spec.stack]).is_dir():
        # Tests of the request plumbing the CRUD routes would otherwise exercise (and the crew's code uses).
        files.update(render_tree(f"service/{STACK_FOLDERS[spec.stack]}", context))
    if context["fetch_jobs"]:
        files.update(render_tree("fastapi_fetch", context))
    files.update(requirement_files(spec))
    files["tests/acceptance.py"] = (Path(__file__).parent / "_checks.py").read_text(encoding="utf-8")
    files[REQUIREMENTS_JSON] = requirements_json(spec)
    return files


def requirements_json(spec: BuildSpec) -> str:
    """``tests/requirements.json``: the requirements and their checks, which the project's own
    ``tests/test_requirements.py`` runs (all but those not implemented or failed)."""
    requirements = [r.model_dump(mode="json", exclude_none=True) for r in spec.requirements]
    for requirement in requirements:
        requirement.setdefault("reason", None)
    return json.dumps(requirements, indent=2) + "\n"


def write_files(root: Path, files: dict[str, str], produced_by: str) -> list[Artifact]:
    """Write every file whose content changed; return them all as artifacts."""
    artifacts: list[Artifact] = []
    for relative, text in sorted(files.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()
        artifacts.append(Artifact(path=relative, produced_by=produced_by, sha256=digest))
    return artifacts


def tidy(root: Path, venv: Venv) -> None:
    """Sort imports, drop unused ones and format, with the project's own pinned ruff."""
    for args in (["check", "--fix-only", "--quiet", "."], ["format", "--quiet", "."]):
        done = subprocess.run(
            [str(venv.python), "-m", "ruff", *args, "--no-cache"],
            cwd=root,
            capture_output=True,
            text=True,
            env=clean_env(),
            check=False,
            timeout=120,
        )
        if done.returncode not in (0, 1):
            raise PermanentError(
                f"ruff {args[0]} could not process the generated code: {done.stderr.strip()}"
            )
