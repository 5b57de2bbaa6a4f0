"""The build spec: what a generated service is — its entities, relations, auth, stack and Azure plan.

The spec is the one contract between the stages. The architecture stage produces it (from a spec
file, or from an idea in plain words), the repository stage writes it as ``spec.yaml`` so that a user
can edit it and rebuild, and every later stage renders from it. :func:`validate_spec` turns a raw
mapping into a :class:`BuildSpec` and names the first bad field with what to do about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from baton.core.errors import InvalidInputError
from baton.workflows.builder._naming import name_problem, pascal, plural, title
from baton.workflows.builder._spec_checks import (
    check_field,
    check_queries,
    check_requirements,
    check_rules,
    check_unique_together,
)


class Stack(StrEnum):
    FASTAPI = "fastapi"  # a REST API served by uvicorn
    FLASK = "flask"  # a small web app: JSON API plus an HTML index
    FUNCTIONS = "functions"  # Azure Functions, Python v2 model: HTTP and timer triggers


class Environment(StrEnum):
    DEV = "dev"  # cheapest SKUs, deployed from `develop`
    STAGING = "staging"  # production-like SKUs, deployed from `main`
    PROD = "prod"  # premium, geo-redundant; deploys need an approval


class AuthScheme(StrEnum):
    API_KEY = "api_key"  # every route but /health needs the X-API-Key header
    NONE = "none"  # open API (only for throw-away prototypes)


class FieldType(StrEnum):
    STRING = "string"  # short text, at most `max_length` characters
    TEXT = "text"  # long text
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"  # money: exact, two decimal places, read back as a JSON number
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"  # stored in UTC, read back with its zone
    EMAIL = "email"  # a string checked against an address pattern
    URL = "url"  # an http(s) URL
    ENUM = "enum"  # one of `choices`


NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.FLOAT, FieldType.DECIMAL})
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
DATE_TYPES = frozenset({FieldType.DATE, FieldType.DATETIME})


class JobKind(StrEnum):
    SUMMARY = "summary"  # counts the rows of every entity and logs them
    CLEANUP = "cleanup"  # deletes rows of `entity` whose `field` lies in the past
    FETCH = "fetch"  # fetches JSON rows from an HTTP source and upserts them into `entity` by `key`


class RuleKind(StrEnum):
    LIMIT = "limit"  # the children of a parent are at most the parent's `field` (a room's capacity)
    TRANSITIONS = "transitions"  # an enum `field` moves only along `transitions` (a state machine)
    ORDERING = "ordering"  # date field `after` is later than date field `before` (check-out after check-in)


class QueryKind(StrEnum):
    LATEST = "latest"  # the newest row of `entity` per value of `key`, by `by`: GET /<plural>/latest
    COUNT = "count"  # how many `entity` rows each parent has: GET /<parents>/{id}/<plural>/count


class RequirementStatus(StrEnum):
    PENDING = "pending"  # implemented, its checks not run yet
    HONOURED = "honoured"  # every acceptance check passed against the running service
    NOT_IMPLEMENTED = "not_implemented"  # nothing implements it; `reason` says why
    FAILED = "failed"  # a check ran and failed; `reason` says which and how


_STRICT = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(BaseModel):
    model_config = _STRICT

    name: str
    type: FieldType = FieldType.STRING
    required: bool = True
    unique: bool = False
    max_length: int | None = Field(default=None, ge=1, le=10000, description="strings only; 200 if unset")
    min_length: int | None = Field(default=None, ge=0, le=10000, description="strings only")
    min: float | None = Field(default=None, description="numbers only: the smallest allowed value")
    max: float | None = Field(default=None, description="numbers only: the largest allowed value")
    choices: list[str] = Field(default_factory=list, description="enum only: the allowed values")
    default: Any = Field(default=None, description="the value when a create body leaves the field out")


class EntitySpec(BaseModel):
    model_config = _STRICT

    name: str = Field(description="singular snake_case noun, e.g. `book`")
    plural: str | None = Field(default=None, description="defaults to the English plural of `name`")
    fields: list[FieldSpec] = Field(default_factory=list)
    unique_together: list[list[str]] = Field(
        default_factory=list, description="sets of fields (or foreign keys) unique as a combination"
    )

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def plural_name(self) -> str:
        return self.plural or plural(self.name)

    @property
    def class_name(self) -> str:
        return pascal(self.name)

    @property
    def label(self) -> str:
        return title(self.name)


class RelationSpec(BaseModel):
    """One-to-many: a ``parent`` has many ``child`` rows; the child holds ``<parent>_id``."""

    model_config = _STRICT

    parent: str
    child: str
    required: bool = True

    @property
    def foreign_key(self) -> str:
        return f"{self.parent}_id"


class JobSpec(BaseModel):
    model_config = _STRICT

    name: str
    kind: JobKind = JobKind.SUMMARY
    schedule: str = Field(default="0 0 * * * *", description="NCRONTAB: second minute hour day month weekday")
    entity: str | None = None
    field: str | None = None
    source_url: str | None = Field(default=None, description="fetch: the default URL (APP_<JOB>_URL)")
    mapping: dict[str, str] = Field(default_factory=dict, description="fetch: entity field → source key")
    key: str | None = Field(default=None, description="fetch: the field rows are upserted by")
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="fetch: per request")
    retries: int = Field(default=3, ge=0, le=10, description="fetch: attempts after the first")


class RuleSpec(BaseModel):
    """A business rule the service layer enforces; a broken rule is a 409 (or 422) naming it."""

    model_config = _STRICT

    kind: RuleKind
    entity: str = Field(description="the entity whose writes the rule checks")
    parent: str | None = Field(default=None, description="limit: the parent the children count against")
    field: str | None = Field(default=None, description="limit: the parent's number; transitions: the enum")
    transitions: dict[str, list[str]] = Field(default_factory=dict, description="status → allowed next")
    before: str | None = Field(default=None, description="ordering: the earlier date field")
    after: str | None = Field(default=None, description="ordering: the later date field")


class QuerySpec(BaseModel):
    model_config = _STRICT

    kind: QueryKind
    entity: str
    key: str | None = Field(default=None, description="latest: the field or foreign key to group by")
    by: str | None = Field(default=None, description="latest: the date field that orders the rows")
    parent: str | None = Field(default=None, description="count: the parent entity")


class AcceptanceCheck(BaseModel):
    """One HTTP request against the running service and what must come back.

    Strings in ``path`` and ``body`` may hold ``{name.field}`` (a field of the response saved by an
    earlier check as ``save_as``) and ``{uniq}`` (a token unique to this run); a string that is only a
    placeholder takes the value's type.
    """

    model_config = _STRICT

    name: str = ""
    method: str = "GET"
    path: str
    body: Any = None
    params: dict[str, Any] = Field(default_factory=dict)
    expect_status: int = 200
    expect_fields: dict[str, Any] = Field(default_factory=dict, description="top-level fields of the body")
    expect_text: str | None = Field(default=None, description="a phrase the response text contains")
    expect_count: int | None = Field(default=None, description="`total` (or length) of a list response")
    save_as: str | None = None


class Requirement(BaseModel):
    """A statement of the idea, in the user's words, what implements it and how it is checked."""

    model_config = _STRICT

    id: str = Field(description="R1, R2, …")
    text: str
    status: RequirementStatus = RequirementStatus.PENDING
    implemented_by: str | None = Field(
        default=None, description="the spec feature, e.g. `relation:owner>pet`"
    )
    reason: str | None = None
    checks: list[AcceptanceCheck] = Field(default_factory=list)
    checks_derived: bool = Field(
        default=False, description="the checks were derived from implemented_by (spec.yaml leaves them out)"
    )


