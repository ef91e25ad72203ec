"""``swy``: the commands, and what an error looks like (the API's words, no traceback)."""

from __future__ import annotations

import sys

import httpx
import typer

from switchyard_cli import emails, render, reports, settings, workflows
from switchyard_client import ApiError, WaitTimeout

#: Exit statuses besides 0 and typer's 2 for a wrong command line.
FAILED = 1
NO_KEY = 2
TIMED_OUT = 124  # as timeout(1) exits

app = typer.Typer(
    name="swy",
    help=(
        "The Switchyard API from a terminal. The API's address is SWITCHYARD_URL"
        f" (default {settings.DEFAULT_URL}), the key SWITCHYARD_API_KEY."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(emails.app, name="emails")
app.add_typer(reports.app, name="reports")
app.add_typer(workflows.app, name="workflows")


def main() -> None:
    """The ``swy`` console script."""
    try:
        app()
    except settings.MissingKey as missing:
        sys.exit(_fail(str(missing), NO_KEY))
    except ApiError as refused:
        sys.exit(_fail(f"{refused.detail} (HTTP {refused.status})", FAILED))
    except WaitTimeout as late:
        sys.exit(_fail(str(late), TIMED_OUT))
    except httpx.TimeoutException:
        sys.exit(_fail(f"the API at {settings.api_url()} did not answer in time", FAILED))
    except httpx.TransportError as unreachable:
        sys.exit(_fail(f"cannot reach the API at {settings.api_url()}: {unreachable}", FAILED))
    except OSError as unwritable:
        sys.exit(_fail(f"cannot write {unwritable.filename}: {unwritable.strerror}", FAILED))


def _fail(message: str, status: int) -> int:
    render.err.print(f"error: {message}")
    return status
