"""The workspace of runs started over the API: their path inputs, their folders and their uploaded files.

Every run started here gets the folder ``runs/<run id>/`` under the workspace root. Its path inputs are
relative to the root and confined to it (:mod:`baton.workflows.reach`); an output folder the caller leaves
out goes to ``runs/<run id>/<input name>``; files uploaded for an input land in ``runs/<run id>/<input name>/``
and the input is set to them (a folder input to the folder, a file input to its one file). An input field
whose schema names a role (``x-baton-role``, e.g. a build's ``force``) may only be set by that role.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baton.core.errors import InvalidInputError
from baton.core.workflow import Workflow
from baton.server.errors import ForbiddenError
from baton.store.keys import Role
from baton.workflows.reach import ROLE_EXTENSION, PathKind, Reach, path_fields

RUNS_FOLDER = "runs"
MAX_FILES = 100
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


@dataclass(frozen=True)
class Upload:
    """One file sent for a run: the input it is for, its name and its bytes."""

    field: str
    filename: str
    content: bytes


def _schema(workflow: Workflow) -> dict[str, Any]:
    model = workflow.inputs_model
    return model.model_json_schema() if model is not None else {}


def _check_roles(schema: dict[str, Any], inputs: dict[str, Any], role: Role) -> None:
    for name, prop in schema.get("properties", {}).items():
        needed = prop.get(ROLE_EXTENSION)
        if needed is None or name not in inputs or inputs[name] == prop.get("default"):
            continue
        if not role.allows(Role(needed)):
            raise ForbiddenError(
                f"the input {name!r} may only be set by the role {needed}; this key has {role.value}",
                details={"field": name, "needed": needed, "role": role.value},
            )


def _check_uploads(uploads: list[Upload], kinds: dict[str, PathKind], inputs: dict[str, Any]) -> None:
    if len(uploads) > MAX_FILES:
        raise InvalidInputError(
            f"{len(uploads)} files sent; at most {MAX_FILES} may be sent for a run",
            fields={"files": "too many"},
        )
    counts: dict[str, int] = {}
    for upload in uploads:
        kind = kinds.get(upload.field)
        if kind is None or kind is PathKind.OUTPUT:
            readable = ", ".join(n for n, k in sorted(kinds.items()) if k is not PathKind.OUTPUT) or "none"
            raise InvalidInputError(
                f"files were sent for {upload.field!r}, which is not a file or folder input of this "
                f"workflow (those are: {readable})",
                fields={f"files.{upload.field}": "not a file or folder input"},
            )
        if upload.field in inputs:
            raise InvalidInputError(
                f"the input {upload.field!r} was given and files were sent for it: give one of them",
                fields={upload.field: "given twice"},
            )
        if not _SAFE_NAME.match(upload.filename):
            raise InvalidInputError(
                "a file name must be 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit",
                fields={f"files.{upload.field}": "bad file name"},
            )
        counts[upload.field] = counts.get(upload.field, 0) + 1
    for name, count in counts.items():
        if kinds[name] is PathKind.FILE and count != 1:
            raise InvalidInputError(
                f"the input {name!r} is one file; {count} were sent",
                fields={f"files.{name}": "send one file"},
            )


def prepare_inputs(
    workflow: Workflow,
    raw: dict[str, Any],
    uploads: list[Upload],
    *,
    reach: Reach,
    run_id: str,
    role: Role,
) -> dict[str, Any]:
    """The inputs of a run started over the API, validated and confined to the workspace (nothing is
    written). Raises InvalidInputError (422) naming the fields, or ForbiddenError (403) for a role's input."""
    schema = _schema(workflow)
    kinds = path_fields(schema)
    _check_roles(schema, raw, role)
    _check_uploads(uploads, kinds, raw)
    inputs = dict(raw)
    folder = f"{RUNS_FOLDER}/{run_id}"
    for upload in uploads:
        base = f"{folder}/{upload.field}"
        inputs[upload.field] = base if kinds[upload.field] is PathKind.FOLDER else f"{base}/{upload.filename}"
    for name, kind in kinds.items():
        if kind is PathKind.OUTPUT and inputs.get(name) in (None, ""):
            inputs[name] = f"{folder}/{name}"
    try:
        parsed = workflow.parse_inputs(inputs, context=reach.context())
    except InvalidInputError as error:
        # The workflow's own hint speaks to the CLI (--input NAME=VALUE); over HTTP the schema is the guide.
        error.hint = f"GET /workflows/{workflow.name} gives each input's type and constraints"
        raise
    return parsed.model_dump(mode="json") if parsed is not None else {}


def write_uploads(reach: Reach, run_id: str, uploads: list[Upload]) -> None:
    """Write the files of a run into its folder (checked by :func:`prepare_inputs` first)."""
    for upload in uploads:
        try:
            target = reach.inside(f"{RUNS_FOLDER}/{run_id}/{upload.field}/{upload.filename}")
        except ValueError:  # only when someone made the workspace's runs/ folder a link out of it
            raise InvalidInputError(
                "the run's folder would leave the workspace; nothing was written",
                fields={f"files.{upload.field}": "the run's folder leaves the workspace"},
                hint=f"the server's operator should make {RUNS_FOLDER}/ a plain folder of the workspace",
            ) from None
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        # O_EXCL with no symlink following: a name is written once, into the folder made just now
        with open(target, "xb") as handle:
            handle.write(upload.content)


def remove_run_folder(reach: Reach, run_id: str) -> None:
    """Undo :func:`write_uploads` when the run could not be stored."""
    folder = reach.workspace / RUNS_FOLDER / run_id
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)


def make_workspace(root: Path) -> Path:
    """Create the workspace root (owner-only) and return it resolved."""
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise InvalidInputError(
            f"the workspace {str(root)!r} cannot be created: {error.strerror or error}",
            hint="give a writable folder with --workspace or BATON_WORKSPACE (in a container: a mounted volume)",
            fields={"workspace": "not writable"},
        ) from None
    return root.resolve()
