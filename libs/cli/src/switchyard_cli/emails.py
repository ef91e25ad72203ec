"""``swy emails``: send an email."""

from __future__ import annotations

from typing import Annotated

import typer

from switchyard_cli import render
from switchyard_cli.options import AsJson, IdempotencyKey
from switchyard_cli.settings import connect
from switchyard_client import expect
from switchyard_client.generated.api.emails import send_email
from switchyard_client.generated.models import Accepted, EmailRequest, Lane
from switchyard_client.generated.types import UNSET

app = typer.Typer(help="Send emails.", no_args_is_help=True)


@app.command()
def send(
    to: Annotated[list[str], typer.Option(help="A recipient (repeat for more).")],
    subject: Annotated[str, typer.Option()],
    text: Annotated[str | None, typer.Option(help="The plain-text body.")] = None,
    html: Annotated[str | None, typer.Option(help="The HTML body.")] = None,
    cc: Annotated[list[str] | None, typer.Option(help="Copy to (repeat for more).")] = None,
    bcc: Annotated[list[str] | None, typer.Option(help="Blind copy to.")] = None,
    lane: Annotated[Lane | None, typer.Option(help="The queue it waits in.")] = None,
    idempotency_key: IdempotencyKey = None,
    as_json: AsJson = False,
) -> None:
    """Send one email; prints the id of the workflow that delivers it."""
    body = EmailRequest(
        to=to,
        subject=subject,
        text=UNSET if text is None else text,
        html=UNSET if html is None else html,
        cc=cc or UNSET,
        bcc=bcc or UNSET,
        lane=lane or UNSET,
    )
    answer = send_email.sync_detailed(
        client=connect(), body=body, idempotency_key=idempotency_key or UNSET
    )
    accepted = expect(answer, Accepted.from_dict)
    if as_json:
        render.raw(answer.content)
        return
    render.out.print(f"accepted: workflow {accepted.workflow_id}")
    render.out.print(f"follow it: swy workflows wait {accepted.workflow_id}", style="dim")
