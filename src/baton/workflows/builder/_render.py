"""Rendering the Jinja templates of ``templates/`` with ``StrictUndefined``.

A template folder is rendered as a tree: ``x.py.jinja`` becomes ``x.py``; a leading ``dot-`` becomes
``.`` (``dot-gitignore.jinja`` → ``.gitignore``); a path holding ``__entity__`` is rendered once per
entity, with ``entity`` bound and ``__entity__`` replaced by the entity's plural.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from baton.core.errors import PermanentError
from baton.workflows.builder.acceptance import article

TEMPLATES = Path(__file__).parent / "templates"
_ENTITY = "__entity__"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # `tojson` writes string literals into Python and TOML files. JSON's ASCII escapes would write a
    # character outside the BMP (an emoji in the idea) as a surrogate pair, which Python reads as two lone
    # surrogates that cannot be encoded; the characters themselves are valid in both languages.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters["article"] = article  # `{{ name | article }} {{ name }}`: a book, an author
    return env


def render(template: str, context: Mapping[str, Any]) -> str:
    """One template, by its path below ``templates/``; a missing variable is a :class:`PermanentError`."""
    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateError as error:
        raise PermanentError(
            f"template {template} failed to render: {error}",
            hint="this is a bug in baton's templates; report it with the spec that caused it",
        ) from error


def _target(relative: str) -> str:
    parts = [p[4:] and "." + p[4:] if p.startswith("dot-") else p for p in relative.split("/")]
    return "/".join(parts).removesuffix(".jinja")


def render_tree(
    folder: str, context: Mapping[str, Any], *, entities: Sequence[Any] = (), plural_of: str = "plural"
) -> dict[str, str]:
    """Every template below ``templates/<folder>``, as ``{target path: text}``."""
    root = TEMPLATES / folder
    if not root.is_dir():
        raise PermanentError(f"template folder {folder!r} is missing from baton's installation")
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*.jinja")):
        relative = path.relative_to(root).as_posix()
        template = f"{folder}/{relative}"
        if _ENTITY in relative:
            for entity in entities:
                target = _target(relative.replace(_ENTITY, getattr(entity, plural_of)))
                files[target] = render(template, {**context, "entity": entity})
        else:
            files[_target(relative)] = render(template, context)
    return files