class EnvironmentPlan(BaseModel):
    model_config = _STRICT

    app_service_sku: str
    sql_sku: str
    sql_geo_redundant: bool = False
    storage_sku: str = "Standard_LRS"
    instances: int = Field(default=1, ge=1, le=30)


DEFAULT_PLANS: dict[Environment, EnvironmentPlan] = {
    Environment.DEV: EnvironmentPlan(app_service_sku="B1", sql_sku="Basic"),
    Environment.STAGING: EnvironmentPlan(app_service_sku="S1", sql_sku="S0", storage_sku="Standard_ZRS"),
    Environment.PROD: EnvironmentPlan(
        app_service_sku="P1v2", sql_sku="P1", sql_geo_redundant=True, storage_sku="Standard_GZRS", instances=2
    ),
}
FUNCTIONS_PLANS: dict[Environment, EnvironmentPlan] = {
    Environment.DEV: EnvironmentPlan(app_service_sku="Y1", sql_sku="Basic"),
    Environment.STAGING: EnvironmentPlan(app_service_sku="EP1", sql_sku="S0", storage_sku="Standard_ZRS"),
    Environment.PROD: EnvironmentPlan(
        app_service_sku="EP2", sql_sku="P1", sql_geo_redundant=True, storage_sku="Standard_GZRS", instances=2
    ),
}


