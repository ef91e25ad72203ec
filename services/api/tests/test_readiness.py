"""``/readyz``'s answer: checked at most once a second, shared by concurrent requests."""

from __future__ import annotations

from collections.abc import Mapping

import anyio

from api.readiness import Readiness, Report


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Probe:
    """A check that counts how often it ran, and takes a moment, as a connection does."""

    def __init__(self, state: str = "ok") -> None:
        self.runs = 0
        self.state = state

    async def __call__(self) -> Mapping[str, str]:
        self.runs += 1
        await anyio.sleep(0.05)
        return {"broker": self.state}


def test_concurrent_requests_share_one_check() -> None:
    probe = Probe()
    readiness = Readiness([probe], clock=Clock())
    reports: list[Report] = []

    async def ask() -> None:
        reports.append(await readiness.report())

    async def many() -> None:
        async with anyio.create_task_group() as requests:
            for _ in range(50):
                requests.start_soon(ask)

    anyio.run(many)

    assert probe.runs == 1
    assert len(reports) == 50
    assert all(report.ready for report in reports)


def test_the_answer_is_reused_for_a_second_then_checked_again() -> None:
    probe, clock = Probe(), Clock()
    readiness = Readiness([probe], clock=clock)
    for _ in range(20):
        anyio.run(readiness.report)
    clock.now += 0.9
    anyio.run(readiness.report)
    assert probe.runs == 1
    probe.state = "down: ConnectionRefusedError"
    clock.now += 0.2
    report = anyio.run(readiness.report)
    assert probe.runs == 2
    assert not report.ready
    assert report.down == ["broker"]


def test_every_check_contributes_and_down_names_each_failing_one() -> None:
    async def database() -> Mapping[str, str]:
        return {"database": "ok", "outbox": "a message due 42 s ago is not published"}

    async def relay() -> Mapping[str, str]:
        return {"relay": "failing: the broker blocks publishers"}

    report = anyio.run(Readiness([database, Probe(), relay], clock=Clock()).report)
    assert list(report.checks) == ["broker", "database", "outbox", "relay"]
    assert report.down == ["outbox", "relay"]
