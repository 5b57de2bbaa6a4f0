"""The requirements of an extracted spec: what the idea said, in the user's words, with the feature that
implements it — one requirement per clause the rules wholly understood — and what they did not understand or
cannot build, as ``not implemented`` requirements; and the names that clash with Python, SQL or the generated
code, renamed (and the requirements' features with them).
"""

from __future__ import annotations

import re
from typing import Any

from baton.workflows.builder._draft import Draft
from baton.workflows.builder._naming import name_problem, plural, safe_name


def rename_reserved(draft: Draft) -> dict[str, str]:
    """Entity and field names that clash with Python, SQL or the generated code get a safe name."""
    renames: dict[str, str] = {}
    for name in list(draft.entities):
        if name_problem(name, kind="entity"):
            renames[name] = safe_name(name, kind="entity", taken=set(draft.entities))
    for old, new in renames.items():
        draft.entities[new] = draft.entities.pop(old)
        draft.mentioned = [new if m == old else m for m in draft.mentioned]
        draft.relations = [(renames.get(p, p), renames.get(c, c)) for p, c in draft.relations]
        draft.assumptions.append(
            f"'{old}' clashes with Python, SQL or the generated code: the entity is named {new}"
        )
    for rule in [*draft.rules, *draft.queries, *draft.jobs]:
        for key in ("entity", "parent"):
            if rule.get(key) in renames:
                rule[key] = renames[rule[key]]
    fields = _rename_fields(draft)
    return {**renames, **fields}


def _rename_fields(draft: Draft) -> dict[str, str]:
    """Fields renamed, as ``{"entity.old": "entity.new"}``."""
    renamed: dict[str, str] = {}
    for entity, fields in draft.entities.items():
        taken = {f["name"] for f in fields}
        for f in list(fields):
            stem = f["name"].removeprefix("model_")
            same = next((g for g in fields if g["name"] == stem and g["type"] == f["type"]), None)
            if stem != f["name"] and same is not None and name_problem(stem, kind="field") is None:
                # "bikes have a model name" (pydantic reserves model_…): the bike's name, once
                fields.remove(f)
                draft.assumptions.append(f"the {f['name'].replace('_', ' ')} of {entity} is its {stem}")
                renamed[f"{entity}.{f['name']}"] = f"{entity}.{stem}"
                continue
            if stem != f["name"] and stem not in taken and name_problem(stem, kind="field") is None:
                draft.assumptions.append(
                    f"field '{f['name']}' of {entity} is reserved by pydantic: named {stem}"
                )
                renamed[f"{entity}.{f['name']}"] = f"{entity}.{stem}"
                f["name"] = stem
                continue
            if name_problem(f["name"], kind="field"):
                new = safe_name(f["name"], kind="field", taken=taken)
                draft.assumptions.append(
                    f"field '{f['name']}' of {entity} clashes with Python or SQL: named {new}"
                )
                for rule in draft.rules:
                    for key in ("field", "before", "after"):
                        if rule.get("entity") == entity and rule.get(key) == f["name"]:
                            rule[key] = new
                renamed[f"{entity}.{f['name']}"] = f"{entity}.{new}"
                f["name"] = new
    return renamed


def _feature_renamed(feature: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        feature = re.sub(rf"(?<![a-z_]){re.escape(old)}(?![a-z_])", new, feature)
    return feature


def _shown(text: str, draft: Draft) -> str:
    """The user's words, with each URL as they wrote it."""
    for word, url in draft.urls.items():
        text = text.replace(word, url)
    return text


def _by_clause(draft: Draft) -> list[tuple[str, str]]:
    """What the idea said, one entry per clause of the user: the features read from a clause that was wholly
    understood are implemented together, under the clause's words ("members have a name, an email and a phone
    number"); a clause partly understood keeps an entry per feature, its rest is reported on its own."""
    merged: dict[str, list[str]] = {}
    entries: list[tuple[str, str]] = []
    for text, feature in draft.said:
        clause = draft.said.origin.get((text, feature), "")
        if not clause or clause in draft.partial:
            entries.append((text, feature))
            continue
        if clause not in merged:
            merged[clause] = []
            entries.append((clause, ""))
        merged[clause].extend(feature.split(", "))
    return [(text, feature or ", ".join(dict.fromkeys(merged[text]))) for text, feature in entries]


def requirements(draft: Draft, renames: dict[str, str]) -> list[dict[str, Any]]:
    said = _by_clause(draft)
    covered = {f for _, feature in said for f in feature.split(", ") if f.startswith("entity:")}
    for name in draft.mentioned:
        if f"entity:{name}" not in covered:
            said.insert(0, (f"keep {plural(name).replace('_', ' ')}", f"entity:{name}"))
    requirements: list[dict[str, Any]] = []
    seen: set[str] = set()
    for text, feature in said:
        text = _shown(text, draft)
        feature = _feature_renamed(feature, renames)
        if feature in seen:
            continue
        seen.add(feature)
        requirements.append({"id": f"R{len(requirements) + 1}", "text": text, "implemented_by": feature})
    for text, reason in dict.fromkeys((_shown(t, draft), r) for t, r in draft.unsaid):
        requirements.append(
            {"id": f"R{len(requirements) + 1}", "text": text, "status": "not_implemented", "reason": reason}
        )
    return requirements
