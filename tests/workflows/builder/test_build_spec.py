"""The spec model, its validation, and the deterministic extractor: good ideas and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from build_ideas import LIBRARY

from baton.core.errors import InvalidInputError
from baton.workflows.builder import BuildSpec, Stack, dump_spec, extract_spec, load_spec, validate_spec
from baton.workflows.builder.architecture import BuildInputs, check_output_dir


def _spec(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "shop-api",
        "title": "Shop API",
        "entities": [{"name": "product", "fields": [{"name": "title", "type": "string"}]}],
    }
    raw.update(changes)
    return raw


def test_the_library_idea_gives_entities_relations_and_assumptions() -> None:
    spec = extract_spec(LIBRARY)
    assert spec.stack is Stack.FASTAPI
    assert {e.name for e in spec.entities} == {"book", "author", "loan", "member"}
    assert {(r.parent, r.child) for r in spec.relations} == {
        ("member", "loan"),
        ("book", "loan"),
        ("author", "book"),
    }
    assert any("members borrow books" in a for a in spec.assumptions)
    assert spec.name == "library-api"


def test_has_relations_fields_and_stacks_come_from_the_words() -> None:
    spec = extract_spec(
        "A web app for a school: teachers have courses; courses with title, credits and starts_on"
    )
    assert spec.stack is Stack.FLASK
    assert ("teacher", "course") in {(r.parent, r.child) for r in spec.relations}
    fields = {f.name: f.type.value for f in spec.entity("course").fields}
    assert fields == {"title": "string", "credits": "integer", "starts_on": "date"}  # credits: a count
    timer = extract_spec("every hour, summarise the sensors and their readings")
    assert timer.stack is Stack.FUNCTIONS
    assert timer.jobs[0].schedule == "0 0 * * * *"
    assert extract_spec(LIBRARY, stack=Stack.FLASK).stack is Stack.FLASK


@pytest.mark.parametrize("idea", ["", "   ", "!!! ???", "zzz"])
def test_an_empty_or_meaningless_idea_is_refused(idea: str) -> None:
    with pytest.raises(InvalidInputError, match="idea"):
        extract_spec(idea)


def test_an_idea_naming_no_entities_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="names no entities"):
        extract_spec("make it fast and simple please")


def test_a_reserved_word_in_an_idea_is_renamed_and_the_rename_is_an_assumption() -> None:
    spec = extract_spec("students attend classes; each class has a type")
    names = {e.name for e in spec.entities}
    assert "school_class" in names and "class" not in names
    assert any("'class'" in a and "school_class" in a for a in spec.assumptions)
    assert spec.requirements[0].text == "keep school classes"


@pytest.mark.parametrize(
    ("entity", "reason"),
    [
        ("class", "Python keyword"),
        ("../x", "a path, not a name"),
        ("Book", "not a lowercase snake_case identifier"),
        ("list", "shadows a Python builtin"),
        ("select", "clashes with a module of the generated code"),
    ],
)
def test_unsafe_entity_names_are_refused(entity: str, reason: str) -> None:
    raw = _spec(entities=[{"name": entity, "fields": []}])
    with pytest.raises(InvalidInputError, match=reason) as caught:
        validate_spec(raw)
    assert caught.value.fields == {"entities[0].name": caught.value.message}


@pytest.mark.parametrize(
    ("field", "reason"), [("order", "SQL reserved word"), ("id", "reserved"), ("def", "keyword")]
)
def test_unsafe_field_names_are_refused(field: str, reason: str) -> None:
    raw = _spec(entities=[{"name": "product", "fields": [{"name": field}]}])
    with pytest.raises(InvalidInputError, match=reason) as caught:
        validate_spec(raw)
    assert "entities[0].fields[0].name" in caught.value.fields


def test_bad_relations_jobs_and_types_name_the_field() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_spec(_spec(relations=[{"parent": "customer", "child": "product"}]))
    assert "relations[0].parent" in caught.value.fields
    with pytest.raises(InvalidInputError) as caught:
        validate_spec(_spec(entities=[{"name": "product", "fields": [{"name": "title", "type": "money"}]}]))
    assert "entities.0.fields.0.type" in caught.value.fields
    with pytest.raises(InvalidInputError, match="functions stack"):
        validate_spec(_spec(jobs=[{"name": "summary"}]))


def test_the_spec_round_trips_through_yaml(tmp_path: Path) -> None:
    spec = extract_spec(LIBRARY)
    (tmp_path / "spec.yaml").write_text(dump_spec(spec))
    assert load_spec(tmp_path / "spec.yaml") == spec
    (tmp_path / "bad.yaml").write_text("entities: [")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_spec(tmp_path / "bad.yaml")
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")


def test_parents_come_before_children() -> None:
    spec = BuildSpec.model_validate(
        _spec(
            entities=[{"name": "loan"}, {"name": "book"}, {"name": "author"}],
            relations=[{"parent": "book", "child": "loan"}, {"parent": "author", "child": "book"}],
        )
    )
    assert [e.name for e in spec.ordered_entities()] == ["author", "book", "loan"]
    with pytest.raises(InvalidInputError, match="cycle"):
        validate_spec(
            _spec(
                entities=[{"name": "alpha"}, {"name": "beta"}],
                relations=[{"parent": "alpha", "child": "beta"}, {"parent": "beta", "child": "alpha"}],
            )
        )


def test_inputs_need_an_idea_or_a_spec_not_both() -> None:
    with pytest.raises(ValueError, match="idea"):
        BuildInputs(out="x")
    with pytest.raises(ValueError, match="not both"):
        BuildInputs(out="x", idea="books", spec_path="spec.yaml")


def test_an_existing_output_directory_needs_force(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="--force"):
        check_output_dir(tmp_path, force=False)
    check_output_dir(tmp_path, force=True)
    check_output_dir(tmp_path / "new" / "deeper", force=False)
    with pytest.raises(InvalidInputError, match="is a file"):
        check_output_dir(tmp_path / "keep.txt", force=True)


def test_an_output_path_without_permission_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    # root may write anywhere but on a read-only file system such as /proc/sys
    target = Path("/proc/sys/baton-out") if os.geteuid() == 0 else locked / "out"
    try:
        with pytest.raises(InvalidInputError, match="permission denied"):
            check_output_dir(target, force=False)
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("stack", list(Stack))
def test_an_emoji_in_the_idea_is_written_as_itself_in_the_generated_code(stack: Stack) -> None:
    # JSON's ASCII escapes would write 🍕 as a surrogate pair: the generated app then fails to encode its
    # own OpenAPI description.
    from baton.workflows.builder.codegen import render_code_files, render_project_files

    spec = extract_spec(LIBRARY).model_copy(
        update={"stack": stack, "title": "🍕 Pizza ≥ 1", "description": "🍕 Pizza shop API ≥ 1 😀"}
    )
    files = render_code_files(spec) | render_project_files(spec, dump_spec(spec))
    written = [text for path, text in files.items() if path.endswith((".py", ".toml")) and "🍕" in text]
    assert written, "the description is in no generated file"
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")
        assert "\\ud83c" not in text, path
    assert all(text.encode("utf-8") for text in written)
