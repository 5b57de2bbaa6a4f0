"""What the code templates see: the spec turned into ready-made Python, SQL and test fragments.

Templates stay declarative when every type name, column type, pydantic constraint and sample value
is computed here once, from the spec, rather than spelled out with conditionals in each template.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from baton.workflows.builder._naming import pascal, title
from baton.workflows.builder.spec import (
    BuildSpec,
    EntitySpec,
    FieldSpec,
    FieldType,
    JobSpec,
    QueryKind,
    RuleKind,
    Stack,
)

_PY = {
    FieldType.STRING: "str",
    FieldType.TEXT: "str",
    FieldType.EMAIL: "str",
    FieldType.URL: "str",
    FieldType.ENUM: "str",
    FieldType.INTEGER: "int",
    FieldType.FLOAT: "float",
    FieldType.DECIMAL: "Decimal",
    FieldType.BOOLEAN: "bool",
    FieldType.DATE: "dt.date",
    FieldType.DATETIME: "dt.datetime",
}
_SCHEMA_PY = {**_PY, FieldType.DECIMAL: "Money", FieldType.DATETIME: "DateTimeUTC"}
_SAMPLE_UPDATE = {
    FieldType.STRING: '"Changed"',
    FieldType.TEXT: '"Changed text"',
    FieldType.EMAIL: '"changed@example.com"',
    FieldType.URL: '"https://example.com/changed"',
    FieldType.INTEGER: "42",
    FieldType.FLOAT: "42.5",
    FieldType.DECIMAL: "42.5",
    FieldType.BOOLEAN: "False",
    FieldType.DATE: '"2026-02-01"',
    FieldType.DATETIME: '"2026-02-01T09:30:00Z"',
}


@dataclass(frozen=True)
class FieldView:
    name: str
    type: str
    required: bool
    unique: bool
    py_type: str  # in the pydantic bodies (an enum is a Literal)
    orm_type: str  # in the SQLAlchemy model
    sa_type: str
    constraints: str  # keyword arguments of pydantic's Field(), without the default
    sample: str  # a Python expression using `n`, valid as JSON once evaluated
    sample_update: str
    sample_python: str  # the same value as a Python object (dates as dt.date)
    default: str | None  # a Python literal, or None when a create body must give the field
    choices: list[str] = field(default_factory=list)
    filterable: bool = False  # GET /<plural>?<name>= filters by it (enums)


@dataclass(frozen=True)
class RelationView:
    name: str  # the other entity
    plural: str
    class_name: str
    foreign_key: str
    required: bool
    label: str


@dataclass
class EntityView:
    name: str
    plural: str
    class_name: str
    label: str
    fields: list[FieldView]
    parents: list[RelationView] = field(default_factory=list)
    children: list[RelationView] = field(default_factory=list)
    unique_together: list[list[str]] = field(default_factory=list)
    limits: list[LimitView] = field(default_factory=list)
    transitions: list[TransitionView] = field(default_factory=list)
    orderings: list[tuple[str, str]] = field(default_factory=list)  # (before, after)
    latest: tuple[str, str] | None = None  # (key, by): GET /<plural>/latest
    counted_by: list[RelationView] = field(default_factory=list)  # parents with GET …/<plural>/count

    @property
    def required_names(self) -> list[str]:
        return [f.name for f in self.fields if f.required and f.default is None] + [
            p.foreign_key for p in self.parents if p.required
        ]

    @property
    def not_null_names(self) -> list[str]:
        return [f.name for f in self.fields if f.required] + [
            p.foreign_key for p in self.parents if p.required
        ]

    @property
    def update_field(self) -> FieldView | None:
        """The field the generated update test changes: a plain one, free of rules, if there is one."""
        ruled = {t.field for t in self.transitions} | {n for pair in self.orderings for n in pair}
        ruled |= {n for group in self.unique_together for n in group}
        free = [f for f in self.fields if f.name not in ruled and not f.unique]
        plain = [f for f in free if f.type in ("string", "text")]
        chosen = plain or free
        return chosen[0] if chosen else None

    @property
    def filter_spec(self) -> str:
        """The filters as a Python dict literal: name → None (an id) or the tuple of its choices."""
        items = [f'"{p.foreign_key}": None' for p in self.parents]
        items += [
            f'"{f.name}": (' + "".join(f'"{c}", ' for c in f.choices) + ")"
            for f in self.fields
            if f.filterable
        ]
        return "{" + ", ".join(items) + "}"

    @property
    def filters(self) -> list[str]:
        return [p.foreign_key for p in self.parents] + [f.name for f in self.fields if f.filterable]


@dataclass(frozen=True)
class LimitView:
    parent: RelationView
    field: str  # the parent's number the children count against


@dataclass(frozen=True)
class TransitionView:
    field: str
    allowed: dict[str, list[str]]


@dataclass(frozen=True)
class JobView:
    name: str
    kind: str
    schedule: str
    entity: EntityView | None
    field: str | None
    # fetch jobs: the default source (APP_<NAME>_URL), entity field → source key, the upsert key
    source_url: str = ""
    mapping: dict[str, str] = dataclasses.field(default_factory=dict)
    key: str = ""
    timeout_s: float = 10.0
    retries: int = 3


def _max_length(spec_field: FieldSpec) -> int:
    if spec_field.type is FieldType.EMAIL:
        return 320
    if spec_field.type is FieldType.URL:
        return 2000
    if spec_field.type is FieldType.ENUM:
        return max(len(c) for c in spec_field.choices)
    if spec_field.type is FieldType.TEXT:
        return spec_field.max_length or 10000
    return spec_field.max_length or 200


def _sa_type(spec_field: FieldSpec) -> str:
    return {
        FieldType.STRING: f"String({_max_length(spec_field)})",
        FieldType.EMAIL: "String(320)",
        FieldType.URL: "String(2000)",
        FieldType.ENUM: f"String({_max_length(spec_field)})",
        FieldType.TEXT: "Text",
        FieldType.INTEGER: "Integer",
        FieldType.FLOAT: "Float",
        FieldType.DECIMAL: "Numeric(14, 2)",
        FieldType.BOOLEAN: "Boolean",
        FieldType.DATE: "Date",
        FieldType.DATETIME: "UTCDateTime",
    }[spec_field.type]


def _number(value: float, kind: FieldType) -> str:
    return str(int(value)) if kind is FieldType.INTEGER else repr(float(value))


def _constraints(spec_field: FieldSpec) -> str:
    kind = spec_field.type
    if kind is FieldType.EMAIL:
        return "max_length=320, pattern=EMAIL_PATTERN"
    if kind is FieldType.URL:
        return "max_length=2000, pattern=URL_PATTERN"
    if kind in (FieldType.STRING, FieldType.TEXT):
        least = spec_field.min_length if spec_field.min_length is not None else int(spec_field.required)
        minimum = f"min_length={least}, " if least else ""
        return f"{minimum}max_length={_max_length(spec_field)}"
    bounds = []
    if spec_field.min is not None:
        bounds.append(f"ge={_number(spec_field.min, kind)}")
    if spec_field.max is not None:
        bounds.append(f"le={_number(spec_field.max, kind)}")
    if kind is FieldType.DECIMAL:
        bounds.append("max_digits=14, decimal_places=2")
    return ", ".join(bounds)


def _bounded_sample(spec_field: FieldSpec) -> str | None:
    low, high = spec_field.min, spec_field.max
    if low is None and high is None:
        return None
    if low is not None and high is not None:
        middle = (low + high) / 2
    else:
        middle = (
            low + 1 if low is not None else min(high or 0.0, 1.0)
        )  # a capacity of 0 would refuse every child
    value = float(middle)
    if spec_field.type is FieldType.INTEGER:
        return str(int(value))
    return repr(round(value, 2))


def _samples(spec_field: FieldSpec) -> tuple[str, str]:
    label = title(spec_field.name)
    room = max(_max_length(spec_field) - 4, 1)
    kind = spec_field.type
    if kind in (FieldType.STRING, FieldType.TEXT):
        text = label[:room]
        pad = "x" * max((spec_field.min_length or 0) - len(text) - 2, 0)
        return f'f"{text}{pad} {{n}}"', f'f"{text}{pad} {{n}}"'
    if kind is FieldType.EMAIL:
        return 'f"user{n}@example.com"', 'f"user{n}@example.com"'
    if kind is FieldType.URL:
        return 'f"https://example.com/{n}"', 'f"https://example.com/{n}"'
    if kind is FieldType.ENUM:
        return f'"{spec_field.choices[0]}"', f'"{spec_field.choices[0]}"'
    bounded = _bounded_sample(spec_field)
    if kind is FieldType.INTEGER:
        return bounded or "n", bounded or "n"
    if kind in (FieldType.FLOAT, FieldType.DECIMAL):
        return bounded or "n + 0.5", bounded or "n + 0.5"
    if kind is FieldType.BOOLEAN:
        return "True", "True"
    if kind is FieldType.DATE:
        return '"2026-01-15"', "dt.date(2026, 1, 15)"
    return '"2026-01-15T10:00:00Z"', "dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)"


def _sample_update(spec_field: FieldSpec) -> str:
    if spec_field.type is FieldType.ENUM:
        return f'"{spec_field.choices[-1]}"'
    bounded = _bounded_sample(spec_field)
    if bounded is not None:
        return bounded
    return _SAMPLE_UPDATE[spec_field.type]


def _field_view(spec_field: FieldSpec) -> FieldView:
    sample, sample_python = _samples(spec_field)
    return FieldView(
        name=spec_field.name,
        type=spec_field.type.value,
        required=spec_field.required,
        unique=spec_field.unique,
        py_type=(
            "Literal[" + ", ".join(f'"{c}"' for c in spec_field.choices) + "]"
            if spec_field.type is FieldType.ENUM
            else _SCHEMA_PY[spec_field.type]
        ),
        orm_type=_PY[spec_field.type],
        sa_type=_sa_type(spec_field),
        constraints=_constraints(spec_field),
        sample=sample,
        sample_update=_sample_update(spec_field),
        sample_python=sample_python,
        default=None if spec_field.default is None else repr(spec_field.default),
        choices=list(spec_field.choices),
        filterable=spec_field.type is FieldType.ENUM,
    )


def _relation_view(spec: BuildSpec, other: EntitySpec, foreign_key: str, required: bool) -> RelationView:
    return RelationView(
        name=other.name,
        plural=other.plural_name,
        class_name=pascal(other.name),
        foreign_key=foreign_key,
        required=required,
        label=other.label,
    )


def entity_views(spec: BuildSpec) -> list[EntityView]:
    """The entities, parents first, each with its fields, parents and children."""
    views: list[EntityView] = []
    for entity in spec.ordered_entities():
        view = EntityView(
            name=entity.name,
            plural=entity.plural_name,
            class_name=entity.class_name,
            label=entity.label,
            fields=[_field_view(f) for f in entity.fields],
            unique_together=[list(group) for group in entity.unique_together],
        )
        for relation in spec.relations:
            if relation.child == entity.name:
                parent = spec.entity(relation.parent)
                view.parents.append(_relation_view(spec, parent, relation.foreign_key, relation.required))
            if relation.parent == entity.name:
                child = spec.entity(relation.child)
                view.children.append(_relation_view(spec, child, relation.foreign_key, relation.required))
        views.append(view)
    _attach_rules(spec, {v.name: v for v in views})
    return views


def view_field_type(view: EntityView, name: str) -> str:
    return next((f.type for f in view.fields if f.name == name), "")


def _attach_rules(spec: BuildSpec, by_name: dict[str, EntityView]) -> None:
    for rule in spec.rules:
        view = by_name[rule.entity]
        if rule.kind is RuleKind.LIMIT:
            parent = next(p for p in view.parents if p.name == rule.parent)
            view.limits.append(LimitView(parent=parent, field=rule.field or ""))
        elif rule.kind is RuleKind.TRANSITIONS:
            view.transitions.append(TransitionView(field=rule.field or "", allowed=dict(rule.transitions)))
        else:
            view.orderings.append((rule.before or "", rule.after or ""))
        if rule.kind is RuleKind.ORDERING:
            later = {"date": ('"2026-01-20"', "dt.date(2026, 1, 20)")}.get(
                view_field_type(view, rule.after or ""),
                ('"2026-01-20T10:00:00Z"', "dt.datetime(2026, 1, 20, 10, 0, tzinfo=dt.UTC)"),
            )
            view.fields = [
                dataclasses.replace(f, sample=later[0], sample_python=later[1]) if f.name == rule.after else f
                for f in view.fields
            ]
    for query in spec.queries:
        view = by_name[query.entity]
        if query.kind is QueryKind.LATEST:
            view.latest = (query.key or "", query.by or "")
        else:
            view.counted_by.append(next(p for p in view.parents if p.name == query.parent))


def template_context(spec: BuildSpec) -> dict[str, Any]:
    """Everything the code, infrastructure and docs templates may use."""
    entities = entity_views(spec)
    by_name = {e.name: e for e in entities}
    all_jobs = [_job_view(job, by_name) for job in spec.jobs]
    # fetch jobs are rendered on FastAPI (app/fetch.py); the timer jobs of Functions are the others
    jobs = [j for j in all_jobs if j.kind != "fetch"]
    fetch_jobs = [j for j in all_jobs if j.kind == "fetch"] if spec.stack is Stack.FASTAPI else []
    types = {f.type for e in entities for f in e.fields}
    orm_types = {f.sa_type.split("(")[0] for e in entities for f in e.fields}
    return {
        "spec": spec,
        "project": spec.name,
        "title": spec.title,
        "description": spec.description,
        "stack": spec.stack.value,
        "auth": spec.auth.value,
        "api_key_auth": spec.auth.value == "api_key",
        "entities": entities,
        "jobs": jobs,
        "fetch_jobs": fetch_jobs,
        "fetch_hosts": sorted({urlsplit(j.source_url).hostname or "" for j in fetch_jobs} - {""}),
        "uses_dates": bool(types & {"date", "datetime"}),
        "uses_email": "email" in types,
        "uses_url": "url" in types,
        "uses_decimal": "decimal" in types,
        "uses_enum": "enum" in types,
        "orm_types": sorted(orm_types),
    }


def _job_view(job: JobSpec, by_name: dict[str, EntityView]) -> JobView:
    return JobView(
        name=job.name,
        kind=job.kind.value,
        schedule=job.schedule,
        entity=by_name.get(job.entity or ""),
        field=job.field,
        source_url=job.source_url or "",
        mapping=dict(job.mapping),
        key=job.key or "",
        timeout_s=job.timeout_s,
        retries=job.retries,
    )
