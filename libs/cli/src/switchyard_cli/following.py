"""``swy workflows wait``: each step's progress shown live while the workflow runs."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live

from switchyard_cli import render
from switchyard_client import AuthenticatedClient, WorkflowDocument, wait


def follow(
    client: AuthenticatedClient, workflow_id: str, timeout: float, console: Console
) -> WorkflowDocument:
    """Wait for the workflow, redrawing its document in place on a terminal at each change,
    or printing one line per change to anything else (a log keeps every step of it)."""
    if not console.is_terminal:
        return wait(
            client,
            workflow_id,
            timeout,
            on_change=lambda document: console.print(render.one_line(document)),
        )
    with Live(console=console, refresh_per_second=8) as live:

        def redraw(document: WorkflowDocument) -> None:
            live.update(render.document(document, live=True), refresh=True)

        final = wait(client, workflow_id, timeout, on_change=redraw)
        live.update(render.document(final), refresh=True)
        return final
