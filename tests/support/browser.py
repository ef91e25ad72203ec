"""Headless Chromium (Debian's ``chromium``, which ``.ci/run`` installs) on a page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

#: The window a page is rendered in (and a screenshot's size).
WINDOW = (1280, 800)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is needed: apt-get install -y chromium (.ci/run does)")
    return found


def browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``url`` until the page settled (virtual time)."""
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            # Time passes only when the page waits on nothing: fetches complete first.
            "--virtual-time-budget=8000",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
