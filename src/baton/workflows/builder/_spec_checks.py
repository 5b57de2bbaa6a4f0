"""The checks of the richer parts of a spec: field bounds and choices, rules, queries, requirements.

Each check names the field it found wrong (``entities[2].fields[1].max``) and says what to do, so a
contradictory spec file is refused before anything is written.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from baton.core.errors import InvalidInputError

if TYPE_CHECKING:
    from baton.workflows.builder.spec import BuildSpec, EntitySpec, FieldSpec

_CHOICE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_REQUIREMENT_ID = re.compile(r"^R[1-9][0-9]{0,3}$")
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})


def fail(field: str, message: str, hint: str = "fix it in spec.yaml and build again") -> InvalidInputError:
    return InvalidInputError(message, fields={field: message}, hint=hint)


def _default_problem(f: FieldSpec) -> str | None:
    from baton.workflows.builder.spec import NUMERIC_TYPES, TEXT_TYPES, FieldType

    value = f.default
    if f.type is FieldType.ENUM:
        return None if value in f.choices else f"default {value!r} is not one of {f.choices}"
    if f.type is FieldType.BOOLEAN:
        return None if isinstance(value, bool) else f"default {value!r} is not true or false"
    if f.type in NUMERIC_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"default {value!r} is not a number"
        if f.type is FieldType.INTEGER and not float(value).is_integer():
            return f"default {value!r} is not a whole number"
        if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
            return f"default {value} lies outside {f.min}..{f.max}"
        return None
    if f.type in (FieldType.DATE, FieldType.DATETIME):
        return f"a {f.type.value} field cannot have a default (dates are given by the client)"
    if not isinstance(value, str):
        return f"default {value!r} is not text"
    if f.type in TEXT_TYPES and f.max_length is not None and len(value) > f.max_length:
        return f"default {value!r} is longer than max_length {f.max_length}"
    return None


def check_field(where: str, entity: str, f: FieldSpec) -> None:
    """Bounds on numbers, lengths on text, choices on enums, a default of the field's type."""
    from baton.workflows.builder.spec import NUMERIC_TYPES, TEXT_TYPES, FieldType

    label = f"{entity}.{f.name}"
    if (f.min is not None or f.max is not None) and f.type not in NUMERIC_TYPES:
        key = "min" if f.min is not None else "max"
        raise fail(f"{where}.{key}", f"{label} is {f.type.value}: min/max apply to numbers only")
    if f.min is not None and f.max is not None and f.min > f.max:
        raise fail(f"{where}.min", f"{label} has min {f.min} greater than max {f.max}")
    if f.type is FieldType.INTEGER:
        for key, bound in (("min", f.min), ("max", f.max)):
            if bound is not None and not float(bound).is_integer():
                raise fail(f"{where}.{key}", f"{label} is an integer: {key} {bound} must be a whole number")
    if (f.min_length is not None or f.max_length is not None) and f.type not in TEXT_TYPES:
        key = "min_length" if f.min_length is not None else "max_length"
        raise fail(f"{where}.{key}", f"{label} is {f.type.value}: {key} applies to string and text only")
    if f.min_length is not None and f.max_length is not None and f.min_length > f.max_length:
        raise fail(
            f"{where}.min_length", f"{label} has min_length {f.min_length} over max_length {f.max_length}"
        )
    _check_choices(where, label, f)
    if f.default is not None:
        problem = _default_problem(f)
        if problem:
            raise fail(f"{where}.default", f"{label}: {problem}")


def _check_choices(where: str, label: str, f: FieldSpec) -> None:
    from baton.workflows.builder.spec import FieldType

    if f.type is FieldType.ENUM:
        if len(f.choices) < 2:
            raise fail(f"{where}.choices", f"{label} is an enum: give at least two `choices`")
        bad = [c for c in f.choices if not _CHOICE.match(c)]
        if bad:
            raise fail(
                f"{where}.choices",
                f"{label}: choice {bad[0]!r} must be a lowercase word (letters, digits, underscores)",
            )
        if len(set(f.choices)) != len(f.choices):
            raise fail(f"{where}.choices", f"{label} lists a choice twice")
    elif f.choices:
        raise fail(f"{where}.choices", f"{label} is {f.type.value}: `choices` apply to enum fields only")


def check_unique_together(i: int, entity: EntitySpec, foreign_keys: set[str]) -> None:
    known = {f.name for f in entity.fields} | foreign_keys
    for j, group in enumerate(entity.unique_together):
        where = f"entities[{i}].unique_together[{j}]"
        if len(group) < 2 or len(set(group)) != len(group):
            raise fail(where, f"{entity.name}: a unique combination needs two or more different fields")
        unknown = [name for name in group if name not in known]
        if unknown:
            raise fail(
                where,
                f"{entity.name} has no field {unknown[0]!r} for a unique combination "
                f"(its fields and foreign keys: {', '.join(sorted(known))})",
            )


