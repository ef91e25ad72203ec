"""A webhook receiver on loopback: records every POST and answers as a test tells it."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver: records every POST, answers as told per path (200 otherwise)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._answers: dict[str, list[int]] = defaultdict(list)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver._record(Received(self.path, dict(self.headers), body))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", f"{self.path}/redirected")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _record(self, request: Received) -> int:
        with self._lock:
            self._received.append(request)
            answers = self._answers[request.path]
            return answers.pop(0) if len(answers) > 1 else (answers[0] if answers else 200)

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def answer(self, path: str, *statuses: int) -> None:
        """Answer ``path`` with these statuses in turn, the last one from then on."""
        with self._lock:
            self._answers[path] = list(statuses)

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self._received if request.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(got := self.received(path)) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{path}: {len(self.received(path))} requests, not {count}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
