"""``swy reports``: build a report, download one."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from switchyard_cli import render
from switchyard_cli.options import AsJson, IdempotencyKey
from switchyard_cli.settings import connect
from switchyard_client import download_report, expect
from switchyard_client.generated.api.reports import create_report, get_report
from switchyard_client.generated.models import (
    Accepted,
    Period,
    ReportFormat,
    ReportKind,
    ReportMetadata,
    ReportRequest,
)
from switchyard_client.generated.types import UNSET

app = typer.Typer(help="Build and download reports.", no_args_is_help=True)

Day = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="A day, YYYY-MM-DD.")]


@app.command()
def create(
    kind: Annotated[ReportKind, typer.Option(help="What the report is about.")],
    start: Day,
    end: Day,
    format_: Annotated[ReportFormat | None, typer.Option("--format")] = None,
    deliver_to: Annotated[
        list[str] | None, typer.Option(help="Email it to (repeat for more).")
    ] = None,
    idempotency_key: IdempotencyKey = None,
    as_json: AsJson = False,
) -> None:
    """Build a report of the days from START to END (inclusive); with --deliver-to, email it."""
    body = ReportRequest(
        kind=kind,
        period=Period(start=start.date(), end=end.date()),
        format_=format_ or UNSET,
        deliver_to=deliver_to or UNSET,
    )
    answer = create_report.sync_detailed(
        client=connect(), body=body, idempotency_key=idempotency_key or UNSET
    )
    accepted = expect(answer, Accepted.from_dict)
    if as_json:
        render.raw(answer.content)
        return
    render.out.print(f"accepted: workflow {accepted.workflow_id}")
    for report_id in accepted.report_ids or []:
        render.out.print(f"report {report_id}: swy reports download {report_id}")
    render.out.print(f"follow it: swy workflows wait {accepted.workflow_id}", style="dim")


@app.command()
def download(
    report_id: Annotated[str, typer.Argument(help="The report's id (from `reports create`).")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The file to write, or a directory; default: the report's own name, here.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Save a stored report's bytes to a file."""
    client = connect()
    answer = get_report.sync_detailed(report_id, client=client)
    metadata = expect(answer, ReportMetadata.from_dict)
    saved = download_report(client, report_id, output)
    if as_json:
        render.raw({**json.loads(answer.content), "path": str(saved)})
        return
    render.out.print(
        f"saved {saved} ({metadata.bytes_} bytes, {metadata.rows} rows, {metadata.content_type})"
    )