def _entity_of(spec: BuildSpec, where: str, name: str | None, what: str) -> EntitySpec:
    entity = next((e for e in spec.entities if e.name == name), None)
    if entity is None:
        raise fail(where, f"{what} {name!r} is not an entity of the spec")
    return entity


def _typed_field(
    entity: EntitySpec, where: str, name: str | None, kinds: frozenset[Any], what: str
) -> FieldSpec:
    f = entity.field(name or "")
    if f is None or f.type not in kinds:
        wanted = " or ".join(sorted(k.value for k in kinds))
        have = f"it is {f.type.value}" if f else "there is no such field"
        raise fail(where, f"{what} {entity.name}.{name} must be a field of type {wanted} ({have})")
    return f


def _check_limit(spec: BuildSpec, where: str, rule: Any, entity: EntitySpec) -> None:
    from baton.workflows.builder.spec import FieldType

    parent = _entity_of(spec, f"{where}.parent", rule.parent, "limit parent")
    if not any(r.parent == parent.name and r.child == entity.name for r in spec.relations):
        raise fail(
            f"{where}.parent", f"limit: {entity.name!r} does not belong to {parent.name!r} (no relation)"
        )
    _typed_field(parent, f"{where}.field", rule.field, frozenset({FieldType.INTEGER}), "the limit")


def _check_transitions(where: str, rule: Any, entity: EntitySpec) -> None:
    from baton.workflows.builder.spec import FieldType

    f = _typed_field(entity, f"{where}.field", rule.field, frozenset({FieldType.ENUM}), "the status")
    if not rule.transitions:
        raise fail(f"{where}.transitions", f"{entity.name}.{f.name}: list the allowed `transitions`")
    for source, targets in rule.transitions.items():
        for status in [source, *targets]:
            if status not in f.choices:
                raise fail(
                    f"{where}.transitions.{source}",
                    f"transition names unknown status {status!r} of {entity.name}.{f.name} "
                    f"(its choices: {', '.join(f.choices)})",
                )


def _check_ordering(where: str, rule: Any, entity: EntitySpec) -> None:
    from baton.workflows.builder.spec import DATE_TYPES

    first = _typed_field(entity, f"{where}.before", rule.before, DATE_TYPES, "ordering")
    second = _typed_field(entity, f"{where}.after", rule.after, DATE_TYPES, "ordering")
    if first.type is not second.type or first.name == second.name:
        raise fail(where, f"ordering needs two different fields of one type ({first.name}, {second.name})")


def check_rules(spec: BuildSpec) -> None:
    from baton.workflows.builder.spec import RuleKind

    for i, rule in enumerate(spec.rules):
        where = f"rules[{i}]"
        entity = _entity_of(spec, f"{where}.entity", rule.entity, "rule entity")
        if rule.kind is RuleKind.LIMIT:
            _check_limit(spec, where, rule, entity)
        elif rule.kind is RuleKind.TRANSITIONS:
            _check_transitions(where, rule, entity)
        else:
            _check_ordering(where, rule, entity)


def check_queries(spec: BuildSpec) -> None:
    from baton.workflows.builder.spec import DATE_TYPES, QueryKind

    seen: set[tuple[str, str]] = set()
    for i, query in enumerate(spec.queries):
        where = f"queries[{i}]"
        entity = _entity_of(spec, f"{where}.entity", query.entity, "query entity")
        if (query.kind.value, entity.name) in seen:
            raise fail(where, f"the {query.kind.value} query of {entity.name!r} is declared twice")
        seen.add((query.kind.value, entity.name))
        if query.kind is QueryKind.LATEST:
            keys = {f.name for f in entity.fields} | {r.foreign_key for r in spec.parents_of(entity.name)}
            if query.key not in keys:
                raise fail(
                    f"{where}.key", f"latest {entity.name}: key {query.key!r} is not one of its fields"
                )
            _typed_field(entity, f"{where}.by", query.by, DATE_TYPES, "latest orders by")
        elif not any(r.parent == query.parent and r.child == entity.name for r in spec.relations):
            raise fail(f"{where}.parent", f"count: {entity.name!r} does not belong to {query.parent!r}")


def check_requirements(spec: BuildSpec) -> None:
    seen: set[str] = set()
    for i, requirement in enumerate(spec.requirements):
        where = f"requirements[{i}]"
        if not _REQUIREMENT_ID.match(requirement.id) or requirement.id in seen:
            raise fail(f"{where}.id", f"requirement id {requirement.id!r} must be R1, R2, … and unique")
        seen.add(requirement.id)
        if not requirement.text.strip():
            raise fail(f"{where}.text", f"requirement {requirement.id} has no text")
        for j, check in enumerate(requirement.checks):
            if check.method.upper() not in _METHODS:
                raise fail(
                    f"{where}.checks[{j}].method", f"{check.method!r} is not one of {sorted(_METHODS)}"
                )
            if not check.path.startswith("/") or ".." in check.path or "://" in check.path:
                raise fail(f"{where}.checks[{j}].path", f"{check.path!r} must be a path of the service (/…)")
