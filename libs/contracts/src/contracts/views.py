"""Cross-service reads: the versioned views each service publishes, and their guard.

No service reads another service's tables. The owner of the data publishes a view in its
own schema, named ``<name>_v<N>`` (``report_worker.reports_v1``), created by its own
migrations and declared here in :data:`VIEWS` with the roles that read it; the roles
get ``SELECT`` on that view and nothing else of the schema
(:mod:`switchyard_runtime.database_roles`). A view runs with its owner's rights, so a reader needs
no grant on the tables behind it, and the owner may reshape those tables freely as long
as the view keeps its columns.

A published version never changes. Its columns (name, type, order) are snapshotted in
``libs/contracts/src/contracts/snapshots/views/<schema>.<view>.json`` beside the task schemas, and
:func:`view_problems` compares them with what a freshly migrated database holds
(:func:`live_columns`): a version whose columns changed fails, and the fix is a new
version (``reports_v2``) beside the old one, the readers moved to it, the old one dropped
once none is left.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

#: Committed view snapshots: one JSON file per view, beside the task schema snapshots.
VIEW_SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "views"

#: The schemas whose views are published contracts: one per service, named as its role.
OWNERS = ("api", "email_worker", "report_worker", "scheduler")

_VERSIONED = re.compile(r"^(?P<base>[a-z][a-z0-9_]*)_v(?P<version>[1-9][0-9]*)$")

#: ``(column name, type as information_schema.columns.data_type says it)``, in order.
Columns = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class View:
    """A view ``schema.name`` its owner publishes, ``SELECT`` granted to ``readers``."""

    schema: str
    name: str
    readers: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


#: Every cross-service read. Changing what a reader needs means a new version here (and
#: in the owner's migrations), never an edit of a published one.
VIEWS: tuple[View, ...] = (
    # Report metadata: the API's report downloads, the email worker's attachments.
    View("report_worker", "reports_v1", ("api", "email_worker")),
    # Report bytes, chunk by chunk in ``seq`` order.
    View("report_worker", "report_content_v1", ("api", "email_worker")),
    # Delivery attempts, counted by the ``email_activity`` report.
    View("email_worker", "deliveries_v1", ("report_worker",)),
    # Workflows' kind, status and times, summarized by the ``workflow_summary`` report.
    View("api", "workflows_v1", ("report_worker",)),
)


def next_version(qualified: str) -> str:
    """``report_worker.reports_v1`` -> ``report_worker.reports_v2``."""
    schema, name = qualified.split(".", 1)
    match = _VERSIONED.match(name)
    if match is None:
        return f"{qualified}_v1"
    return f"{schema}.{match['base']}_v{int(match['version']) + 1}"


def declaration_problems(views: Iterable[View] = VIEWS) -> list[str]:
    """What is wrong with the declaration itself (names, owners, readers)."""
    problems: list[str] = []
    seen: set[str] = set()
    for view in views:
        if view.schema not in OWNERS:
            problems.append(f"{view.qualified}: {view.schema!r} is not a service's schema")
        if _VERSIONED.match(view.name) is None:
            problems.append(f"{view.qualified}: a published view is named <name>_v<N>")
        if view.qualified in seen:
            problems.append(f"{view.qualified}: declared twice")
        seen.add(view.qualified)
        for reader in view.readers:
            if reader not in OWNERS or reader == view.schema:
                problems.append(f"{view.qualified}: {reader!r} is not another service's role")
    return problems


_LIVE = """
SELECT c.table_schema || '.' || c.table_name, c.column_name, c.data_type
FROM information_schema.columns AS c
JOIN information_schema.views AS v
  ON v.table_schema = c.table_schema AND v.table_name = c.table_name
WHERE c.table_schema = ANY(%s)
ORDER BY 1, c.ordinal_position
"""


def live_columns(conn: psycopg.Connection[Any]) -> dict[str, Columns]:
    """``{schema.view: columns}`` of every view in the services' schemas, as the
    database holds them (connect as a role that sees them: the admin, the migrator)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for view, column, kind in conn.execute(_LIVE, (list(OWNERS),)).fetchall():
        found.setdefault(view, []).append((column, kind))
    return {view: tuple(columns) for view, columns in found.items()}


def view_problems(
    views: Iterable[View], snapshots: Mapping[str, Columns], live: Mapping[str, Columns]
) -> tuple[list[str], list[str]]:
    """``(breaking, unrecorded)``: what no snapshot update may accept, and what
    ``--update`` records (a new version, a dropped one no longer declared)."""
    declared = {view.qualified for view in views}
    breaking: list[str] = []
    unrecorded: list[str] = []
    for name in sorted(declared | set(live) | set(snapshots)):
        if name not in declared:
            if name in live:
                breaking.append(
                    f"{name}: a view no contract declares; declare it in contracts.views.VIEWS"
                    " with its readers, or drop it"
                )
            else:
                unrecorded.append(f"{name}: dropped and no longer declared; remove its snapshot")
        elif name not in live:
            breaking.append(f"{name}: declared, but no migration creates it")
        elif name not in snapshots:
            unrecorded.append(f"{name}: a new version, not yet snapshotted")
        elif tuple(snapshots[name]) != tuple(live[name]):
            breaking.append(
                f"{name}: its columns changed from {_show(snapshots[name])}"
                f" to {_show(live[name])}; a published version never changes: add"
                f" {next_version(name)} beside it (a new migration and a VIEWS entry),"
                " move the readers to it, and drop the old one once none is left"
            )
    return breaking, unrecorded


def _show(columns: Columns) -> str:
    return "(" + ", ".join(f"{name} {kind}" for name, kind in columns) + ")"


def load_view_snapshots(directory: Path = VIEW_SNAPSHOTS) -> dict[str, Columns]:
    """``{schema.view: columns}`` from the committed snapshots."""
    return {
        path.stem: tuple(
            (column["name"], column["type"]) for column in json.loads(path.read_text())["columns"]
        )
        for path in sorted(directory.glob("*.json"))
    }


def render_view_snapshot(view: View, columns: Columns) -> str:
    """The committed form of ``view``'s snapshot: one column a line, so a diff reads."""
    lines = ",\n".join(f"    {json.dumps({'name': name, 'type': kind})}" for name, kind in columns)
    head = {"view": view.qualified, "owner": view.schema, "readers": sorted(view.readers)}
    fields = "".join(f"  {json.dumps(key)}: {json.dumps(value)},\n" for key, value in head.items())
    return "{\n" + fields + '  "columns": [\n' + lines + "\n  ]\n}\n"


def stale_view_snapshots(
    views: Iterable[View], live: Mapping[str, Columns], directory: Path = VIEW_SNAPSHOTS
) -> list[str]:
    """Declared views whose committed snapshot is not what :func:`write_view_snapshots`
    would write (a reader added or removed, a new version)."""
    return [
        view.qualified
        for view in views
        if view.qualified in live
        and (
            not (path := directory / f"{view.qualified}.json").exists()
            or path.read_text() != render_view_snapshot(view, live[view.qualified])
        )
    ]


def write_view_snapshots(
    views: Iterable[View], live: Mapping[str, Columns], directory: Path = VIEW_SNAPSHOTS
) -> None:
    """Record every declared view as ``live`` holds it; remove the undeclared ones'."""
    directory.mkdir(parents=True, exist_ok=True)
    declared = {view.qualified: view for view in views}
    for path in directory.glob("*.json"):
        if path.stem not in declared:
            path.unlink()
    for name, view in sorted(declared.items()):
        (directory / f"{name}.json").write_text(render_view_snapshot(view, live[name]))
