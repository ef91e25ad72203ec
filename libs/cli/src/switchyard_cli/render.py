"""How ``swy`` shows what the API answered: rich tables for people, the raw JSON with
``--json``."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from switchyard_client import WorkflowDocument
from switchyard_client.generated.models.step import Step
from switchyard_client.generated.models.workflow_page import WorkflowPage

#: Columns of output that is not a terminal (a pipe, a log), unless COLUMNS says otherwise:
#: rich's 80 would fold ids and table cells.
PIPE_WIDTH = 200


def _console(*, stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False, markup=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


#: What is shown to people; errors go to standard error.
out = _console()
err = _console(stderr=True)

STYLES = {
    "queued": "dim",
    "running": "cyan",
    "retrying": "yellow",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "magenta",
}


def raw(body: bytes | str | dict[str, Any]) -> None:
    """Print JSON for a program to read: the API's body as it came, or one object."""
    if isinstance(body, dict):
        text = json.dumps(body)
    else:
        text = body.decode() if isinstance(body, bytes) else body
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()


def status(value: str) -> Text:
    return Text(value, style=STYLES.get(value, ""))


def when(moment: object) -> str:
    return "" if moment is None else str(moment)


def _step_status(step: Step, live: bool) -> RenderableType:
    if live and step.status in ("running", "retrying"):
        return Spinner("dots", text=status(step.status))
    return status(step.status)


def _step_progress(step: Step) -> str:
    progress = step.progress
    return "" if progress is None else f"{progress.completed}/{progress.total} rows"


def steps(document: WorkflowDocument, *, live: bool = False) -> Table:
    """One row per step: its status, attempts, worker, progress and error."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("step", "status", "attempts", "worker", "progress", "error"):
        table.add_column(column)
    for step in document.steps:
        error = step.error
        table.add_row(
            step.name,
            _step_status(step, live),
            str(step.attempts),
            step.worker or "",
            _step_progress(step),
            "" if error is None else f"{error.type_}: {error.message}",
        )
    return table


def headline(document: WorkflowDocument) -> Text:
    line = Text.assemble(
        (document.kind, "bold"),
        " ",
        document.id,
        "  ",
        status(document.status),
        f"  {document.progress.completed}/{document.progress.total} steps done",
    )
    return line


def document(document: WorkflowDocument, *, live: bool = False) -> RenderableType:
    """A workflow's document: what it is and where it stands, then its steps."""
    facts = Text(
        f"created {when(document.created_at)}"
        + (f", finished {when(document.finished_at)}" if document.finished_at else "")
        + (f", request {document.request_id}" if document.request_id else ""),
        style="dim",
    )
    parts: list[RenderableType] = [headline(document), facts, steps(document, live=live)]
    if document.error is not None:
        parts.append(Text(f"{document.error.type_}: {document.error.message}", style="red"))
    return Group(*parts)


def one_line(document: WorkflowDocument) -> str:
    """A document in one line, for output that is not a terminal (a log, a pipe)."""
    done = f"{document.progress.completed}/{document.progress.total}"
    each = ", ".join(f"{step.name} {step.status}" for step in document.steps)
    return f"{document.id} {document.status} {done}: {each}"


def page(listed: WorkflowPage) -> Table:
    """Workflows, newest first, one row each."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "kind", "status", "steps done", "created"):
        table.add_column(column)
    for item in listed.items:
        table.add_row(
            item.id,
            item.kind,
            status(item.status),
            f"{item.progress.completed}/{item.progress.total}",
            when(item.created_at),
        )
    return table
