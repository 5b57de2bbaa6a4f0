"""What the code templates see: the spec turned into ready-made Python, SQL and test fragments.

Templates stay declarative when every type name, column type, pydantic constraint and sample value
is computed here once, from the spec, rather than spelled out with conditionals in each template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baton.workflows.builder._naming import pascal, title
from baton.workflows.builder.spec import BuildSpec, EntitySpec, FieldSpec, FieldType, JobSpec

_PY = {
    FieldType.STRING: "str",
    FieldType.TEXT: "str",
    FieldType.EMAIL: "str",
    FieldType.INTEGER: "int",
    FieldType.FLOAT: "float",
    FieldType.BOOLEAN: "bool",
    FieldType.DATE: "dt.date",
    FieldType.DATETIME: "dt.datetime",
}
_SAMPLE_UPDATE = {
    FieldType.STRING: '"Changed"',
    FieldType.TEXT: '"Changed text"',
    FieldType.EMAIL: '"changed@example.com"',
    FieldType.INTEGER: "42",
    FieldType.FLOAT: "42.5",
    FieldType.BOOLEAN: "False",
    FieldType.DATE: '"2026-02-01"',
    FieldType.DATETIME: '"2026-02-01T09:30:00"',
}


@dataclass(frozen=True)
class FieldView:
    name: str
    type: str
    required: bool
    unique: bool
    py_type: str
    sa_type: str
    constraints: str  # keyword arguments of pydantic's Field(), without the default
    sample: str  # a Python expression using `n`, valid as JSON once evaluated
    sample_update: str
    sample_python: str  # the same value as a Python object (dates as dt.date)


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

    @property
    def required_names(self) -> list[str]:
        return [f.name for f in self.fields if f.required] + [
            p.foreign_key for p in self.parents if p.required
        ]

    @property
    def update_field(self) -> FieldView:
        return self.fields[0]


@dataclass(frozen=True)
class JobView:
    name: str
    kind: str
    schedule: str
    entity: EntityView | None
    field: str | None


def _max_length(spec_field: FieldSpec) -> int:
    if spec_field.type is FieldType.EMAIL:
        return 320
    if spec_field.type is FieldType.TEXT:
        return spec_field.max_length or 10000
    return spec_field.max_length or 200


def _sa_type(spec_field: FieldSpec) -> str:
    return {
        FieldType.STRING: f"String({_max_length(spec_field)})",
        FieldType.EMAIL: "String(320)",
        FieldType.TEXT: "Text",
        FieldType.INTEGER: "Integer",
        FieldType.FLOAT: "Float",
        FieldType.BOOLEAN: "Boolean",
        FieldType.DATE: "Date",
        FieldType.DATETIME: "DateTime(timezone=True)",
    }[spec_field.type]


def _constraints(spec_field: FieldSpec) -> str:
    if spec_field.type is FieldType.EMAIL:
        return "max_length=320, pattern=EMAIL_PATTERN"
    if spec_field.type in (FieldType.STRING, FieldType.TEXT):
        minimum = "min_length=1, " if spec_field.required else ""
        return f"{minimum}max_length={_max_length(spec_field)}"
    return ""


def _samples(spec_field: FieldSpec) -> tuple[str, str]:
    label = title(spec_field.name)
    room = max(_max_length(spec_field) - 4, 1)
    kind = spec_field.type
    if kind in (FieldType.STRING, FieldType.TEXT):
        text = label[:room]
        return f'f"{text} {{n}}"', f'f"{text} {{n}}"'
    if kind is FieldType.EMAIL:
        return 'f"user{n}@example.com"', 'f"user{n}@example.com"'
    if kind is FieldType.INTEGER:
        return "n", "n"
    if kind is FieldType.FLOAT:
        return "n + 0.5", "n + 0.5"
    if kind is FieldType.BOOLEAN:
        return "True", "True"
    if kind is FieldType.DATE:
        return '"2026-01-15"', "dt.date(2026, 1, 15)"
    return '"2026-01-15T10:00:00"', "dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)"


def _field_view(spec_field: FieldSpec) -> FieldView:
    sample, sample_python = _samples(spec_field)
    return FieldView(
        name=spec_field.name,
        type=spec_field.type.value,
        required=spec_field.required,
        unique=spec_field.unique,
        py_type=_PY[spec_field.type],
        sa_type=_sa_type(spec_field),
        constraints=_constraints(spec_field),
        sample=sample,
        sample_update=_SAMPLE_UPDATE[spec_field.type],
        sample_python=sample_python,
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
        )
        for relation in spec.relations:
            if relation.child == entity.name:
                parent = spec.entity(relation.parent)
                view.parents.append(_relation_view(spec, parent, relation.foreign_key, relation.required))
            if relation.parent == entity.name:
                child = spec.entity(relation.child)
                view.children.append(_relation_view(spec, child, relation.foreign_key, relation.required))
        views.append(view)
    return views


def template_context(spec: BuildSpec) -> dict[str, Any]:
    """Everything the code, infrastructure and docs templates may use."""
    entities = entity_views(spec)
    by_name = {e.name: e for e in entities}
    jobs = [_job_view(job, by_name) for job in spec.jobs]
    types = {f.type for e in entities for f in e.fields}
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
        "uses_dates": bool(types & {"date", "datetime"}),
        "uses_email": "email" in types,
    }


def _job_view(job: JobSpec, by_name: dict[str, EntityView]) -> JobView:
    return JobView(
        name=job.name,
        kind=job.kind.value,
        schedule=job.schedule,
        entity=by_name.get(job.entity or ""),
        field=job.field,
    )