class AzurePlan(BaseModel):
    model_config = _STRICT

    region: str = "westeurope"
    services: list[str] = Field(default_factory=list)
    environments: dict[Environment, EnvironmentPlan] = Field(default_factory=dict)


def default_azure_plan(stack: Stack) -> AzurePlan:
    compute = "Azure Functions" if stack is Stack.FUNCTIONS else "App Service (Linux)"
    services = [compute, "Azure SQL Database", "Key Vault", "Application Insights", "Log Analytics"]
    if stack is Stack.FUNCTIONS:
        services.insert(1, "Storage account")
    plans = FUNCTIONS_PLANS if stack is Stack.FUNCTIONS else DEFAULT_PLANS
    return AzurePlan(services=services, environments=dict(plans))


class BuildSpec(BaseModel):
    """Everything the later stages need to generate, test, deploy and document a service."""

    model_config = _STRICT

    name: str = Field(description="project slug: lowercase words joined by hyphens")
    title: str
    description: str = ""
    stack: Stack = Stack.FASTAPI
    environment: Environment = Environment.DEV
    auth: AuthScheme = AuthScheme.API_KEY
    entities: list[EntitySpec] = Field(
        default_factory=list,
        description="the things the service keeps; none for a computation service (then `requirements` "
        "say what it computes, each with its acceptance checks)",
    )
    relations: list[RelationSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)
    queries: list[QuerySpec] = Field(default_factory=list)
    jobs: list[JobSpec] = Field(default_factory=list)
    requirements: list[Requirement] = Field(default_factory=list)
    azure: AzurePlan = Field(default_factory=AzurePlan)
    assumptions: list[str] = Field(default_factory=list)

    @property
    def package_name(self) -> str:
        return self.name.replace("-", "_")

    def entity(self, name: str) -> EntitySpec:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(name)

    def parents_of(self, child: str) -> list[RelationSpec]:
        return [r for r in self.relations if r.child == child]

    def ordered_entities(self) -> list[EntitySpec]:
        """Parents before children, so tables and fixtures can be created in this order."""
        done: list[str] = []
        pending = [e.name for e in self.entities]
        while pending:
            ready = [n for n in pending if all(r.parent in done for r in self.parents_of(n))]
            if not ready:  # a cycle: the validator reports it
                break
            done += ready
            pending = [n for n in pending if n not in ready]
        return [self.entity(n) for n in done]

    @model_validator(mode="before")
    @classmethod
    def _default_plan(cls, raw: Any) -> Any:
        """A spec that names no Azure plan (or no environments) gets the stack's default plan."""
        if isinstance(raw, dict):
            azure = raw.get("azure")
            plan = azure.model_dump() if isinstance(azure, AzurePlan) else azure
            if not plan or not plan.get("environments"):
                try:
                    stack = Stack(raw.get("stack", Stack.FASTAPI))
                except ValueError:
                    return raw  # the field validation names the bad stack
                default = default_azure_plan(stack).model_dump()
                raw = {**raw, "azure": {**default, **{k: v for k, v in (plan or {}).items() if v}}}
        return raw

    @model_validator(mode="after")
    def _check(self) -> BuildSpec:
        _check_spec(self)
        return self


def _fail(field: str, message: str, hint: str = "fix it in spec.yaml and build again") -> InvalidInputError:
    return InvalidInputError(message, fields={field: message}, hint=hint)


