"""Requests waiting for a workflow's document to change, woken in process.

A long poll (and a live stream) registers here before it reads the document, then waits
on its event; the notification listener wakes every watcher of a workflow when its
document changed, and every watcher at once when notifications may have been missed (the
listener reconnected). Waiting costs no database query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import anyio


class Watch:
    """One waiting request's view of one workflow."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change; whether one came. Re-armed."""
        with anyio.move_on_after(timeout):
            await self._event.wait()
        changed = self._event.is_set()
        if changed:
            self._event = anyio.Event()
        return changed


class Watchers:
    """Every :class:`Watch` of this process, by workflow."""

    def __init__(self) -> None:
        self._by_workflow: dict[UUID, set[Watch]] = {}

    def __len__(self) -> int:
        return sum(len(watches) for watches in self._by_workflow.values())

    @contextmanager
    def watch(self, workflow_id: UUID) -> Iterator[Watch]:
        watch = Watch()
        self._by_workflow.setdefault(workflow_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._by_workflow.get(workflow_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._by_workflow[workflow_id]

    def changed(self, workflow_id: UUID) -> None:
        for watch in self._by_workflow.get(workflow_id, ()):
            watch.notify()

    def all_changed(self) -> None:
        for watches in self._by_workflow.values():
            for watch in watches:
                watch.notify()
