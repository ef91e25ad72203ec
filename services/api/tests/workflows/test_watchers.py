"""Watchers: a waiting request is woken by a change of its workflow, and only by that."""

from __future__ import annotations

import uuid

import anyio

from api.workflows.watchers import Watchers


def test_a_change_wakes_the_watchers_of_that_workflow_only() -> None:
    watchers = Watchers()
    mine, other = uuid.uuid4(), uuid.uuid4()

    async def scenario() -> tuple[bool, bool]:
        with watchers.watch(mine) as watch, watchers.watch(other) as bystander:
            watchers.changed(mine)
            return await watch.wait(1), await bystander.wait(0.05)

    assert anyio.run(scenario) == (True, False)
    assert len(watchers) == 0, "a finished request leaves nothing behind"


def test_a_wait_without_change_times_out_and_a_change_rearms() -> None:
    watchers = Watchers()
    workflow = uuid.uuid4()

    async def scenario() -> list[bool]:
        seen = []
        with watchers.watch(workflow) as watch:
            seen.append(await watch.wait(0.05))
            watchers.changed(workflow)
            seen.append(await watch.wait(1))
            seen.append(await watch.wait(0.05))  # the change was consumed
        return seen

    assert anyio.run(scenario) == [False, True, False]


def test_everything_changed_wakes_every_watcher() -> None:
    watchers = Watchers()

    async def scenario() -> list[bool]:
        with watchers.watch(uuid.uuid4()) as first, watchers.watch(uuid.uuid4()) as second:
            assert len(watchers) == 2
            watchers.all_changed()
            return [await first.wait(1), await second.wait(1)]

    assert anyio.run(scenario) == [True, True]
