"""Runs the acceptance checks of spec.yaml's requirements against a client of the service.

This module is copied, as it is, into every generated project as `tests/acceptance.py`: the
project's own tests and baton's deploy stage run the very same checks. It needs only the standard
library.

A check is a request and what must come back. Strings may hold `{name.field}` (a field of a
response saved by an earlier check) and `{uniq}` (a fresh token, so unique values stay unique on
a service that already holds rows); a string that is only a placeholder keeps the value's type.
"""

import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)?)\}")


class Requester(Protocol):
    def request(
        self, method: str, path: str, /, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any: ...


class CheckFailed(AssertionError):
    """A check's answer was not the expected one; the message says which check and how."""


def _lookup(name: str, saved: Mapping[str, Any]) -> Any:
    if name == "uniq":
        return secrets.token_hex(4)
    item, _, key = name.partition(".")
    if item not in saved or not isinstance(saved[item], dict) or key not in saved[item]:
        raise CheckFailed(f"placeholder {{{name}}} names nothing saved by an earlier check")
    return saved[item][key]


def resolve(value: Any, saved: Mapping[str, Any]) -> Any:
    """`value` with its placeholders replaced."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), saved)
        return PLACEHOLDER.sub(lambda m: str(_lookup(m.group(1), saved)), value)
    if isinstance(value, list):
        return [resolve(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, saved) for k, v in value.items()}
    return value


def _dig(body: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        elif isinstance(body, dict) and part in body:
            body = body[part]
        else:
            raise KeyError(path)
    return body


def _same(got: Any, wanted: Any) -> bool:
    numbers = (int, float)
    if isinstance(got, numbers) and isinstance(wanted, numbers) and not isinstance(got, bool):
        return abs(float(got) - float(wanted)) < 1e-9
    return bool(got == wanted)


def _problems(
    check: Mapping[str, Any], status: int, text: str, body: Any, saved: Mapping[str, Any]
) -> list[str]:
    problems: list[str] = []
    if status != check.get("expect_status", 200):
        problems.append(f"status {status}, expected {check.get('expect_status', 200)}: {text[:300]}")
        return problems
    for path, wanted in (check.get("expect_fields") or {}).items():
        expected = resolve(wanted, saved)
        try:
            got = _dig(body, path)
        except KeyError:
            problems.append(f"no field {path!r} in the answer")
            continue
        if not _same(got, expected):
            problems.append(f"{path} is {got!r}, expected {expected!r}")
    phrase = check.get("expect_text")
    if phrase and phrase not in text:
        problems.append(f"the answer does not say {phrase!r}: {text[:300]}")
    count = check.get("expect_count")
    if count is not None:
        got_count = (
            body.get("total") if isinstance(body, dict) else len(body) if isinstance(body, list) else None
        )
        if got_count != count:
            problems.append(f"{got_count} items, expected {count}")
    return problems


def run_checks(client: Requester, checks: Sequence[Mapping[str, Any]]) -> None:
    """Run the checks in order; raise :class:`CheckFailed` naming the first that fails."""
    saved: dict[str, Any] = {}
    for number, check in enumerate(checks, 1):
        method = str(check.get("method", "GET")).upper()
        path = str(resolve(check["path"], saved))
        body = resolve(check.get("body"), saved)
        params = resolve(check.get("params") or {}, saved)
        response = client.request(method, path, json=body, params=params or None)
        text = response.text
        try:
            answer = response.json() if text else None
        except ValueError:
            answer = None
        problems = _problems(check, response.status_code, text, answer, saved)
        if problems:
            name = check.get("name") or ""
            raise CheckFailed(f"check {number} ({name}: {method} {path}): {'; '.join(problems)}")
        if check.get("save_as"):
            saved[str(check["save_as"])] = answer
