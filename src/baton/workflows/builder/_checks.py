"""Runs the acceptance checks of spec.yaml's requirements against a client of the service.

This module is copied, as it is, into every generated project as `tests/acceptance.py`: the
project's own tests and baton's deploy stage run the very same checks. It needs only the standard
library.

A check is a request and what must come back. Strings may hold `{name.field}` (a field of a
response saved by an earlier check) and `{uniq}` (a fresh token, so unique values stay unique on
a service that already holds rows); a string that is only a placeholder keeps the value's type.

A failed check's message says what one execution cannot repeat in words that do not change: the
fresh tokens as `{uniq}`, the service's own timestamps and request ids as `…`. The reason is the same
on every run of the same checks against the same code — a replayed build writes the same BUILD.md —
while the values sent stay fresh (a fixed value would collide with the rows of an earlier pass).
"""

import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)?)\}")
# What a service stamps on its own in an answer: when a row was written, the request's id.
VOLATILE = re.compile(r'("(?:created_at|updated_at|request_id)"\s*:\s*)"[^"]*"')


class Requester(Protocol):
    def request(
        self, method: str, path: str, /, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any: ...


class CheckFailed(AssertionError):
    """A check's answer was not the expected one; the message says which check and how."""


def _lookup(name: str, saved: Mapping[str, Any], tokens: list[str] | None = None) -> Any:
    if name == "uniq":
        token = secrets.token_hex(4)
        if tokens is not None:
            tokens.append(token)
        return token
    item, _, key = name.partition(".")
    if item not in saved or not isinstance(saved[item], dict) or key not in saved[item]:
        raise CheckFailed(f"placeholder {{{name}}} names nothing saved by an earlier check")
    return saved[item][key]


def resolve(value: Any, saved: Mapping[str, Any], tokens: list[str] | None = None) -> Any:
    """`value` with its placeholders replaced; each fresh token is appended to `tokens`."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), saved, tokens)
        return PLACEHOLDER.sub(lambda m: str(_lookup(m.group(1), saved, tokens)), value)
    if isinstance(value, list):
        return [resolve(v, saved, tokens) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, saved, tokens) for k, v in value.items()}
    return value


def stable(text: str, tokens: Sequence[str]) -> str:
    """`text` with the fresh tokens written `{uniq}` and the service's timestamps and request ids `…`."""
    for token in tokens:
        text = text.replace(token, "{uniq}")
    return VOLATILE.sub(r'\1"…"', text)


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
    check: Mapping[str, Any], status: int, text: str, body: Any, saved: Mapping[str, Any], shown: str
) -> list[str]:
    """What is wrong with an answer; `shown` is its text as a message may quote it (see `stable`)."""
    problems: list[str] = []
    if status != check.get("expect_status", 200):
        problems.append(f"status {status}, expected {check.get('expect_status', 200)}: {shown[:300]}")
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
        problems.append(f"the answer does not say {phrase!r}: {shown[:300]}")
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
    tokens: list[str] = []
    for number, check in enumerate(checks, 1):
        method = str(check.get("method", "GET")).upper()
        path = str(resolve(check["path"], saved, tokens))
        body = resolve(check.get("body"), saved, tokens)
        params = resolve(check.get("params") or {}, saved, tokens)
        response = client.request(method, path, json=body, params=params or None)
        text = response.text
        try:
            answer = response.json() if text else None
        except ValueError:
            answer = None
        problems = _problems(check, response.status_code, text, answer, saved, stable(text, tokens))
        if problems:
            name = check.get("name") or ""
            message = f"check {number} ({name}: {method} {path}): {'; '.join(problems)}"
            raise CheckFailed(stable(message, tokens))
        if check.get("save_as"):
            saved[str(check["save_as"])] = answer
