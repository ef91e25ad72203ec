"""Publishing a batch of canvases and waiting for all their publisher confirms at once.

Celery's publisher confirms (``confirm_publish``) wait for each message's confirm before
the next one goes: a round trip to a quorum queue per message. The relay instead puts
its own channel in confirm mode, publishes the whole batch through Celery's canvas (so
chains, groups and chords go out exactly as ``apply_async`` sends them, by task name),
and then waits, with a timeout, for the broker to confirm every message of it. Delivery
tags count the channel's publishes, so each outbox message knows which tags are its own.

Blocking (kombu and py-amqp are): run it in a thread, never on the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from celery import Celery
from kombu import Connection

from contracts.declaration import declare_needs

log = structlog.get_logger(__name__)

#: Seconds the broker has to confirm a whole batch.
CONFIRM_TIMEOUT = 10.0


class ConfirmTimeout(Exception):
    """The broker did not confirm every message of a batch in time."""


class BatchPublisher:
    """Owns one broker connection and channel in confirm mode; not thread-safe."""

    def __init__(self, app: Celery, confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self._app = app
        self._confirm_timeout = confirm_timeout
        self._connection: Connection | None = None
        self._channel: Any = None
        self._published = 0  # publishes on the channel so far: the last delivery tag
        self._acked_upto = 0  # every tag up to this one is confirmed
        self._acked: set[int] = set()
        self._nacked: set[int] = set()

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception as exc:  # the connection is dead already
                log.debug("closing the relay's broker connection failed", error=str(exc))

    def _open(self) -> Any:
        if self._channel is not None:
            return self._channel
        # Celery's own confirm_publish would wait for each message in turn: off here.
        connection = self._app.connection_for_write(transport_options={"confirm_publish": False})
        connection.ensure_connection(max_retries=1)
        try:
            # What the API publishes to (each exchange and its alternate exchange with its
            # queue) exists before its first publish, even on a vhost nobody migrated.
            declare_needs(self._app)
        except Exception:
            connection.release()
            raise
        channel: Any = connection.default_channel
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        publish: Callable[..., Any] = channel.basic_publish

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._published += 1
            return publish(*args, **kwargs)

        channel.basic_publish = counted
        self._connection, self._channel = connection, channel
        self._published, self._acked_upto = 0, 0
        self._acked.clear()
        self._nacked.clear()
        return channel

    def _on_ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._acked_upto = max(self._acked_upto, tag)
        else:
            self._acked.add(tag)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._nacked.update(range(self._acked_upto + 1, tag + 1))
            self._acked_upto = max(self._acked_upto, tag)
        else:
            self._nacked.add(tag)

    def _confirmed(self, tag: int) -> bool:
        return tag not in self._nacked and (tag <= self._acked_upto or tag in self._acked)

    def _settled(self, tag: int) -> bool:
        return tag <= self._acked_upto or tag in self._acked or tag in self._nacked

    def publish(self, messages: Sequence[dict[str, Any]]) -> list[bool]:
        """Publish each canvas; whether the broker confirmed each one (in order).

        Messages after a failed publish are not sent (``False``); raises only when not
        even the first could be tried (the broker cannot be reached).
        """
        channel = self._open()
        producer = self._app.amqp.Producer(channel, auto_declare=False)
        tags: list[tuple[int, int] | None] = []
        for message in messages:
            first = self._published + 1
            try:
                self._app.signature(message).apply_async(producer=producer, retry=False)
            except Exception as exc:
                log.warning("publish failed", error=str(exc))
                self.close()
                tags.extend([None] * (len(messages) - len(tags)))
                break
            tags.append((first, self._published))
        self._wait_for(max((last for _, last in filter(None, tags)), default=0))
        return [
            span is not None and all(self._confirmed(t) for t in range(span[0], span[1] + 1))
            for span in tags
        ]

    def _wait_for(self, last: int) -> None:
        if last == 0 or self._connection is None:
            return
        deadline = time.monotonic() + self._confirm_timeout
        try:
            while not all(self._settled(tag) for tag in range(self._acked_upto + 1, last + 1)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConfirmTimeout(f"no confirm within {self._confirm_timeout:g} s")
                self._connection.drain_events(timeout=remaining)
        except (TimeoutError, ConfirmTimeout) as exc:
            log.warning("publisher confirms timed out", error=str(exc))
            # Unconfirmed messages are published again later; this channel's late
            # confirms would be ambiguous, so it is given up.
            self.close()
        except Exception as exc:
            log.warning("waiting for publisher confirms failed", error=str(exc))
            self.close()