def _check_entities(spec: BuildSpec) -> None:
    if not spec.entities and not spec.requirements:
        raise _fail(
            "entities",
            "the spec has no entities and no requirements",
            "add at least one entity with its fields, or the requirements of a service that keeps nothing "
            "(a calculator, a converter, a relay) with their acceptance checks",
        )
    if len(spec.entities) > 20:
        raise _fail("entities", f"the spec has {len(spec.entities)} entities; at most 20 are supported")
    seen: set[str] = set()
    for i, entity in enumerate(spec.entities):
        where = f"entities[{i}].name"
        problem = name_problem(entity.name, kind="entity")
        if problem:
            raise _fail(where, problem)
        if entity.plural is not None and name_problem(entity.plural, kind="entity"):
            raise _fail(
                f"entities[{i}].plural",
                f"plural {entity.plural!r}: {name_problem(entity.plural, kind='entity')}",
            )
        if entity.name in seen or entity.plural_name in seen:
            raise _fail(where, f"entity {entity.name!r} is declared twice")
        seen |= {entity.name, entity.plural_name}
        names: set[str] = set()
        for j, field in enumerate(entity.fields):
            problem = name_problem(field.name, kind="field")
            if problem:
                raise _fail(f"entities[{i}].fields[{j}].name", f"entity {entity.name!r}: {problem}")
            if field.name in names:
                raise _fail(
                    f"entities[{i}].fields[{j}].name",
                    f"entity {entity.name!r} has field {field.name!r} twice",
                )
            names.add(field.name)
            check_field(f"entities[{i}].fields[{j}]", entity.name, field)


def _check_relations(spec: BuildSpec) -> None:
    names = {e.name for e in spec.entities}
    for i, relation in enumerate(spec.relations):
        for end in ("parent", "child"):
            value = getattr(relation, end)
            if value not in names:
                raise _fail(f"relations[{i}].{end}", f"relation {end} {value!r} is not an entity of the spec")
        if relation.parent == relation.child:
            raise _fail(f"relations[{i}]", f"entity {relation.parent!r} cannot be its own parent")
        child = spec.entity(relation.child)
        if relation.foreign_key in {f.name for f in child.fields}:
            raise _fail(
                f"relations[{i}]",
                f"entity {child.name!r} already has a field {relation.foreign_key!r}; the relation adds it",
                f"remove that field: the relation from {relation.parent!r} creates the foreign key",
            )
    pairs = [(r.parent, r.child) for r in spec.relations]
    if len(set(pairs)) != len(pairs):
        raise _fail("relations", "a relation is declared twice")
    if len(spec.ordered_entities()) != len(spec.entities):
        raise _fail("relations", "the relations form a cycle: an entity would be its own ancestor")
    for i, entity in enumerate(spec.entities):
        check_unique_together(i, entity, {r.foreign_key for r in spec.parents_of(entity.name)})


def _check_jobs(spec: BuildSpec) -> None:
    seen: set[str] = set()
    for i, job in enumerate(spec.jobs):
        problem = name_problem(job.name, kind="job")
        if problem or job.name in seen:
            raise _fail(f"jobs[{i}].name", problem or f"job {job.name!r} is declared twice")
        seen.add(job.name)
        if len(job.schedule.split()) != 6:
            raise _fail(
                f"jobs[{i}].schedule",
                f"schedule {job.schedule!r} is not NCRONTAB: "
                "it needs six fields (second minute hour day month weekday)",
            )
        if job.kind is JobKind.CLEANUP:
            entity = next((e for e in spec.entities if e.name == job.entity), None)
            if entity is None:
                raise _fail(
                    f"jobs[{i}].entity",
                    f"cleanup job {job.name!r} needs `entity`, one of the spec's entities",
                )
            field = next((f for f in entity.fields if f.name == job.field), None)
            if field is None or field.type not in (FieldType.DATE, FieldType.DATETIME):
                raise _fail(
                    f"jobs[{i}].field",
                    f"cleanup job {job.name!r} needs `field`, a date or datetime field of {entity.name!r}",
                )
        if job.kind is JobKind.FETCH:
            _check_fetch(spec, i, job)
    timers = [j for j in spec.jobs if j.kind is not JobKind.FETCH]
    if timers and spec.stack is not Stack.FUNCTIONS:
        raise _fail(
            "jobs", "scheduled jobs need the functions stack", "set `stack: functions` or remove the jobs"
        )
    if len(timers) < len(spec.jobs) and spec.stack is Stack.FLASK:
        raise _fail(
            "jobs", "fetch jobs need the fastapi stack", "set `stack: fastapi` or remove the fetch jobs"
        )


