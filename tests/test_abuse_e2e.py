"""The API cannot be exhausted: held long polls are capped per key, a flood of made-up
keys is refused in memory, a pool's wait is bounded (503), a slow download pins nothing.

Each scenario runs its own API process (a replica of the session's, on the same database
and broker) with the settings it needs; the session's workers do the work.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import TENANT, System, api_client
from tests.support import processes
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import free_port

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"


@dataclass
class Api:
    url: str
    port: int
    process: processes.ServiceProcess


def start_api(system: System, log_dir: Path, name: str, **settings: str) -> Api:
    port = free_port()
    env = {**system.env, "API_HOST": HOST, "API_PORT": str(port), **settings}
    api = processes.start(name, ["api"], env, log_dir)
    url = f"http://{HOST}:{port}"
    processes.wait_until_ready(api, f"{url}/readyz")
    return Api(url, port, api)


@pytest.fixture(scope="module")
def capped_api(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Two server processes, the default pools and budgets, 100 long polls per key."""
    api = start_api(
        system,
        tmp_path_factory.mktemp("capped-api"),
        "api-capped",
        API_WORKERS="2",
        LONG_POLLS_PER_KEY="100",
    )
    yield api
    api.process.stop()


@pytest.fixture(scope="module")
def one_connection_api(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One server process with one request connection to the database."""
    api = start_api(
        system,
        tmp_path_factory.mktemp("one-connection-api"),
        "api-one-connection",
        API_WORKERS="1",
        DB_POOL_SIZE="1",
    )
    yield api
    api.process.stop()


def finished_workflow(system: System) -> tuple[str, str]:
    """A finished workflow of the tests tenant: its status path and ETag."""
    with api_client(system) as client:
        accepted = client.post(
            "/v1/emails", json={"to": ["ada@example.com"], "subject": "abuse", "text": "x"}
        )
        assert accepted.status_code == 202, accepted.text
        wait_for_workflow(client, accepted.json()["workflow_id"])
        path = accepted.json()["status_url"]
        return path, client.get(path).headers["ETag"]


class HeldPoll:
    """One long poll on its own HTTP/1.1 connection (a raw stream: a thousand httpx
    clients would cost this process more than the server it tests)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def send(cls, port: int, path: str, key: str, etag: str, wait: float) -> HeldPoll:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(
            f"GET {path}?wait={wait} HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Authorization: Bearer {key}\r\nIf-None-Match: {etag}\r\n\r\n".encode()
        )
        await writer.drain()
        return cls(reader, writer)

    async def status(self, timeout: float) -> int | None:
        """The answer's status code, or ``None`` when none came within ``timeout``."""
        try:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
        except TimeoutError:
            return None
        return int(line.split()[1])

    def close(self) -> None:
        self.writer.close()


async def flood_of_made_up_keys(url: str, seconds: float, connections: int) -> Counter[int]:
    answers: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:

        async def one_connection() -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                made_up = f"swy_{uuid.uuid4().hex}"
                answer = await client.get(
                    f"/v1/workflows/{uuid.uuid4()}",
                    headers={"Authorization": f"Bearer {made_up}"},
                )
                answers[answer.status_code] += 1

        await asyncio.gather(*(one_connection() for _ in range(connections)))
    return answers


async def timed_submits(url: str, key: str, seconds: float) -> list[tuple[int, float]]:
    answers = []
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=processes.bearer(key)) as c:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.monotonic()
            answer = await c.post(
                "/v1/emails",
                json={"to": ["ada@example.com"], "subject": "while flooded", "text": "x"},
            )
            answers.append((answer.status_code, time.monotonic() - began))
            await asyncio.sleep(0.2)
    return answers


