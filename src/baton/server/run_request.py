"""The body of ``POST /runs``: JSON (inputs, and text files by input) or multipart (files of any kind).

JSON: ``{"workflow": "season", "inputs": {...}, "files": {"data": {"stores.csv": "<text>", ...}}}``.
Multipart: a ``workflow`` field, an optional ``inputs`` field holding the inputs as a JSON object, and file
parts named after the input they are for (a folder input may take several). Parsing happens after the
caller was authenticated (the route's dependency runs first), so a bad body never answers a stranger.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from baton.server.errors import ApiError, MalformedRequestError
from baton.server.models import StartRun
from baton.server.workspace import MAX_FILES, Upload


class UnsupportedMediaTypeError(ApiError):
    code = "unsupported_media_type"
    http_status = 415


def _malformed(error: ValidationError) -> MalformedRequestError:
    # The offending values are left out: they may be anything, secrets included.
    problems = [
        {"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]} for e in error.errors()
    ]
    listed = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems[:5])
    return MalformedRequestError(
        f"the request does not match the API: {listed}", details={"errors": problems}
    )


def _text_uploads(body: StartRun) -> list[Upload]:
    return [
        Upload(field, filename, content.encode())
        for field, files in body.files.items()
        for filename, content in files.items()
    ]


async def read_start_run(request: Request) -> tuple[StartRun, list[Upload]]:
    """The run to start and the files sent for it; MalformedRequestError (422) or 415 otherwise."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return await _read_multipart(request)
    if media not in ("application/json", ""):
        raise UnsupportedMediaTypeError(
            f"POST /runs takes application/json or multipart/form-data, not {media}",
            hint="send the run as JSON, or as a form when it carries files",
        )
    raw = await request.body()
    try:
        body = StartRun.model_validate_json(raw or b"null")
    except ValidationError as error:
        raise _malformed(error) from None
    return body, _text_uploads(body)


async def _read_multipart(request: Request) -> tuple[StartRun, list[Upload]]:
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=50)
    except Exception as error:  # python-multipart and starlette raise several kinds for a broken form
        raise MalformedRequestError(
            f"the form could not be read: {type(error).__name__}",
            hint="send multipart/form-data with a `workflow` field, an `inputs` JSON field and file parts",
        ) from None
    uploads: list[Upload] = []
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            uploads.append(Upload(name, value.filename or "", await value.read()))
        elif name in ("workflow", "inputs"):
            fields[name] = value
        else:
            raise MalformedRequestError(
                f"the form field {name!r} is neither `workflow`, `inputs` nor a file",
                details={"errors": [{"loc": ["body", name], "msg": "unexpected field", "type": "extra"}]},
            )
    await form.close()
    try:
        inputs = json.loads(fields.get("inputs") or "{}")
        body = StartRun.model_validate({"workflow": fields.get("workflow"), "inputs": inputs})
    except json.JSONDecodeError:
        raise MalformedRequestError(
            "the form field `inputs` is not a JSON object",
            details={"errors": [{"loc": ["body", "inputs"], "msg": "not JSON", "type": "json_invalid"}]},
        ) from None
    except ValidationError as error:
        raise _malformed(error) from None
    return body, uploads


def start_run_openapi() -> dict[str, Any]:
    """The request body of ``POST /runs`` for the OpenAPI schema (the route reads the body itself)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": StartRun.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["workflow"],
                        "properties": {
                            "workflow": {"type": "string", "minLength": 1, "maxLength": 200},
                            "inputs": {"type": "string", "description": "the inputs, a JSON object"},
                        },
                        "additionalProperties": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "files for the input of this name",
                        },
                    }
                },
            },
        }
    }
