"""Requirements → acceptance checks: HTTP requests against the running service and what must come back.

Each requirement names the spec feature that implements it (``implemented_by``):

==========================  ===========================================================
``entity:<e>``              the resource exists: create, read, list
``relation:<p>><c>``        the child's foreign key in bodies, existence checked, filter, nested read
``field:<e>.<f>``           the field's type, bounds, choices, default, uniqueness
``unique:<e>``              the entity's composite uniqueness
``rule:<kind>:<e>``         a limit, status transitions or date ordering
``query:<kind>:<e>``        the latest per key, a count per parent
``job:<name>``              a scheduled job (checked by the generated tests, see below)
==========================  ===========================================================

:func:`attach_checks` fills in the checks of every requirement that has none, and marks as
``not_implemented`` the ones whose feature the spec's stack does not render, saying so.
"""

from __future__ import annotations

from typing import Any

from baton.workflows.builder.spec import (
    AcceptanceCheck,
    BuildSpec,
    EntitySpec,
    FieldSpec,
    FieldType,
    JobKind,
    QueryKind,
    Requirement,
    RequirementStatus,
    RuleKind,
    Stack,
)

MISSING_ID = 999999999
UNWRITTEN = (
    "no template renders it, so nothing implements its acceptance checks; with a model configured "
    "(BATON_CONFIG) the build's crew writes the code for it"
)
# Features each stack renders; anything else is reported as not implemented on that stack.
FASTAPI_ONLY = ("query:", "nested")


def sample_value(f: FieldSpec, *, later: bool = False) -> Any:
    """A valid value of the field; text may hold ``{uniq}``."""
    kind = f.type
    if kind is FieldType.ENUM:
        return f.default if f.default is not None else f.choices[0]
    if kind in (FieldType.INTEGER, FieldType.FLOAT, FieldType.DECIMAL):
        low, high = f.min, f.max
        value = (
            (low + high) / 2
            if low is not None and high is not None
            else (low or (min(high, 1) if high is not None else 1))
        )
        return int(value) if kind is FieldType.INTEGER else round(float(value), 2)
    if kind is FieldType.BOOLEAN:
        return True
    if kind is FieldType.DATE:
        return "2026-01-20" if later else "2026-01-15"
    if kind is FieldType.DATETIME:
        return "2026-01-20T10:00:00Z" if later else "2026-01-15T10:00:00Z"
    if kind is FieldType.EMAIL:
        return "a{uniq}@example.com"
    if kind is FieldType.URL:
        return "https://example.com/{uniq}"
    text = f"{f.name.replace('_', ' ')} {{uniq}}"
    room = f.max_length or 200
    if len(text) - len("{uniq}") + 8 > room:
        text = "{uniq}" if room >= 8 else "a" * room
    if f.min_length and len(text) - len("{uniq}") + 8 < f.min_length:
        text += "x" * (f.min_length - (len(text) - len("{uniq}") + 8))
    return text


def sample_body(spec: BuildSpec, entity: EntitySpec) -> dict[str, Any]:
    """A valid create body without foreign keys; ``{uniq}`` keeps unique text unique per request."""
    later = {r.after for r in spec.rules if r.kind is RuleKind.ORDERING and r.entity == entity.name}
    return {f.name: sample_value(f, later=f.name in later) for f in entity.fields}


def create_steps(
    spec: BuildSpec,
    entity: str,
    save_as: str,
    overrides: dict[str, Any] | None = None,
    *,
    parents: bool = True,
) -> list[AcceptanceCheck]:
    """The requests that create one ``entity`` (its parents first), the last one saved as ``save_as``."""
    target = spec.entity(entity)
    steps: list[AcceptanceCheck] = []
    body = sample_body(spec, target)
    for relation in spec.parents_of(entity):
        if overrides and relation.foreign_key in overrides:
            continue
        if parents:
            name = f"{save_as}_{relation.parent}"
            steps += create_steps(spec, relation.parent, name)
            body[relation.foreign_key] = f"{{{name}.id}}"
    body.update(overrides or {})
    steps.append(
        AcceptanceCheck(
            name=f"create {entity}",
            method="POST",
            path=f"/{target.plural_name}",
            body=body,
            expect_status=201,
            save_as=save_as,
        )
    )
    return steps


