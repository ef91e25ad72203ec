"""What PostgreSQL tells each API process, on one dedicated connection of its own.

Channels (each payload is small: PostgreSQL caps a notification at 8,000 bytes, so
listeners are told *what* changed and read it themselves, as que, Procrastinate and
River do):

- ``switchyard_workflows``: a workflow's document changed (payload: its id), sent by a
  trigger on ``api.workflows``; wakes this process's long polls of it.
- ``switchyard_steps``: a step's result row changed (payload: its workflow's id), sent
  by a trigger on Celery's ``celery_taskmeta``; listened to by one API process at a time,
  the status leader, which brings the documents up to date (:mod:`.updater`).
- ``switchyard_outbox``: another process (the intake) committed an outbox message.
- ``switchyard_keys``: an API key was revoked; cached keys are dropped.

The same connection holds the status leadership: a session advisory lock, released by
PostgreSQL when the connection ends, so when the leader's process dies another process's
listener takes over within :data:`HEARTBEAT` seconds. Notifications sent while a
listener is disconnected are lost; each (re)connect therefore runs ``on_connected``
(waiters re-read, the relay drains, cached keys are dropped) and a new leader reconciles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import anyio
import asyncpg
import structlog

from api import db
from switchyard_runtime.settings import PlatformSettings

log = structlog.get_logger(__name__)

WORKFLOWS_CHANNEL = "switchyard_workflows"
STEPS_CHANNEL = "switchyard_steps"
OUTBOX_CHANNEL = "switchyard_outbox"
KEYS_CHANNEL = "switchyard_keys"

#: Advisory lock key of the status leadership: one updater across all API processes.
STATUS_LOCK = 0x7374_6174  # "stat"

#: Seconds between a follower's bids for the leadership (and a leader's keep-alive,
#: which notices a dead connection when nothing else is said on it).
HEARTBEAT = 5.0
MAX_BACKOFF = 10.0


class Leadership(Protocol):
    """What the leader does: follow ``switchyard_steps`` and keep documents current."""

    def step_changed(self, payload: str) -> None: ...

    def gained(self) -> None: ...

    def lost(self) -> None: ...


Handler = Callable[[str], None]


class Listener:
    """LISTENs on a dedicated connection, reconnecting, and bids for the leadership."""

    def __init__(
        self,
        settings: PlatformSettings,
        handlers: Mapping[str, Handler],
        *,
        on_connected: Callable[[], None],
        leadership: Leadership | None = None,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self._settings = settings
        self._handlers = dict(handlers)
        self._on_connected = on_connected
        self._leadership = leadership
        self._heartbeat = heartbeat
        self.connected = False
        self.leading = False

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                conn = await db.connect(self._settings, "api-listener")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("notification listener cannot connect", error=str(exc), retry=delay)
                await anyio.sleep(delay)
                delay = min(MAX_BACKOFF, delay * 2)
                continue
            delay = 0.5
            try:
                await self._serve(conn)
            except Exception as exc:
                log.warning("notification listener lost its connection", error=repr(exc))
            finally:
                self._disconnected()
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    await conn.close()

    def _callback(self, handler: Handler) -> Callable[..., None]:
        def on_notification(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            try:
                handler(payload)
            except Exception:
                log.exception("notification handler failed", payload=payload)

        return on_notification

    async def _serve(self, conn: asyncpg.Connection) -> None:
        closed = anyio.Event()
        conn.add_termination_listener(lambda _conn: closed.set())
        for channel, handler in self._handlers.items():
            await conn.add_listener(channel, self._callback(handler))
        self.connected = True
        self._on_connected()
        while not closed.is_set():
            if self._leadership is not None and not self.leading:
                if await conn.fetchval("SELECT pg_try_advisory_lock($1::bigint)", STATUS_LOCK):
                    await conn.add_listener(
                        STEPS_CHANNEL, self._callback(self._leadership.step_changed)
                    )
                    self.leading = True
                    log.info("status leadership taken")
                    self._leadership.gained()
            else:
                await conn.fetchval("SELECT 1")
            with anyio.move_on_after(self._heartbeat):
                await closed.wait()

    def _disconnected(self) -> None:
        self.connected = False
        if self.leading and self._leadership is not None:
            self.leading = False
            log.warning("status leadership lost with the listener's connection")
            self._leadership.lost()
