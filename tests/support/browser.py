"""Headless Chromium (Debian's ``chromium``, which ``.ci/run`` installs) on a page.

:func:`browse` runs it once on a URL (``--dump-dom``, ``--screenshot``). :class:`Chromium`
keeps it running and drives it over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages ending in NUL on file descriptors 3 and 4),
for a test that clicks, waits for the page to change and reads what it drew.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

#: The window a page is rendered in (and a screenshot's size).
WINDOW = (1280, 800)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is needed: apt-get install -y chromium (.ci/run does)")
    return found


def _flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]


def browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on ``url`` until the page settled (virtual time)."""
    return subprocess.run(
        [
            chromium(),
            *_flags(profile),
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


def _high(fd: int) -> int:
    """``fd`` moved to a number of 10 or more, closed on exec: clear of 0 to 4 in the child."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Chromium:
    """A headless Chromium driven over the DevTools protocol; a context manager."""

    def __init__(self, profile: Path, log: Path, timeout: float = 30.0) -> None:
        self.profile = profile
        self.log = log
        self.timeout = timeout
        self._pid = 0
        self._next_id = 0
        self._buffer = b""
        #: Console and security messages per page session (``Log.entryAdded``).
        self.entries: dict[str, list[dict[str, Any]]] = {}

    def __enter__(self) -> Self:
        to_child, self._to_browser = map(_high, os.pipe())
        self._from_browser, from_child = map(_high, os.pipe())
        output = _high(os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        argv = [chromium(), *_flags(self.profile), "--remote-debugging-pipe", "about:blank"]
        try:
            self._pid = os.posix_spawn(
                argv[0],
                argv,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, output, 1),
                    (os.POSIX_SPAWN_DUP2, output, 2),
                    (os.POSIX_SPAWN_DUP2, to_child, 3),
                    (os.POSIX_SPAWN_DUP2, from_child, 4),
                ],
            )
        finally:
            for fd in (to_child, from_child, output):
                os.close(fd)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):  # gone already
            self._write({"id": 0, "method": "Browser.close"})
        deadline = time.monotonic() + 10
        while os.waitpid(self._pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
                break
            time.sleep(0.1)
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _write(self, message: dict[str, Any]) -> None:
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], deadline - time.monotonic())
            if not ready:
                raise TimeoutError(f"Chromium did not answer (its log: {self.log})")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise EOFError(f"Chromium went away (its log: {self.log})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Call ``method`` (in a page's ``session``) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("method") == "Log.entryAdded":
                self.entries.setdefault(answer["sessionId"], []).append(answer["params"]["entry"])
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def open(self, url: str) -> Tab:
        """A new tab of the window's size on ``url``."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        tab = Tab(self, session["sessionId"])
        for domain in ("Page", "Runtime", "Log"):
            tab.send(f"{domain}.enable")
        tab.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
        )
        tab.send("Page.navigate", {"url": url})
        return tab


class Tab:
    """One page in :class:`Chromium`."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        answer = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """The first truthy value of ``expression``, evaluated until ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None  # the page is still loading: its names are not defined yet
            if value:
                return value
            if time.monotonic() > deadline:
                text = self.evaluate("document.body ? document.body.innerText : ''")
                raise AssertionError(f"never true: {expression}\nthe page shows:\n{text}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A mouse click in the middle of the element ``selector`` names, as a user's."""
        box = self.wait_for(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            "?.getBoundingClientRect(); return r && r.width ? [r.x, r.y, r.width, r.height]"
            " : null; })()"
        )
        x, y = box[0] + box[2] / 2, box[1] + box[3] / 2
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    def screenshot(self) -> bytes:
        """The viewport as a PNG."""
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def refusals(self) -> list[str]:
        """What the page's policy refused and the errors it logged, so far."""
        self.evaluate("0")  # the messages logged before its answer are read with it
        entries = self.browser.entries.get(self.session, [])
        return [
            f"{e['text']} ({e.get('url', '')})"
            for e in entries
            if e["source"] == "security" or e["level"] == "error"
        ]
