"""The contract compatibility guard: JSON Schema snapshots and what may change in them.

Every contract's payload and result schema is committed under ``contracts/snapshots``
(one file per task name), shipped in the wheel as package data. A change is *compatible*
when a peer that is already deployed keeps working: fields may be added as optional,
types widened, enum values added. It is *breaking* when a field is removed or renamed,
a new field is required, a type or a constraint is narrowed, or an enum value is
removed. A breaking change ships under a new task name (``email.send.v2``) served beside
the old one during the rollout, so the old name's snapshot must stay satisfied.

``python -m contracts.compat --check`` checks (the default), in this checkout or wherever
the wheel is installed, since it ships the snapshots; ``--update`` rewrites them when
every change is compatible (``just snapshot``). Given ``--database-url`` (a database
every service has migrated), both also check and record the cross-service views'
snapshots (:mod:`contracts.views`). Another repository that relies on these contracts
records the snapshots it was built against with ``--update --snapshots DIR`` and checks
each new version of the wheel against them with ``--check --snapshots DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contracts.routing import CONTRACTS

Schema = Mapping[str, Any]

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

#: Constraints whose growth narrows what is accepted ("min") or whose shrinking does ("max").
_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum")


def current_schemas() -> dict[str, dict[str, Any]]:
    """``{task name: {"payload": schema, "result": schema}}`` for every contract."""
    return {
        name: {
            "payload": contract.payload.model_json_schema(),
            "result": contract.result.model_json_schema(),
        }
        for name, contract in sorted(CONTRACTS.items())
    }


def _resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = root.get("$defs", {})[name]
    return schema


def _branches(schema: Schema, root: Schema) -> list[Schema]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return [b for branch in schema["anyOf"] for b in _branches(branch, root)]
    return [schema]


def _types(branches: list[Schema]) -> set[str]:
    found: set[str] = set()
    for branch in branches:
        kind = branch.get("type")
        if isinstance(kind, list):
            found.update(kind)
        elif kind is not None:
            found.add(kind)
        elif "properties" in branch:
            found.add("object")
        else:
            found.add("any")
    return found


def _of_type(branches: list[Schema], kind: str) -> Schema | None:
    return next((b for b in branches if kind in _types([b])), None)


def breaking_changes(
    old: Schema, new: Schema, old_root: Schema, new_root: Schema, where: str
) -> list[str]:
    """What in ``new`` would break a peer built against ``old`` (empty when compatible)."""
    problems: list[str] = []
    old_branches, new_branches = _branches(old, old_root), _branches(new, new_root)
    old_types, new_types = _types(old_branches), _types(new_branches)
    if "any" not in new_types and (lost := old_types - new_types):
        problems.append(f"{where}: type narrowed, no longer accepts {sorted(lost)}")

    old_enum = {v for b in old_branches for v in b.get("enum", [])}
    new_enum = {v for b in new_branches for v in b.get("enum", [])}
    if new_enum and not old_enum:
        problems.append(f"{where}: narrowed to the values {sorted(new_enum, key=str)}")
    elif new_enum and (removed := old_enum - new_enum):
        problems.append(f"{where}: enum value(s) removed: {sorted(removed, key=str)}")

    for kind in old_types & new_types:
        was, now = _of_type(old_branches, kind), _of_type(new_branches, kind)
        if was is None or now is None:
            continue
        for bound in _LOWER_BOUNDS:
            if bound in now and now[bound] > was.get(bound, float("-inf")):
                problems.append(f"{where}: {bound} raised to {now[bound]}")
        for bound in _UPPER_BOUNDS:
            if bound in now and now[bound] < was.get(bound, float("inf")):
                problems.append(f"{where}: {bound} lowered to {now[bound]}")
        if "pattern" in now and now.get("pattern") != was.get("pattern"):
            problems.append(f"{where}: pattern changed to {now['pattern']!r}")
        if kind == "object":
            problems += _object_changes(was, now, old_root, new_root, where)
        if kind == "array" and "items" in was and "items" in now:
            problems += breaking_changes(
                was["items"], now["items"], old_root, new_root, f"{where}[]"
            )
    return problems


def _object_changes(
    was: Schema, now: Schema, old_root: Schema, new_root: Schema, where: str
) -> list[str]:
    problems: list[str] = []
    old_fields, new_fields = was.get("properties", {}), now.get("properties", {})
    for name in old_fields:
        if name not in new_fields:
            problems.append(f"{where}.{name}: field removed or renamed")
        else:
            problems += breaking_changes(
                old_fields[name], new_fields[name], old_root, new_root, f"{where}.{name}"
            )
    for name in sorted(set(now.get("required", [])) - set(was.get("required", []))):
        problems.append(f"{where}.{name}: new required field")
    return problems


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Breaking changes from the snapshots ``old`` to the schemas ``new``, by task name."""
    problems: list[str] = []
    for name, snapshot in sorted(old.items()):
        if name not in new:
            problems.append(
                f"{name}: task removed (serve it beside its successor until peers move)"
            )
            continue
        for part in ("payload", "result"):
            problems += breaking_changes(
                snapshot[part], new[name][part], snapshot[part], new[name][part], f"{name}.{part}"
            )
    return problems


