"""The options every command shares."""

from __future__ import annotations

from typing import Annotated

import typer

AsJson = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON instead of a table, for programs.")
]
IdempotencyKey = Annotated[
    str | None,
    typer.Option(
        help="Send it again with the same key and body: no second workflow is started.",
    ),
]