def _check_fetch(spec: BuildSpec, i: int, job: JobSpec) -> None:
    entity = next((e for e in spec.entities if e.name == job.entity), None)
    if entity is None:
        raise _fail(f"jobs[{i}].entity", f"fetch job {job.name!r} needs `entity`, one of the spec's entities")
    if not job.mapping:
        raise _fail(
            f"jobs[{i}].mapping", f"fetch job {job.name!r} needs `mapping`: entity field → source key"
        )
    for name in job.mapping:
        if entity.field(name) is None:
            raise _fail(
                f"jobs[{i}].mapping.{name}", f"fetch job {job.name!r}: {entity.name!r} has no field {name!r}"
            )
    if job.key not in job.mapping:
        raise _fail(f"jobs[{i}].key", f"fetch job {job.name!r} needs `key`, a mapped field to upsert by")
    unmapped = [
        f.name for f in entity.fields if f.required and f.default is None and f.name not in job.mapping
    ]
    if unmapped:  # no fetched row could ever be created
        raise _fail(f"jobs[{i}].mapping", f"fetch job {job.name!r} must map the required field(s) {unmapped}")
    parents = [r.parent for r in spec.relations if r.child == entity.name and r.required]
    if parents:
        raise _fail(
            f"jobs[{i}].entity",
            f"fetch job {job.name!r}: {entity.name!r} needs a {parents[0]!r}, which a fetched row cannot name",
        )
    if job.source_url is not None and not job.source_url.startswith(("http://", "https://")):
        raise _fail(f"jobs[{i}].source_url", f"fetch job {job.name!r}: source_url must be an http(s) URL")


def _check_spec(spec: BuildSpec) -> None:
    if not spec.name or not all(
        (part.isalnum() and part.islower()) or part.isdigit() for part in spec.name.split("-")
    ):
        raise _fail("name", f"project name {spec.name!r} must be lowercase words joined by hyphens")
    if not spec.name[0].isalpha() or len(spec.name) > 60:
        raise _fail(
            "name", f"project name {spec.name!r} must start with a letter and have at most 60 characters"
        )
    _check_entities(spec)
    _check_relations(spec)
    _check_jobs(spec)
    check_rules(spec)
    check_queries(spec)
    check_requirements(spec)


def validate_spec(raw: Mapping[str, Any], *, source: str = "spec") -> BuildSpec:
    """A :class:`BuildSpec` from a mapping; :class:`InvalidInputError` names the first bad field."""
    try:
        return BuildSpec.model_validate(dict(raw))
    except ValidationError as error:
        fields = {".".join(str(p) for p in e["loc"]) or "spec": e["msg"] for e in error.errors()}
        listed = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise InvalidInputError(
            f"{source} is not a valid build spec: {listed}",
            fields=fields,
            hint="fix these fields and build again",
        ) from None


def load_spec(path: Path) -> BuildSpec:
    """Read and validate a ``spec.yaml``; every problem is an :class:`InvalidInputError`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInputError(
            f"cannot read spec file {path}: {error.strerror}", hint="check the path"
        ) from None
    except yaml.YAMLError as error:
        raise InvalidInputError(
            f"spec file {path} is not valid YAML: {error}", hint="fix the YAML syntax"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidInputError(
            f"spec file {path} must hold a mapping (name, entities, …), not {type(raw).__name__}"
        )
    return validate_spec(raw, source=f"spec file {path}")


def dump_spec(spec: BuildSpec) -> str:
    """The spec as YAML, in field order, without derived values, ready for a user to edit."""
    data = spec.model_dump(mode="json", exclude_none=True)
    for requirement in data.get("requirements", []):
        # Derived checks are made again from `implemented_by` on every build, so they follow edits of
        # the spec; checks a user wrote stay.
        if requirement.pop("checks_derived", False):
            requirement.pop("checks", None)
    header = "# baton build spec: edit it and run `baton build --spec spec.yaml --force` to regenerate\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
