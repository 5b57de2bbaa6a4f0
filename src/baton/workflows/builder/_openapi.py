"""The OpenAPI document of a generated service.

FastAPI services describe themselves: their schema is asked from the app, in the project's venv.
For Flask and Functions services, the same paths and schemas are derived from the spec by rules.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from baton.core.errors import PermanentError
from baton.workflows.builder.spec import BuildSpec, FieldSpec, FieldType, Stack
from baton.workflows.builder.venvs import Venv, clean_env

_DUMP = (
    "import json\nfrom pydantic import SecretStr\nfrom app.main import create_app\nfrom app.settings import Settings\n"
    "app = create_app(Settings(database_url='sqlite://', api_key=SecretStr('x' * 32)))\n"
    "print(json.dumps(app.openapi()))\n"
)
_JSON_TYPES: dict[FieldType, dict[str, Any]] = {
    FieldType.STRING: {"type": "string"},
    FieldType.TEXT: {"type": "string"},
    FieldType.EMAIL: {"type": "string", "format": "email"},
    FieldType.INTEGER: {"type": "integer"},
    FieldType.FLOAT: {"type": "number"},
    FieldType.BOOLEAN: {"type": "boolean"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.DATETIME: {"type": "string", "format": "date-time"},
    FieldType.DECIMAL: {"type": "number"},
    FieldType.URL: {"type": "string", "format": "uri"},
    FieldType.ENUM: {"type": "string"},
}


def _field_schema(f: FieldSpec) -> dict[str, Any]:
    schema = dict(_JSON_TYPES[f.type])
    if f.choices:
        schema["enum"] = list(f.choices)
    for key, value in (("minimum", f.min), ("maximum", f.max), ("minLength", f.min_length)):
        if value is not None:
            schema[key] = value
    if f.max_length is not None:
        schema["maxLength"] = f.max_length
    if f.default is not None:
        schema["default"] = f.default
    return schema


def openapi_document(spec: BuildSpec, repo: Path, venv: Venv) -> tuple[dict[str, Any], str]:
    """``(document, produced_by)``."""
    if spec.stack is Stack.FASTAPI:
        done = subprocess.run(
            [str(venv.python), "-c", _DUMP],
            cwd=repo,
            capture_output=True,
            text=True,
            env=clean_env(),
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise PermanentError(f"the generated app could not describe its API: {done.stderr[-600:]}")
        document: dict[str, Any] = json.loads(done.stdout)
        return document, "template"
    return openapi_from_spec(spec), "rules"


def _schemas(spec: BuildSpec) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    audit = {
        "id": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": "string"},
        "updated_by": {"type": "string"},
    }
    for entity in spec.entities:
        props = {f.name: _field_schema(f) for f in entity.fields}
        required = [f.name for f in entity.fields if f.required and f.default is None]
        for relation in spec.parents_of(entity.name):
            props[relation.foreign_key] = {"type": "integer"}
            if relation.required:
                required.append(relation.foreign_key)
        name = entity.class_name
        schemas[f"{name}Create"] = {"type": "object", "properties": props, "required": required}
        schemas[f"{name}Update"] = {"type": "object", "properties": props}
        schemas[f"{name}Read"] = {
            "type": "object",
            "properties": {**audit, **props},
            "required": [*audit, *required],
        }
    return schemas


def _operations(entity_name: str, plural: str, name: str) -> dict[str, Any]:
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Create"}}},
    }
    patch = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Update"}}},
    }
    read = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Read"}}}}
    item_id = [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    paging = [
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "default": 20}},
        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "default": 0}},
    ]
    label = entity_name.replace("_", " ")
    return {
        f"/{plural}": {
            "get": {
                "summary": f"A page of {plural.replace('_', ' ')}",
                "parameters": paging,
                "responses": {"200": {"description": "a page"}},
            },
            "post": {
                "summary": f"Create a {label}",
                "requestBody": body,
                "responses": {"201": {"description": "created", **read}, "422": {"description": "invalid"}},
            },
        },
        f"/{plural}/{{item_id}}": {
            "get": {
                "summary": f"One {label}",
                "parameters": item_id,
                "responses": {"200": {"description": "found", **read}, "404": {"description": "not found"}},
            },
            "patch": {
                "summary": f"Change a {label}",
                "parameters": item_id,
                "requestBody": patch,
                "responses": {"200": {"description": "changed", **read}, "404": {"description": "not found"}},
            },
            "delete": {
                "summary": f"Delete a {label}",
                "parameters": item_id,
                "responses": {
                    "204": {"description": "deleted"},
                    "404": {"description": "not found"},
                    "409": {"description": "still has children"},
                },
            },
        },
    }


def openapi_from_spec(spec: BuildSpec) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": {"summary": "Health", "responses": {"200": {"description": "ok"}}}}
    }
    for entity in spec.entities:
        paths.update(_operations(entity.name, entity.plural_name, entity.class_name))
    return {
        "openapi": "3.1.0",
        "info": {"title": spec.title, "version": "0.1.0", "description": spec.description},
        "paths": paths,
        "components": {"schemas": _schemas(spec)},
    }