def load_snapshots(directory: Path = SNAPSHOTS) -> dict[str, Any]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def write_snapshots(schemas: Mapping[str, Any], directory: Path = SNAPSHOTS) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        (directory / f"{name}.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.compat", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="check the snapshots (what runs without --update)"
    )
    mode.add_argument("--update", action="store_true", help="rewrite compatible snapshots")
    parser.add_argument(
        "--snapshots",
        type=Path,
        help="a directory of snapshots to check these contracts against instead of the ones"
        " they ship (another repository's, recorded there with --update --snapshots DIR);"
        " only breaking changes fail against it",
    )
    parser.add_argument(
        "--database-url",
        help="also check (or record) the published views, as a database every service"
        " migrated holds them (needs psycopg: the contracts[views] extra)",
    )
    args = parser.parse_args(argv)
    directory: Path = args.snapshots or SNAPSHOTS
    if args.snapshots is not None and not args.update and not directory.is_dir():
        parser.error(f"--snapshots: {directory} is not a directory")
    snapshots, schemas = load_snapshots(directory), current_schemas()
    problems = compare(snapshots, schemas)
    if problems:
        print("breaking contract changes (ship them under a new task name):")
        print("\n".join(f"  {problem}" for problem in problems))
        return 1
    if args.database_url and not _views(args.database_url, directory, update=args.update):
        return 1
    if args.update:
        write_snapshots(schemas, directory)
        print(f"snapshots updated in {directory}")
    elif schemas != snapshots:
        if args.snapshots is None:
            print("compatible changes not yet in the snapshots: run `just snapshot`")
            return 1
        print(
            f"compatible with {directory}; newer than it: {', '.join(_newer(snapshots, schemas))}"
        )
    else:
        print(f"compatible: {len(snapshots)} task contract snapshots in {directory}")
    return 0


def _newer(snapshots: Mapping[str, Any], schemas: Mapping[str, Any]) -> list[str]:
    return [name for name in sorted(schemas) if snapshots.get(name) != schemas[name]]


def _views(database_url: str, directory: Path, *, update: bool) -> bool:
    try:
        import psycopg
    except ImportError:
        print("--database-url needs psycopg: install contracts[views]")
        return False

    from contracts import views

    with psycopg.connect(database_url) as conn:
        live = views.live_columns(conn)
    problems = views.declaration_problems()
    view_directory = directory / "views"
    breaking, unrecorded = views.view_problems(
        views.VIEWS, views.load_view_snapshots(view_directory), live
    )
    if problems or breaking:
        print("breaking view changes (publish a new version instead):")
        print("\n".join(f"  {problem}" for problem in [*problems, *breaking]))
        return False
    if update:
        views.write_view_snapshots(views.VIEWS, live, view_directory)
        print(f"view snapshots updated in {view_directory}")
    elif unrecorded or (stale := views.stale_view_snapshots(views.VIEWS, live, view_directory)):
        print("view changes not yet in the snapshots: run `just snapshot --database-url URL`")
        print("\n".join(f"  {problem}" for problem in unrecorded or stale))
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
