"""``swy workflows``: read, list, wait for and cancel workflows."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from switchyard_cli import render
from switchyard_cli.following import follow
from switchyard_cli.options import AsJson
from switchyard_cli.settings import connect
from switchyard_client import WorkflowDocument, expect, wait
from switchyard_client.generated.api.workflows import (
    cancel_workflow,
    get_workflow,
    list_workflows,
)
from switchyard_client.generated.models import ListWorkflowsStatusType0, WorkflowPage
from switchyard_client.generated.types import UNSET

app = typer.Typer(help="Read, list, wait for and cancel workflows.", no_args_is_help=True)

WorkflowId = Annotated[str, typer.Argument(help="The workflow's id.")]


@app.command()
def get(workflow_id: WorkflowId, as_json: AsJson = False) -> None:
    """The workflow's status document."""
    answer = get_workflow.sync_detailed(workflow_id, client=connect())
    document = expect(answer, WorkflowDocument.from_dict)
    if as_json:
        render.raw(answer.content)
        return
    render.out.print(render.document(document))


@app.command("ls")
def list_(
    kind: Annotated[str | None, typer.Option(help="email, report or report_batch.")] = None,
    status: Annotated[ListWorkflowsStatusType0 | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    cursor: Annotated[str | None, typer.Option(help="The next page, as `ls` named it.")] = None,
    as_json: AsJson = False,
) -> None:
    """Workflows, newest first."""
    answer = list_workflows.sync_detailed(
        client=connect(),
        kind=kind or UNSET,
        status=status or UNSET,
        limit=limit,
        cursor=cursor or UNSET,
    )
    listed = expect(answer, WorkflowPage.from_dict)
    if as_json:
        render.raw(answer.content)
        return
    render.out.print(render.page(listed))
    if listed.next_cursor:
        render.out.print(f"more: swy workflows ls --cursor {listed.next_cursor}", style="dim")


@app.command("wait")
def wait_(
    workflow_id: WorkflowId,
    timeout: Annotated[
        float, typer.Option(min=0, help="Seconds to wait at most (then exit 124).")
    ] = 600.0,
    as_json: AsJson = False,
) -> None:
    """Wait until the workflow finishes, showing each step's progress live.

    Exits 0 when it succeeded, 1 when it failed or was cancelled, 124 when --timeout passed.
    """
    client = connect()
    if as_json:
        final = wait(client, workflow_id, timeout)
        render.raw(json.dumps(final.to_dict()))
    else:
        final = follow(client, workflow_id, timeout, render.out)
    if final.status != "succeeded":
        reason = f": {final.error.type_}: {final.error.message}" if final.error else ""
        render.err.print(f"workflow {final.id} {final.status}{reason}")
        raise typer.Exit(1)


@app.command()
def cancel(workflow_id: WorkflowId, as_json: AsJson = False) -> None:
    """Cancel the workflow: every step not started yet is revoked."""
    answer = cancel_workflow.sync_detailed(workflow_id, client=connect())
    document = expect(answer, WorkflowDocument.from_dict)
    if as_json:
        render.raw(answer.content)
        return
    render.out.print(render.document(document))