def test_held_polls_and_a_flood_of_made_up_keys_leave_submits_answered_in_time(
    system: System, capped_api: Api
) -> None:
    path, etag = finished_workflow(system)
    poll_keys = [processes.create_api_key(system.env, TENANT) for _ in range(5)]

    async def scenario() -> None:
        polls = [
            await HeldPoll.send(capped_api.port, path, key, etag, wait=15)
            for key in poll_keys
            for _ in range(100)
        ]
        try:
            early = await asyncio.gather(*(poll.status(timeout=0.05) for poll in polls[:50]))
            await asyncio.sleep(2)
            assert early == [None] * 50, "every poll is held: its document does not change"

            async with httpx.AsyncClient(base_url=capped_api.url, timeout=10) as client:
                over = await client.get(
                    path,
                    params={"wait": 15},
                    headers={**processes.bearer(poll_keys[0]), "If-None-Match": etag},
                )
            assert over.status_code == 429, over.text
            assert int(over.headers["Retry-After"]) >= 1
            assert "LONG_POLLS_PER_KEY" in over.json()["detail"]

            flood, submits = await asyncio.gather(
                flood_of_made_up_keys(capped_api.url, seconds=5, connections=20),
                timed_submits(capped_api.url, system.api_key, seconds=5),
            )
            print(f"flood answers {dict(flood)}; submits {submits}")
            assert set(flood) <= {401, 429}, f"made-up keys are refused, never 5xx: {flood}"
            assert flood[429] > 0, "the flood went past its address's budget"
            assert submits and all(status == 202 for status, _ in submits), submits
            slowest = max(seconds for _, seconds in submits)
            assert slowest < 1.0, f"a submit took {slowest:.2f}s while flooded"

            answered = await asyncio.gather(*(poll.status(timeout=30) for poll in polls))
            assert Counter(answered) == {304: 500}, "each held poll ends in 304 at its wait"
        finally:
            for poll in polls:
                poll.close()

    asyncio.run(scenario())


def test_a_request_waits_at_most_two_seconds_for_a_connection_then_gets_503(
    system: System, one_connection_api: Api, database_url: str
) -> None:
    path, _ = finished_workflow(system)
    headers = processes.bearer(system.api_key)
    with httpx.Client(base_url=one_connection_api.url, timeout=30, headers=headers) as client:
        assert client.get(path).status_code == 200  # the key is cached from here on

    async def scenario() -> None:
        async with httpx.AsyncClient(
            base_url=one_connection_api.url, timeout=30, headers=headers
        ) as client:
            with psycopg.connect(database_url) as lock:
                # The read of the one pooled connection waits behind this lock.
                lock.execute("LOCK TABLE api.workflows IN ACCESS EXCLUSIVE MODE")
                holding = asyncio.create_task(client.get(path))
                await asyncio.sleep(0.5)
                began = time.monotonic()
                waiting = await client.get(path)
                waited = time.monotonic() - began
                lock.rollback()
            assert waiting.status_code == 503, waiting.text
            assert waiting.headers["Retry-After"] == "2"
            assert "busy" in waiting.json()["detail"]
            assert waited < 3.5, f"answered after {waited:.1f}s"
            assert (await holding).status_code == 200, "the held read completes after"

    asyncio.run(scenario())


def test_a_slow_download_holds_no_connection_between_chunks(
    system: System, one_connection_api: Api, database_url: str
) -> None:
    report_id, chunks, size = uuid.uuid4(), 24, 1024 * 1024
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO report_worker.reports (id, tenant, kind, format, period_start,"
            " period_end, content_type, filename, size, sha256, rows, created_at)"
            " VALUES (%s, %s, 'email_activity', 'csv', current_date, current_date,"
            " 'text/csv', 'big.csv', %s, 'x', 1, now())",
            (report_id, TENANT, chunks * size),
        )
        for seq in range(chunks):
            conn.execute(
                "INSERT INTO report_worker.report_chunks (report_id, seq, data)"
                " VALUES (%s, %s, %s)",
                (report_id, seq, bytes([65 + seq % 26]) * size),
            )
    path, _ = finished_workflow(system)
    headers = processes.bearer(system.api_key)
    with httpx.Client(base_url=one_connection_api.url, timeout=30, headers=headers) as client:
        with client.stream("GET", f"/v1/reports/{report_id}/content") as download:
            assert download.status_code == 200
            pieces = download.iter_raw(64 * 1024)
            received = len(next(pieces))
            time.sleep(1.0)  # a slow reader: the server's sends now wait on this client
            began = time.monotonic()
            meanwhile = client.get(path)
            assert meanwhile.status_code == 200, meanwhile.text
            assert time.monotonic() - began < 1.5
            received += sum(len(piece) for piece in pieces)
        assert received == chunks * size
