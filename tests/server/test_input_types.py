"""Every path and URL input of every workflow a server offers uses the confined types, never a plain str."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from baton.engine import load_workflow
from baton.server import SHIPPED_WORKFLOWS
from baton.workflows.reach import PATH_EXTENSION, URL_EXTENSION

from .conftest import TEST_WORKFLOWS

OFFERED = {**TEST_WORKFLOWS, **SHIPPED_WORKFLOWS}
# what a path or URL input looks like by its name or description
_NAME = re.compile(
    r"(^|_)(path|paths|dir|dirs|directory|folder|file|files|out|output|data|actuals|spec|url|"
    r"uri|urls|webhook|notify|endpoint|href|link|source|sources|location)($|_)"
)
_WORDS = re.compile(r"\b(folder|file|files|directory|path|url|webhook|written to|read from)\b", re.I)


def _strings(
    schema: dict[str, Any], defs: dict[str, Any], where: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string-typed property of a schema, nested models, lists and dicts included."""
    if "$ref" in schema:
        yield from _strings(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, where)
        return
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _strings({**option, "description": schema.get("description", "")}, defs, where)
    if schema.get("type") == "string":
        yield where, schema
    for name, prop in schema.get("properties", {}).items():
        yield from _strings(prop, defs, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _strings(schema[key], defs, f"{where}[]")


@pytest.mark.parametrize("name", sorted(OFFERED))
def test_no_path_or_url_input_is_a_plain_string(name: str) -> None:
    model = load_workflow(OFFERED[name]).inputs_model
    if model is None:
        return
    schema = model.model_json_schema()
    plain = []
    for where, prop in _strings(schema, schema.get("$defs", {}), name):
        field = where.rsplit(".", 1)[-1].rstrip("[]").lower()
        if PATH_EXTENSION in prop or URL_EXTENSION in prop or "enum" in prop or "const" in prop:
            continue
        if _NAME.search(field) or _WORDS.search(prop.get("description", "")) or prop.get("format") == "uri":
            plain.append(where)
    assert plain == [], f"path or URL inputs typed as a plain str: {plain}"


def test_the_walk_sees_the_typed_inputs() -> None:
    """The test above would pass on a schema it cannot read: prove it finds the typed fields."""
    schema = load_workflow(SHIPPED_WORKFLOWS["build"]).inputs_model.model_json_schema()  # type: ignore[union-attr]
    typed = {
        w
        for w, p in _strings(schema, schema.get("$defs", {}), "build")
        if PATH_EXTENSION in p or URL_EXTENSION in p
    }
    assert typed == {"build.spec_path", "build.out", "build.notify"}