def _entity_checks(spec: BuildSpec, entity: EntitySpec) -> list[AcceptanceCheck]:
    path = f"/{entity.plural_name}"
    return [
        *create_steps(spec, entity.name, "item"),
        AcceptanceCheck(name="read it back", path=f"{path}/{{item.id}}", expect_fields={"id": "{item.id}"}),
        AcceptanceCheck(name="list", path=path, params={"limit": 1}),
    ]


def _relation_checks(spec: BuildSpec, parent: str, child: str) -> list[AcceptanceCheck]:
    kid, mother = spec.entity(child), spec.entity(parent)
    foreign_key = f"{parent}_id"
    path = f"/{kid.plural_name}"
    steps = [*create_steps(spec, child, "other"), *create_steps(spec, child, "child")]
    owner = f"{{child_{parent}.id}}"
    steps[-1] = steps[-1].model_copy(update={"expect_fields": {foreign_key: owner}})
    *others, bad = create_steps(spec, child, "orphan", {foreign_key: MISSING_ID}, parents=True)
    steps += others
    steps.append(
        bad.model_copy(
            update={
                "name": f"refuse an unknown {parent}",
                "expect_status": 422,
                "save_as": None,
                "expect_text": "does not exist",
            }
        )
    )
    steps.append(
        AcceptanceCheck(
            name=f"filter by {foreign_key}", path=path, params={foreign_key: owner}, expect_count=1
        )
    )
    steps.append(
        AcceptanceCheck(
            name=f"nested read of the {kid.plural_name}",
            path=f"/{mother.plural_name}/{owner}/{kid.plural_name}",
            expect_count=1,
        )
    )
    return steps


def _refusals(f: FieldSpec) -> list[tuple[str, Any]]:
    """Values the field must refuse, each with what it shows."""
    bad: list[tuple[str, Any]] = []
    if f.min is not None:
        bad.append((f"below the minimum {f.min:g}", f.min - 1))
    if f.max is not None:
        bad.append((f"above the maximum {f.max:g}", f.max + 1))
    if f.type is FieldType.ENUM:
        bad.append(("a value not among the choices", "not_a_choice"))
    if f.type is FieldType.EMAIL:
        bad.append(("a malformed address", "not-an-email"))
    if f.type is FieldType.URL:
        bad.append(("a malformed URL", "not a url"))
    if f.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.FLOAT):
        bad.append(("text where a number belongs", "many"))
    if f.type in (FieldType.DATE, FieldType.DATETIME):
        bad.append(("a malformed date", "yesterday-ish"))
    if f.max_length is not None and f.type in (FieldType.STRING, FieldType.TEXT):
        bad.append((f"longer than {f.max_length} characters", "x" * (f.max_length + 1)))
    if f.min_length:
        bad.append((f"shorter than {f.min_length} characters", "x" * (f.min_length - 1)))
    return bad


def _field_checks(spec: BuildSpec, entity: EntitySpec, f: FieldSpec) -> list[AcceptanceCheck]:
    steps = create_steps(spec, entity.name, "item")
    steps[-1] = steps[-1].model_copy(update={"name": f"accept a valid {f.name}"})
    base = steps[-1].body
    path = f"/{entity.plural_name}"
    for what, value in _refusals(f):
        steps.append(
            AcceptanceCheck(
                name=f"refuse {f.name} {what}",
                method="POST",
                path=path,
                body={**base, f.name: value},
                expect_status=422,
            )
        )
    if f.default is not None:
        *others, fresh = create_steps(spec, entity.name, "defaulted")
        body = {k: v for k, v in fresh.body.items() if k != f.name}
        steps += others
        steps.append(
            fresh.model_copy(
                update={
                    "name": f"{f.name} defaults to {f.default!r}",
                    "body": body,
                    "expect_fields": {f.name: f.default},
                }
            )
        )
    if f.unique:
        body = {**base, f.name: f"{{item.{f.name}}}"}
        steps.append(
            AcceptanceCheck(
                name=f"refuse a second {entity.name} with the same {f.name}",
                method="POST",
                path=path,
                body=body,
                expect_status=409,
            )
        )
    return steps


def _unique_checks(spec: BuildSpec, entity: EntitySpec, group: list[str]) -> list[AcceptanceCheck]:
    steps = create_steps(spec, entity.name, "first")
    again = {**steps[-1].body, **{name: f"{{first.{name}}}" for name in group}}
    steps.append(
        AcceptanceCheck(
            name=f"refuse a second {entity.name} with the same {' + '.join(group)}",
            method="POST",
            path=f"/{entity.plural_name}",
            body=again,
            expect_status=409,
        )
    )
    return steps


