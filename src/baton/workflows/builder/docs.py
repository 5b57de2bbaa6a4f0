"""The docs stage: README (run instructions, architecture), API.md from OpenAPI, COSTS.md, BUILD.md."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from baton.workflows.builder import costs
from baton.workflows.builder._render import render
from baton.workflows.builder._views import template_context
from baton.workflows.builder.acceptance import sample_body
from baton.workflows.builder.infrastructure import bicep_file
from baton.workflows.builder.spec import BuildSpec, Environment, Requirement, RequirementStatus, Stack

RUN_COMMANDS = {
    Stack.FASTAPI: "uvicorn --factory app.main:create_app --port 8000",
    Stack.FLASK: "flask --app app.main:create_app run --port 8000",
    Stack.FUNCTIONS: "python devserver.py --port 8000   # or `func start` with Azure Functions Core Tools",
}
_DOWN = "\n  → services → repositories → models → database"
LAYERS = {
    Stack.FASTAPI: "HTTP → middleware (request id, timing) → auth (X-API-Key) → routes" + _DOWN,
    Stack.FLASK: "HTTP → hooks (request id, X-API-Key) → blueprints" + _DOWN,
    Stack.FUNCTIONS: "HTTP / timer triggers (function_app.py) → handlers (X-API-Key)" + _DOWN,
}
_EDGE = {
    Stack.FASTAPI: [
        ("entry", "app/main.py", "application factory, error handlers"),
        ("middleware", "app/middleware.py", "request id and timing on every response"),
        ("auth", "app/auth.py", "API-key check, caller name for the audit columns"),
        ("routes", "app/routes/", "CRUD endpoints with validation and pagination"),
    ],
    Stack.FLASK: [
        ("entry", "app/main.py", "application factory, hooks, error handlers"),
        ("views", "app/views/", "blueprints: CRUD endpoints and the HTML index"),
    ],
    Stack.FUNCTIONS: [
        ("entry", "function_app.py", "HTTP and timer triggers (Python v2 model)"),
        ("handlers", "app/handlers/", "CRUD over HTTP requests, API-key check"),
        ("jobs", "app/jobs.py", "what the timer triggers do"),
        ("local host", "devserver.py", "serves the HTTP triggers locally"),
    ],
}
_CORE = [
    ("services", "app/services.py", "business rules; commit or raise"),
    ("repositories", "app/repositories.py", "data access"),
    ("models", "app/models.py", "SQLAlchemy tables with audit columns"),
    ("schemas", "app/schemas.py", "pydantic bodies: create, update, read, page"),
    ("settings", "app/settings.py", "configuration from APP_* variables"),
]


EXAMPLE_TOKEN = "a1b2c3d4"  # in the README's example body, where a check puts a fresh token


def example_body(spec: BuildSpec) -> str:
    """A valid create body of the first entity, for the README: the same on every build of the spec (the
    smoke test and the checks send fresh unique values instead); empty for a spec without entities."""
    if not spec.entities:
        return ""
    body = json.dumps(sample_body(spec, spec.ordered_entities()[0]))
    return body.replace("{uniq}", EXAMPLE_TOKEN)


def example_request(requirements: list[Requirement]) -> str:
    """curl's URL for the first GET acceptance check, without a placeholder, of a requirement the service
    honours (the README's example of a service that keeps no resources); empty when there is none."""
    for requirement in requirements:
        if requirement.status is not RequirementStatus.HONOURED:
            continue
        for check in requirement.checks:
            query = urlencode(check.params)
            target = check.path + (("&" if "?" in check.path else "?") + query if query else "")
            if check.method.upper() == "GET" and "{" not in target:
                return shlex.quote(f"http://127.0.0.1:8000{target}")
    return ""


def readme(
    spec: BuildSpec,
    deploy_url: str | None,
    release: str | None,
    requirements: list[Requirement] | None = None,
) -> str:
    """The repository's README. It says that a local release was started, not where: the address is a
    fact of one execution (it lives in the run's outputs and `.deploy/`), not of the repository."""
    table = requirements if requirements is not None else spec.requirements
    context = {
        "does": [r for r in table if r.status is RequirementStatus.HONOURED],
        "unchecked": [r for r in table if r.status is RequirementStatus.PENDING],
        "does_not": [
            r for r in table if r.status in (RequirementStatus.NOT_IMPLEMENTED, RequirementStatus.FAILED)
        ],
        **template_context(spec),
        "stack_label": {Stack.FASTAPI: "FastAPI", Stack.FLASK: "Flask", Stack.FUNCTIONS: "Azure Functions"}[
            spec.stack
        ],
        "run_command": RUN_COMMANDS[spec.stack],
        "layers": LAYERS[spec.stack],
        "layer_rows": _EDGE[spec.stack] + _CORE,
        "sample_body": example_body(spec),
        "example_request": example_request(table),
        "deployed_locally": deploy_url is not None,
        "release": release,
        "bicep_file": bicep_file(spec),
    }
    return render("docs/README.md.jinja", context)


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_of(s) for s in schema["anyOf"])
    kind = str(schema.get("type", "object"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def api_reference(spec: BuildSpec, document: dict[str, Any], produced_by: str) -> str:
    operations = []
    for path, methods in sorted(document.get("paths", {}).items()):
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _type_of(p.get("schema", {})),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _type_of(body) if body else None,
                    "responses": sorted(op.get("responses", {})),
                }
            )
    schemas = []
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        fields = [
            {"name": k, "type": _type_of(v), "required": k in required}
            for k, v in schema.get("properties", {}).items()
        ]
        schemas.append({"name": name, "fields": fields})
    source = "the FastAPI application" if produced_by == "template" else "baton's rules, from the spec"
    return render(
        "docs/API.md.jinja",
        {
            "title": spec.title,
            "operations": operations,
            "schemas": schemas,
            "openapi_source": source,
            "api_key_auth": spec.auth.value == "api_key",
        },
    )


def costs_md(spec: BuildSpec) -> str:
    details = {e.value: costs.estimate(spec, e) for e in Environment}
    return render(
        "docs/COSTS.md.jinja",
        {
            "title": spec.title,
            "price_date": costs.PRICE_TABLE_DATE,
            "price_source": costs.PRICE_SOURCE,
            "totals": costs.monthly_totals(spec),
            "details": details,
            "unknown": costs.unknown_skus(spec),
        },
    )


def write_text(repo: Path, relative: str, text: str) -> None:
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
