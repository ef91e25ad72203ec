"""A scripted API behind httpx's own mock transport: each request is answered by the next
answer queued for its path, and every request is kept to be read back."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable

import httpx
import pytest

from switchyard_client import AuthenticatedClient

Answer = Callable[[httpx.Request], httpx.Response]


class FakeApi:
    def __init__(self) -> None:
        self.answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.requests: list[httpx.Request] = []

    def on(self, path: str, *answers: Answer) -> FakeApi:
        """Answer the next requests for ``path`` with ``answers``, one each, in order."""
        self.answers[path].extend(answers)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queued = self.answers[request.url.path]
        if not queued:
            return httpx.Response(500, json={"detail": f"nothing scripted for {request.url}"})
        return queued.popleft()(request)

    def client(self) -> AuthenticatedClient:
        """A client of this API (its sync and async connections both go to it)."""
        return AuthenticatedClient(
            base_url="http://api.test",
            token="swy_test",
            httpx_args={"transport": httpx.MockTransport(self.handle)},
        )

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()