def _limit_checks(spec: BuildSpec, entity: str, parent: str, field: str) -> list[AcceptanceCheck]:
    foreign_key = f"{parent}_id"
    steps = create_steps(spec, parent, "parent", {field: 1})
    steps += create_steps(spec, entity, "first", {foreign_key: "{parent.id}"})
    over = create_steps(spec, entity, "second", {foreign_key: "{parent.id}"})
    over[-1] = over[-1].model_copy(
        update={
            "name": f"refuse one {entity} more than the {parent}'s {field}",
            "expect_status": 409,
            "expect_text": "is full",
            "save_as": None,
        }
    )
    return steps + over


def _transition_checks(
    spec: BuildSpec, entity: EntitySpec, field: str, allowed: dict[str, list[str]]
) -> list[AcceptanceCheck]:
    f = entity.field(field)
    assert f is not None  # the spec was validated
    start = f.default if f.default is not None else f.choices[0]
    steps = create_steps(spec, entity.name, "item", {field: start})
    path = f"/{entity.plural_name}/{{item.id}}"
    nexts = allowed.get(start, [])
    illegal = [c for c in f.choices if c != start and c not in nexts]
    if illegal:
        steps.append(
            AcceptanceCheck(
                name=f"refuse {start} → {illegal[-1]}",
                method="PATCH",
                path=path,
                body={field: illegal[-1]},
                expect_status=409,
                expect_text="allowed",
            )
        )
    if nexts:
        steps.append(
            AcceptanceCheck(
                name=f"allow {start} → {nexts[0]}",
                method="PATCH",
                path=path,
                body={field: nexts[0]},
                expect_fields={field: nexts[0]},
            )
        )
    return steps


def _ordering_checks(spec: BuildSpec, entity: EntitySpec, before: str, after: str) -> list[AcceptanceCheck]:
    steps = create_steps(spec, entity.name, "item")
    body = steps[-1].body
    steps.append(
        AcceptanceCheck(
            name=f"refuse {after} before {before}",
            method="POST",
            path=f"/{entity.plural_name}",
            body={**body, before: body[after], after: body[before]},
            expect_status=422,
            expect_text=f"{after} must be after {before}",
        )
    )
    return steps


def _latest_checks(spec: BuildSpec, entity: EntitySpec, key: str, by: str) -> list[AcceptanceCheck]:
    f = entity.field(by)
    older, newer = (
        ("2026-01-01", "2026-03-01")
        if f and f.type is FieldType.DATE
        else ("2026-01-01T08:00:00Z", "2026-03-01T08:00:00Z")
    )
    first = create_steps(spec, entity.name, "older", {by: older})
    key_value = f"{{older.{key}}}"
    second = create_steps(spec, entity.name, "newer", {by: newer, key: key_value})
    return [
        *first,
        *second,
        AcceptanceCheck(
            name=f"the newest per {key}",
            path=f"/{entity.plural_name}/latest",
            params={key: key_value},
            expect_count=1,
            expect_fields={"0.id": "{newer.id}"},
        ),
    ]


def _count_checks(spec: BuildSpec, entity: EntitySpec, parent: str) -> list[AcceptanceCheck]:
    foreign_key = f"{parent}_id"
    steps = create_steps(spec, parent, "parent")
    steps += create_steps(spec, entity.name, "one", {foreign_key: "{parent.id}"})
    steps += create_steps(spec, entity.name, "two", {foreign_key: "{parent.id}"})
    plural_parent = spec.entity(parent).plural_name
    steps.append(
        AcceptanceCheck(
            name=f"count the {entity.plural_name} of a {parent}",
            path=f"/{plural_parent}/{{parent.id}}/{entity.plural_name}/count",
            expect_fields={"count": 2},
        )
    )
    return steps


def _job_checks(spec: BuildSpec, name: str) -> list[AcceptanceCheck]:
    job = next(j for j in spec.jobs if j.name == name)
    steps = [AcceptanceCheck(name=f"run {name} now", method="POST", path=f"/jobs/{name}")]
    if job.kind is JobKind.FETCH:  # against the configured source: a source that cannot be reached fails
        steps[0] = steps[0].model_copy(update={"expect_fields": {"job": name, "skipped": 0}})
    if job.kind is JobKind.CLEANUP and job.entity and job.field:
        entity = spec.entity(job.entity)
        past = (
            "2000-01-01"
            if (entity.field(job.field) or FieldSpec(name="x")).type is FieldType.DATE
            else ("2000-01-01T00:00:00Z")
        )
        steps = [
            *create_steps(spec, entity.name, "expired", {job.field: past}),
            *steps,
            AcceptanceCheck(
                name=f"the expired {entity.name} is gone",
                path=f"/{entity.plural_name}/{{expired.id}}",
                expect_status=404,
            ),
        ]
    return steps


