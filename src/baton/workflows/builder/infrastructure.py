"""The infrastructure stage: Bicep, parameter files and GitHub Actions, validated by checkov.

The templates are rendered (``template``), the parameter files are computed from the spec's SKUs
per environment (``rules``), and the result is scanned by the real checkov, offline, with its Bicep
and GitHub Actions frameworks. Failed checks are findings in the report; a file checkov cannot parse
makes the stage fail, since a template that does not parse cannot be deployed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from baton.core.errors import PermanentError
from baton.workflows.builder._render import render
from baton.workflows.builder._views import template_context
from baton.workflows.builder.codegen import write_files
from baton.workflows.builder.results import Artifact, FileScan, Finding, InfrastructureReport
from baton.workflows.builder.spec import BuildSpec, Environment, Stack

CHECKOV_TIMEOUT_S = 300
SCANNED_FRAMEWORKS = ("bicep", "github_actions")
DEPLOYS = [
    # environment, trigger, GitHub environment, deploy through the staging slot and swap
    (Environment.DEV, "develop", "dev", False),
    (Environment.STAGING, "main", "staging", False),
    (Environment.PROD, "manual", "production", True),
]


def uses_database(spec: BuildSpec) -> bool:
    """Whether the service keeps data, so its Azure deployment has an Azure SQL database: a spec without
    entities (a converter, a relay) gets none, and its cost estimate counts none."""
    return bool(spec.entities)


def bicep_file(spec: BuildSpec) -> str:
    if spec.stack is Stack.FUNCTIONS:
        return "function-app-storage.bicep"
    return "web-app-sql.bicep" if uses_database(spec) else "web-app.bicep"


def _template_of(bicep: str) -> str:
    return "infra/web-app-sql.bicep.jinja" if bicep == "web-app.bicep" else f"infra/{bicep}.jinja"


def startup_command(spec: BuildSpec) -> str:
    """The App Service start command (the Bicep template escapes its quotes)."""
    if spec.stack is Stack.FLASK:
        return "python -m gunicorn --bind 0.0.0.0:8000 'app.main:create_app()'"
    return "python -m uvicorn --factory app.main:create_app --host 0.0.0.0 --port 8000"


def _sql_tier(sku: str) -> str:
    if sku == "Basic":
        return "Basic"
    if sku.startswith("S"):
        return "Standard"
    if sku.startswith("P"):
        return "Premium"
    return "GeneralPurpose"


def parameter_file(spec: BuildSpec, environment: Environment) -> str:
    plan = spec.azure.environments[environment]
    values: dict[str, Any] = {
        "environment": environment.value,
        "appServiceSku": plan.app_service_sku,
        "instanceCount": plan.instances,
    }
    if uses_database(spec):
        values |= {
            "sqlSku": plan.sql_sku,
            "sqlTier": _sql_tier(plan.sql_sku),
            "sqlGeoRedundant": plan.sql_geo_redundant,
        }
    if spec.stack is Stack.FUNCTIONS:
        values["storageSku"] = plan.storage_sku
    document = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": value} for name, value in values.items()},
    }
    return json.dumps(document, indent=2) + "\n"


def render_infrastructure(spec: BuildSpec) -> tuple[dict[str, str], dict[str, str]]:
    """``(templated files, rule-made files)``, each as ``{path: text}``."""
    short_name = spec.name[:20].rstrip("-")
    package_paths = "app function_app.py host.json" if spec.stack is Stack.FUNCTIONS else "app"
    context = {
        **template_context(spec),
        "short_name": short_name,
        "region": spec.azure.region,
        "bicep_file": bicep_file(spec),
        "startup_command": startup_command(spec),
        "compute_sku_help": "Y1, EP1, EP2" if spec.stack is Stack.FUNCTIONS else "B1, S1, P1v2",
        "package_paths": package_paths,
        "sql": uses_database(spec),
    }
    templated = {f"infra/{bicep_file(spec)}": render(_template_of(bicep_file(spec)), context)}
    for name in ("quality", "test", "build"):
        templated[f".github/workflows/{name}.yml"] = render(f"github/{name}.yml.jinja", context)
    for environment, trigger, github_environment, slot in DEPLOYS:
        templated[f".github/workflows/deploy-{environment.value}.yml"] = render(
            "github/_deploy.yml.jinja",
            {
                **context,
                "env_name": environment.value,
                "trigger": trigger,
                "github_environment": github_environment,
                "slot": slot,
            },
        )
    made = {f"infra/parameters/{e.value}.json": parameter_file(spec, e) for e in Environment}
    return templated, made


def _checkov_command() -> list[str]:
    beside = Path(sys.executable).parent / "checkov"
    found = str(beside) if beside.exists() else shutil.which("checkov")
    if found is None:
        raise PermanentError(
            "checkov is not installed, so the infrastructure cannot be validated",
            hint="install it with `pip install 'baton[iac]'` (or `pip install checkov`)",
        )
    return [found]


def _reports(output: str) -> list[dict[str, Any]]:
    """checkov prints one JSON document per scanned directory: a report, or a list of them."""
    decoder = json.JSONDecoder()
    reports: list[dict[str, Any]] = []
    position, text = 0, output.strip()
    while position < len(text):
        try:
            data, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise PermanentError(f"checkov printed no JSON report: {output[-500:]}") from error
        reports += data if isinstance(data, list) else [data]
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return reports


def _relative(path: str, root: Path) -> str:
    return (
        os.path.relpath(path, root)
        if os.path.isabs(path) and path.startswith(str(root))
        else path.lstrip("/")
    )


def _parse(reports: list[dict[str, Any]], root: Path) -> InfrastructureReport:
    report = InfrastructureReport(commit="")
    files: dict[tuple[str, str], FileScan] = {}
    seen: dict[tuple[str, str], set[str]] = {}
    for item in reports:
        framework = str(item.get("check_type", ""))
        summary = item.get("summary", {})
        report.passed_checks += int(summary.get("passed", 0))
        report.failed_checks += int(summary.get("failed", 0))
        report.skipped_checks += int(summary.get("skipped", 0))
        report.parse_error_count += int(summary.get("parsing_errors", 0))
        report.resources[framework] = report.resources.get(framework, 0) + int(
            summary.get("resource_count", 0)
        )
        report.validator_version = str(summary.get("checkov_version", report.validator_version))
        results = item.get("results", {})
        report.parsing_errors += [_relative(str(path), root) for path in results.get("parsing_errors") or []]
        for outcome in ("passed_checks", "failed_checks"):
            for check in results.get(outcome, []):
                path = _relative(str(check.get("file_path", "")), root)
                key = (path, framework)
                scan = files.setdefault(key, FileScan(path=path, framework=framework))
                seen.setdefault(key, set()).add(str(check.get("resource", "")))
                scan.resources = len(seen[key])
                if outcome == "passed_checks":
                    scan.passed_checks += 1
                else:
                    scan.failed_checks += 1
                    report.findings.append(
                        Finding(
                            check_id=str(check.get("check_id")),
                            check_name=str(check.get("check_name")),
                            file=path,
                            resource=str(check.get("resource", "")),
                            framework=framework,
                            guideline=check.get("guideline"),
                        )
                    )
    report.files = sorted(files.values(), key=lambda f: (f.framework, f.path))
    # checkov reports in an order of its own that varies from run to run; BUILD.md lists them in one.
    report.findings.sort(key=lambda f: (f.framework, f.file, f.check_id, f.resource))
    report.parsing_errors.sort()
    for framework in report.resources:
        # checkov's resource_count stays 0 for GitHub Actions even when it checks every job.
        counted = sum(f.resources for f in report.files if f.framework == framework)
        report.resources[framework] = max(report.resources[framework], counted)
    return report


def validate_with_checkov(root: Path) -> InfrastructureReport:
    """Scan ``root/infra`` and ``root/.github`` with checkov, offline; the report has no commit yet."""
    command = [
        *_checkov_command(),
        "--directory",
        str(root),
        "--skip-path",
        r"\.deploy",
        "--skip-path",
        r"\.baton-build",
        "--framework",
        *SCANNED_FRAMEWORKS,
        "--output",
        "json",
        "--skip-download",
        "--compact",  # not --quiet: it drops the passed checks, and with them which files were scanned
    ]
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "LOG_LEVEL": "ERROR"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, check=False, timeout=CHECKOV_TIMEOUT_S, cwd=root
        )
    except subprocess.TimeoutExpired:
        raise PermanentError(f"checkov did not finish within {CHECKOV_TIMEOUT_S} s") from None
    if done.returncode not in (0, 1):
        raise PermanentError(f"checkov failed with exit code {done.returncode}: {done.stderr[-800:]}")
    return _parse(_reports(done.stdout), root)


def _judge(report: InfrastructureReport, scanned: list[str]) -> InfrastructureReport:
    """Valid only when nothing failed to parse, each framework scanned something, and each file was seen."""
    looked_at = {f.path for f in report.files}
    report.not_scanned = [path for path in scanned if path not in looked_at]
    empty = [name for name in SCANNED_FRAMEWORKS if not report.resources.get(name)]
    report.valid = not (report.parse_error_count or report.parsing_errors or report.not_scanned or empty)
    return report


def write_infrastructure(spec: BuildSpec, root: Path) -> tuple[list[Artifact], InfrastructureReport]:
    """Write the files, validate them; raise if checkov cannot parse one of them."""
    templated, made = render_infrastructure(spec)
    artifacts = write_files(root, templated, "template") + write_files(root, made, "rules")
    scanned = sorted(path for path in templated if path.endswith((".bicep", ".yml")))
    report = _judge(validate_with_checkov(root), scanned)
    if not report.valid:
        problems = []
        if report.parse_error_count or report.parsing_errors:
            named = ", ".join(report.parsing_errors) or "files it did not name"
            problems.append(f"checkov could not parse {max(report.parse_error_count, 1)} file(s) ({named})")
        if report.not_scanned:
            problems.append(f"no check looked at {', '.join(report.not_scanned)}")
        empty = [name for name in SCANNED_FRAMEWORKS if not report.resources.get(name)]
        if empty:
            problems.append(f"the {', '.join(empty)} scan found no resources")
        raise PermanentError(
            "the infrastructure is not valid: " + "; ".join(problems),
            hint="the generated infrastructure cannot be deployed as written: this is a bug in baton's templates",
            details={"report": report.model_dump(mode="json")},
        )
    return artifacts, report
