"""How much of each idea a build honours: the ideas of benchmarks/ideas.yaml, built end to end, offline.

    .venv/bin/python benchmarks/build_fidelity.py              # every idea
    .venv/bin/python benchmarks/build_fidelity.py --only hotel # one idea
    .venv/bin/python benchmarks/build_fidelity.py --markdown   # the table for the README

Each idea is built from its words alone (no model, no spec file) into a scratch directory, deployed
locally and checked by the build's own acceptance checks against the running service. The expected
requirements of ideas.yaml (written before the first run, by a person) are then matched with the
build's requirements:

- honoured: a requirement of the build that implements it ended `honoured`;
- reported: the build lists it as `not implemented` or `failed` (same feature, or quoting its phrase);
- missed: neither — the build dropped it silently.

Targets (issue 11): 0 crashes, ≥ 90% of the stated requirements honoured, 100% of the rest reported.
Figures are printed, never asserted; build times are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from baton.core.errors import BatonError
from baton.workflows.builder import BuildSpec, run_stages_locally, stop_service
from baton.workflows.builder.spec import Requirement, RequirementStatus

IDEAS = Path(__file__).with_name("ideas.yaml")


@dataclass
class Outcome:
    name: str
    built: str = "yes"
    seconds: float = 0.0
    stated: int = 0
    honoured: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    extra_reported: int = 0  # requirements the build left over that the person did not list
    crashed: bool = False


def _features(requirement: Requirement) -> set[str]:
    return {part.strip() for part in (requirement.implemented_by or "").split(",") if part.strip()}


def _field_matches(spec: BuildSpec, feature: str, expected: dict[str, Any]) -> bool:
    entity_name, _, name = feature.removeprefix("field:").partition(".")
    try:
        found = spec.entity(entity_name).field(name)
    except KeyError:
        return False
    if found is None:
        return False
    if "choices" in expected and list(found.choices) != list(expected["choices"]):
        return False
    if "bounds" in expected:
        low, high = expected["bounds"]
        return found.min == low and found.max == high
    return True


def _renamed(spec: BuildSpec, field_ref: str) -> str:
    """The field as the build named it: a name clashing with SQL or Python is renamed, as an assumption says."""
    entity, _, name = field_ref.partition(".")
    for assumption in spec.assumptions:
        if assumption.startswith(f"field '{name}' of {entity} ") and " named " in assumption:
            return f"{entity}.{assumption.rsplit(' named ', 1)[1]}"
    return field_ref


def covers(spec: BuildSpec, requirement: Requirement, expected: dict[str, Any]) -> bool:
    """Whether the build's ``requirement`` implements the person's ``expected`` one."""
    features = _features(requirement)
    if "entity" in expected:
        return f"entity:{expected['entity']}" in features
    if "relation" in expected:
        parent, child = expected["relation"]
        return f"relation:{parent}>{child}" in features
    if "link" in expected:
        left, right = expected["link"]
        links = {f.split(">")[1] for f in features if f.startswith(f"relation:{left}>")}
        return any(f"relation:{right}>{link}" in features for link in links)
    if "field" in expected:
        wanted = _renamed(spec, expected["field"])
        return f"field:{wanted}" in features and _field_matches(spec, f"field:{wanted}", expected)
    if "bounds" in expected:
        return any(f.startswith("field:") and _field_matches(spec, f, expected) for f in features)
    for kind in ("rule", "query"):
        if kind in expected:
            prefix = f"{kind}:{expected[kind]}:"
            wanted = expected.get("entity")
            return any(
                f.startswith(prefix) and (wanted is None or f.endswith(f":{wanted}")) for f in features
            )
    if "unique" in expected:
        return f"unique:{expected['unique']}" in features
    if "job" in expected:
        jobs = {j.name: j.kind.value for j in spec.jobs}
        return any(f.startswith("job:") and jobs.get(f[4:]) == expected["job"] for f in features)
    raise ValueError(f"unknown expectation {expected}")


def _quotes(requirement: Requirement, phrase: str | None) -> bool:
    if not phrase:
        return False
    said = requirement.text.lower().replace("-", " ").replace("_", " ")
    return phrase.lower().replace("-", " ") in said


def judge(
    name: str, spec: BuildSpec, requirements: list[Requirement], expect: list[dict[str, Any]]
) -> Outcome:
    outcome = Outcome(name=name, stated=len(expect))
    used: set[str] = set()
    for expected in expect:
        honoured = [
            r for r in requirements if r.status is RequirementStatus.HONOURED and covers(spec, r, expected)
        ]
        if honoured:
            outcome.honoured.append(expected["text"])
            used.update(r.id for r in honoured)
            continue
        left = [
            r
            for r in requirements
            if r.status is not RequirementStatus.HONOURED
            and (covers(spec, r, expected) or _quotes(r, expected.get("phrase")))
        ]
        if left:
            outcome.reported.append(
                f"{expected['text']} → {left[0].status.value}: {left[0].reason or ''}"[:160]
            )
            used.update(r.id for r in left)
        else:
            outcome.missed.append(expected["text"])
    outcome.extra_reported = sum(
        1 for r in requirements if r.status is not RequirementStatus.HONOURED and r.id not in used
    )
    return outcome


def build_one(item: dict[str, Any], scratch: Path) -> Outcome:
    out = scratch / item["name"]
    started = time.perf_counter()
    try:
        build = run_stages_locally({"idea": item["idea"], "out": str(out)})
    except BatonError as error:
        outcome = Outcome(
            name=item["name"], built=f"no: {str(error).splitlines()[0][:100]}", stated=len(item["expect"])
        )
        outcome.missed = [e["text"] for e in item["expect"]]
        return outcome
    except Exception:  # a crash is what this benchmark counts; it must not stop the others
        traceback.print_exc()
        outcome = Outcome(name=item["name"], built="CRASH", crashed=True, stated=len(item["expect"]))
        outcome.missed = [e["text"] for e in item["expect"]]
        return outcome
    finally:
        stop_service(out)
    outcome = judge(item["name"], build.architecture.spec, build.deploy.requirements, item["expect"])
    outcome.seconds = round(time.perf_counter() - started, 1)
    return outcome


def _table(outcomes: list[Outcome]) -> str:
    lines = [
        "| idea | built | honoured / stated | reported | missed | left over, unlisted | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        missed = "; ".join(o.missed) or "—"
        lines.append(
            f"| {o.name} | {o.built} | {len(o.honoured)}/{o.stated} | {len(o.reported)} | {missed} | "
            f"{o.extra_reported} | {o.seconds} |"
        )
    stated = sum(o.stated for o in outcomes)
    honoured = sum(len(o.honoured) for o in outcomes)
    reported = sum(len(o.reported) for o in outcomes)
    missed = sum(len(o.missed) for o in outcomes)
    crashes = sum(o.crashed for o in outcomes)
    rest = stated - honoured
    lines.append(
        f"| **total** ({len(outcomes)} ideas) | {crashes} crashes | **{honoured}/{stated} "
        f"({100 * honoured / max(stated, 1):.0f}%)** | {reported}/{rest} of the rest "
        f"({100 * reported / max(rest, 1):.0f}%) | {missed} | "
        f"{sum(o.extra_reported for o in outcomes)} | {sum(o.seconds for o in outcomes):.0f} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", help="build only this idea (repeatable)")
    parser.add_argument("--markdown", action="store_true", help="print only the table")
    parser.add_argument("--details", action="store_true", help="list the reported requirements too")
    args = parser.parse_args()
    items = yaml.safe_load(IDEAS.read_text(encoding="utf-8"))["ideas"]
    if args.only:
        items = [i for i in items if i["name"] in args.only]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="baton-fidelity-") as scratch:
        for item in items:
            outcome = build_one(item, Path(scratch))
            outcomes.append(outcome)
            if not args.markdown:
                print(
                    f"{outcome.name}: built {outcome.built}, {len(outcome.honoured)}/{outcome.stated} honoured, "
                    f"{len(outcome.reported)} reported, {len(outcome.missed)} missed ({outcome.seconds} s)",
                    flush=True,
                )
                for line in outcome.missed:
                    print(f"    MISSED   {line}")
                if args.details:
                    for line in outcome.reported:
                        print(f"    reported {line}")
    print()
    print(_table(outcomes))
    sys.exit(0)


if __name__ == "__main__":
    main()