def checks_for(spec: BuildSpec, feature: str) -> list[AcceptanceCheck]:
    """The acceptance checks of one feature reference; an unknown reference has none."""
    kind, _, rest = feature.partition(":")
    try:
        if kind == "entity":
            return _entity_checks(spec, spec.entity(rest))
        if kind == "relation":
            parent, _, child = rest.partition(">")
            return _relation_checks(spec, parent, child)
        if kind == "field":
            entity, _, name = rest.partition(".")
            f = spec.entity(entity).field(name)
            return _field_checks(spec, spec.entity(entity), f) if f else []
        if kind == "unique":
            target = spec.entity(rest)
            return [c for group in target.unique_together for c in _unique_checks(spec, target, group)]
        if kind == "rule":
            return _rule_checks(spec, rest)
        if kind == "query":
            return _query_checks(spec, rest)
        if kind == "job" and any(j.name == rest for j in spec.jobs):
            return _job_checks(spec, rest)
    except KeyError:
        return []
    return []


def _rule_checks(spec: BuildSpec, rest: str) -> list[AcceptanceCheck]:
    kind, _, entity_name = rest.partition(":")
    entity = spec.entity(entity_name)
    checks: list[AcceptanceCheck] = []
    for rule in spec.rules:
        if rule.entity != entity_name or rule.kind.value != kind:
            continue
        if rule.kind is RuleKind.LIMIT and rule.parent and rule.field:
            checks += _limit_checks(spec, entity_name, rule.parent, rule.field)
        elif rule.kind is RuleKind.TRANSITIONS and rule.field:
            checks += _transition_checks(spec, entity, rule.field, rule.transitions)
        elif rule.kind is RuleKind.ORDERING and rule.before and rule.after:
            checks += _ordering_checks(spec, entity, rule.before, rule.after)
    return checks


def _query_checks(spec: BuildSpec, rest: str) -> list[AcceptanceCheck]:
    kind, _, entity_name = rest.partition(":")
    entity = spec.entity(entity_name)
    for query in spec.queries:
        if query.entity == entity_name and query.kind.value == kind:
            if query.kind is QueryKind.LATEST and query.key and query.by:
                return _latest_checks(spec, entity, query.key, query.by)
            if query.kind is QueryKind.COUNT and query.parent:
                return _count_checks(spec, entity, query.parent)
    return []


def _unsupported(spec: BuildSpec, feature: str) -> str | None:
    """Why the spec's stack does not render ``feature``, or None when it does."""
    job = next((j for j in spec.jobs if f"job:{j.name}" == feature), None)
    if job is not None and job.kind is JobKind.FETCH and spec.stack is not Stack.FASTAPI:
        return f"fetch jobs are rendered on the fastapi stack only (this build: {spec.stack.value})"
    if job is not None and job.kind is not JobKind.FETCH and spec.stack is not Stack.FUNCTIONS:
        return f"scheduled jobs are rendered on the functions stack only (this build: {spec.stack.value})"
    return None


def derive_requirements(spec: BuildSpec) -> list[Requirement]:
    """One requirement per feature of a spec that states none (a spec file written by hand)."""
    said: list[tuple[str, str]] = []
    for entity in spec.entities:
        said.append((f"keep {entity.plural_name.replace('_', ' ')}", f"entity:{entity.name}"))
    for r in spec.relations:
        said.append(
            (f"each {r.child} belongs to {article(r.parent)} {r.parent}", f"relation:{r.parent}>{r.child}")
        )
    for entity in spec.entities:
        for f in entity.fields:
            constrained = f.min is not None or f.max is not None or bool(f.choices)
            if constrained or f.type in (FieldType.EMAIL, FieldType.URL) or f.default is not None or f.unique:
                said.append((describe_field(entity, f), f"field:{entity.name}.{f.name}"))
        if entity.unique_together:
            groups = "; ".join(" + ".join(g) for g in entity.unique_together)
            said.append((f"one {entity.name} per {groups}", f"unique:{entity.name}"))
    for rule in spec.rules:
        said.append((describe_rule(rule), f"rule:{rule.kind.value}:{rule.entity}"))
    for query in spec.queries:
        what = (
            f"the latest {query.entity} per {query.key}"
            if query.kind is QueryKind.LATEST
            else (f"the number of {query.entity} rows per {query.parent}")
        )
        said.append((what, f"query:{query.kind.value}:{query.entity}"))
    for job in spec.jobs:
        said.append((f"job {job.name}: {job.kind.value} on schedule {job.schedule}", f"job:{job.name}"))
    unique = list(dict.fromkeys(said))
    return [
        Requirement(id=f"R{i}", text=text, implemented_by=feature)
        for i, (text, feature) in enumerate(unique, 1)
    ]


