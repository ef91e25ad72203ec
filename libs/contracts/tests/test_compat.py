"""The contract compatibility guard: the snapshots match, and breaking changes are caught."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from contracts import compat


def schemas(payload: type[BaseModel], name: str = "demo.task") -> dict[str, Any]:
    schema = payload.model_json_schema()
    return {name: {"payload": schema, "result": schema}}


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Fewer(StrEnum):
    RED = "red"


class More(StrEnum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


class Inner(BaseModel):
    code: int


class Old(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = Field(max_length=998)
    color: Color = Color.RED
    inner: Inner | None = None
    note: str | None = None


def test_the_committed_snapshots_match_the_contracts() -> None:
    """Fails when a contract changed without `just snapshot` (or incompatibly)."""
    snapshots = compat.load_snapshots()
    assert compat.compare(snapshots, compat.current_schemas()) == []
    assert snapshots == compat.current_schemas(), "run `just snapshot` to record the change"


def test_every_contract_has_a_snapshot() -> None:
    assert set(compat.load_snapshots()) >= set(compat.current_schemas())


def test_additive_optional_changes_are_compatible() -> None:
    class New(BaseModel):
        to: list[str] = Field(min_length=1, max_length=100)  # widened
        subject: str = Field(max_length=998)
        color: More = More.RED  # value added
        inner: Inner | None = None
        note: str | int | None = None  # type widened
        priority: int = 0  # optional field added

    assert compat.compare(schemas(Old), schemas(New)) == []


class Removed(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50)
    color: Color = Color.RED
    inner: Inner | None = None
    note: str | None = None


class Renamed(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50)
    title: str = Field(max_length=998)
    color: Color = Color.RED
    inner: Inner | None = None
    note: str | None = None


class NewRequired(Old):
    priority: int


class Narrowed(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = Field(max_length=998)
    color: Color = Color.RED
    inner: Inner | None = None
    note: int | None = None


class ConstraintNarrowed(BaseModel):
    to: list[str] = Field(min_length=1, max_length=10)
    subject: str = Field(max_length=998)
    color: Color = Color.RED
    inner: Inner | None = None
    note: str | None = None


class EnumValueRemoved(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = Field(max_length=998)
    color: Fewer = Fewer.RED
    inner: Inner | None = None
    note: str | None = None


class NestedInner(BaseModel):
    code: str


class NestedNarrowed(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50)
    subject: str = Field(max_length=998)
    color: Color = Color.RED
    inner: NestedInner | None = None
    note: str | None = None


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (Removed, "subject: field removed or renamed"),
        (Renamed, "subject: field removed or renamed"),
        (NewRequired, "priority: new required field"),
        (Narrowed, "note: type narrowed"),
        (ConstraintNarrowed, "to: maxItems lowered to 10"),
        (EnumValueRemoved, "enum value(s) removed: ['blue']"),
        (NestedNarrowed, "inner.code: type narrowed"),
    ],
)
def test_breaking_changes_are_named(new: type[BaseModel], expected: str) -> None:
    problems = compat.compare(schemas(Old), schemas(new))
    assert any(expected in problem for problem in problems), problems


def test_a_removed_task_name_breaks_but_a_new_version_beside_it_does_not() -> None:
    old = schemas(Old, "demo.task")
    assert compat.compare(old, schemas(NewRequired, "demo.task.v2")) == [
        "demo.task: task removed (serve it beside its successor until peers move)"
    ]
    both = {**schemas(Old, "demo.task"), **schemas(NewRequired, "demo.task.v2")}
    assert compat.compare(old, both) == []


def test_update_writes_snapshots_that_then_compare_clean(tmp_path: Any) -> None:
    compat.write_snapshots(schemas(Old), tmp_path)
    assert compat.load_snapshots(tmp_path) == schemas(Old)


def test_check_passes_on_the_shipped_snapshots(capsys: pytest.CaptureFixture[str]) -> None:
    assert compat.main(["--check"]) == 0
    assert f"compatible: {len(compat.current_schemas())} task contract" in capsys.readouterr().out


def test_another_repositorys_snapshots_are_recorded_then_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pinned = tmp_path / "pinned"
    assert compat.main(["--update", "--snapshots", str(pinned)]) == 0
    assert sorted(p.stem for p in pinned.glob("*.json")) == sorted(compat.current_schemas())
    assert compat.main(["--check", "--snapshots", str(pinned)]) == 0

    # A release that added a task since: compatible, and said so.
    (pinned / "email.send.json").unlink()
    capsys.readouterr()
    assert compat.main(["--check", "--snapshots", str(pinned)]) == 0
    assert "newer than it: email.send" in capsys.readouterr().out

    # A pinned field the installed contracts no longer have: breaking, and named.
    pinned_schema = json.loads((pinned / "report.generate.json").read_text())
    pinned_schema["payload"]["properties"]["pinned_only"] = {"type": "string"}
    (pinned / "report.generate.json").write_text(json.dumps(pinned_schema))
    assert compat.main(["--check", "--snapshots", str(pinned)]) == 1
    assert "report.generate.payload.pinned_only: field removed" in capsys.readouterr().out


def test_a_missing_snapshots_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        compat.main(["--check", "--snapshots", str(tmp_path / "absent")])
    assert refused.value.code == 2
