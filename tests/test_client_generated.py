"""The committed client is the one `just client` generates from the API as it is now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_description_and_client_are_current() -> None:
    # The script regenerates both into a temporary directory and compares them.
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_client.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert checked.returncode == 0, (
        f"{checked.stderr}\n{checked.stdout[-4000:]}\n"
        "The OpenAPI description or the generated client is stale: run `just client`."
    )