_SOUNDS_LIKE_Y = ("uni", "use", "usu", "uti", "ura", "ure", "euro", "eu", "one", "once")
_SILENT_H = ("hour", "honest", "honor", "honour", "heir")


def article(noun: str) -> str:
    """`a` or `an` before ``noun``, by its sound where the first letter misleads (a user, an hour)."""
    word = noun.strip().lower()
    if word.startswith(_SOUNDS_LIKE_Y):
        return "a"
    return "an" if word[:1] in ("a", "e", "i", "o", "u") or word.startswith(_SILENT_H) else "a"


def describe_field(entity: EntitySpec, f: FieldSpec) -> str:
    parts = []
    if f.choices:
        parts.append(f"is one of {', '.join(f.choices)}")
    if f.min is not None and f.max is not None:
        parts.append(f"is between {f.min:g} and {f.max:g}")
    elif f.min is not None:
        parts.append(f"is at least {f.min:g}")
    elif f.max is not None:
        parts.append(f"is at most {f.max:g}")
    if f.type in (FieldType.EMAIL, FieldType.URL):
        parts.append(f"is a valid {'e-mail address' if f.type is FieldType.EMAIL else 'URL'}")
    if f.default is not None:
        parts.append(f"defaults to {f.default}")
    if f.unique:
        parts.append("is unique")
    return f"{article(entity.name)} {entity.name}'s {f.name.replace('_', ' ')} {' and '.join(parts)}"


def describe_rule(rule: Any) -> str:
    if rule.kind is RuleKind.LIMIT:
        return f"{article(rule.parent)} {rule.parent} takes at most its {rule.field} of {rule.entity} rows"
    if rule.kind is RuleKind.TRANSITIONS:
        moves = "; ".join(f"{k} → {', '.join(v) or 'none'}" for k, v in rule.transitions.items())
        return f"{article(rule.entity)} {rule.entity}'s {rule.field} moves only {moves}"
    return f"{article(rule.entity)} {rule.entity}'s {rule.after} is after its {rule.before}"


def attach_checks(spec: BuildSpec) -> BuildSpec:
    """The spec with requirements (derived if it has none), each with checks or a reason it has none."""
    requirements = spec.requirements or derive_requirements(spec)
    done: list[Requirement] = []
    for requirement in requirements:
        if requirement.status is RequirementStatus.NOT_IMPLEMENTED:
            done.append(requirement)
            continue
        if requirement.checks and not requirement.implemented_by:
            # Checks stated for something no template renders (a conversion, a relay): code must be
            # written for them first — by the crew, with a model — so they are not run against the skeleton.
            done.append(
                requirement.model_copy(
                    update={"status": RequirementStatus.NOT_IMPLEMENTED, "reason": UNWRITTEN}
                )
            )
            continue
        if requirement.checks:
            done.append(requirement)
            continue
        feature = requirement.implemented_by or ""
        parts = [p.strip() for p in feature.split(",") if p.strip()]
        reasons = [r for r in (_unsupported(spec, p) for p in parts) if r]
        reason = reasons[0] if reasons else None if parts else "nothing in the spec implements it"
        found = [checks_for(spec, p) for p in parts]
        checks = [] if reason or not all(found) else [c for group in found for c in group]
        if not checks and not reason:
            reason = f"{feature!r} is not a feature of this spec, so nothing implements it"
        if reason:
            done.append(
                requirement.model_copy(update={"status": RequirementStatus.NOT_IMPLEMENTED, "reason": reason})
            )
        else:
            done.append(
                requirement.model_copy(
                    update={"checks": checks, "status": RequirementStatus.PENDING, "checks_derived": True}
                )
            )
    return spec.model_copy(update={"requirements": done})
