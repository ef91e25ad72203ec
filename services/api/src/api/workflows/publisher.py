"""Publishing a batch of canvases and waiting for all their publisher confirms at once.

Celery's publisher confirms (``confirm_publish``) wait for each message's confirm before
the next one goes: a round trip to a quorum queue per message. The relay instead puts
its own channel in confirm mode, publishes the whole batch through Celery's canvas (so
chains, groups and chords go out exactly as ``apply_async`` sends them, by task name),
and then waits, with a timeout, for the broker to confirm every message of it. Delivery
tags count the channel's publishes, so each outbox message knows which tags are its own.

Each message of a batch ends in one of three ways (:class:`Outcome`):

- **confirmed**: the broker has it;
- **refused**: the broker said no to *this* message: a ``basic.nack`` (a queue it routes
  to is at its ``max-length`` with ``reject-publish``, or unavailable), or a channel
  error its publish caused (an exchange that does not exist). A channel error does not
  say which publish caused it, so the unconfirmed messages of that batch are published
  again one at a time, and only the one that causes it again is refused;
- **unsettled**: the broker said nothing about it, because of the broker as a whole: it
  cannot be reached, the connection broke, it blocks publishers (``connection.blocked``:
  a memory or disk alarm) or it did not confirm within the timeout.
  :attr:`Batch.stalled` says which.

Every wait is bounded: connecting (kombu's connect timeout), writing (``write_timeout``
on the socket, as long as the confirm timeout), and confirming. A blocked connection is
kept (closing it cleanly would wait for a broker that no longer reads it) until the
broker unblocks it; :meth:`BatchPublisher.wait_unblocked` waits for that.

Blocking (kombu and py-amqp are): run it in a thread, never on the event loop.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from celery import Celery
from kombu import Connection
from kombu.exceptions import OperationalError

from api.workflows.confirms import Confirms
from switchyard_runtime.declaration import declare_needs
from switchyard_runtime.failover import retries_per_node

log = structlog.get_logger(__name__)

#: Seconds the broker has to confirm a whole batch.
CONFIRM_TIMEOUT = 10.0

#: Why a nacked message was refused (a ``basic.nack`` carries no reason of its own).
NACKED = "the broker refused the message (basic.nack: a queue it routes to is full or unavailable)"
BLOCKED = "the broker blocks publishers (connection.blocked: a memory or disk alarm)"


class Outcome(enum.Enum):
    CONFIRMED = "confirmed"
    REFUSED = "refused"
    UNSETTLED = "unsettled"


@dataclass(frozen=True)
class Published:
    """What became of one message; ``reason`` says why it was refused."""

    outcome: Outcome
    reason: str | None = None


CONFIRMED = Published(Outcome.CONFIRMED)
UNSETTLED = Published(Outcome.UNSETTLED)


@dataclass(frozen=True)
class Batch:
    """What became of each message of a batch (in order), and why some are unsettled."""

    results: list[Published]
    #: Why the broker settled some messages neither way; ``None`` when it settled all.
    stalled: str | None = None
    #: The connection broke (rather than blocked or timed out): a fresh one may do.
    lost: bool = False


class BatchPublisher:
    """Owns one broker connection and channel in confirm mode; not thread-safe."""

    def __init__(self, app: Celery, confirm_timeout: float = CONFIRM_TIMEOUT) -> None:
        self._app = app
        self._confirm_timeout = confirm_timeout
        self._connection: Connection | None = None
        self._channel: Any = None
        self._confirms = Confirms()
        #: The broker said ``connection.blocked`` and not yet ``connection.unblocked``.
        self.blocked = False

    # --- the connection ------------------------------------------------------------

    def close(self) -> None:
        """Close the connection: cleanly, unless the broker blocks it (then it would
        never answer the close)."""
        if self.blocked:
            self._drop()
            return
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception as exc:  # the connection is dead already
                log.debug("closing the relay's broker connection failed", error=str(exc))

    def _drop(self) -> None:
        """Give the connection up without a closing handshake (its state is unknown)."""
        connection, self._connection, self._channel = self._connection, None, None
        self.blocked = False
        if connection is not None:
            try:
                connection.collect()
            except Exception as exc:
                log.debug("dropping the relay's broker connection failed", error=str(exc))

    def _on_blocked(self, reason: str) -> None:
        self.blocked = True

    def _on_unblocked(self) -> None:
        self.blocked = False

    def _open(self) -> Any:
        if self._channel is not None:
            return self._channel
        connection = self._app.connection_for_write(
            transport_options={
                # Celery's own confirm_publish would wait for each message in turn: off.
                "confirm_publish": False,
                "on_blocked": self._on_blocked,
                "on_unblocked": self._on_unblocked,
                # A broker that stops reading (blocked) fills the socket: bound the write.
                "write_timeout": self._confirm_timeout,
            }
        )
        try:
            connection.ensure_connection(max_retries=retries_per_node(connection, 1))
            # What the API publishes to (each exchange and its alternate exchange with its
            # queue) exists before its first publish, even on a vhost nobody migrated.
            declare_needs(self._app)
            channel: Any = connection.default_channel
            channel.confirm_select()
        except BaseException:
            connection.collect()
            raise
        confirms = Confirms()
        channel.events["basic_ack"].add(confirms.on_ack)
        channel.events["basic_nack"].add(confirms.on_nack)
        publish: Callable[..., Any] = channel.basic_publish

        def counted(*args: Any, **kwargs: Any) -> Any:
            confirms.published += 1
            return publish(*args, **kwargs)

        channel.basic_publish = counted
        self._connection, self._channel = connection, channel
        self._confirms = confirms
        self.blocked = False
        return channel

    def wait_unblocked(self, timeout: float) -> bool:
        """Whether the broker takes publishes: at once unless it blocks this connection,
        else once it unblocks it within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            while self.blocked and self._connection is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    self._connection.drain_events(timeout=remaining)
                except TimeoutError:
                    return False
        except Exception as exc:  # the connection broke: the next publish opens another
            log.info("the relay's blocked broker connection broke", error=str(exc))
            self._drop()
        return True

    def _result(self, span: tuple[int, int]) -> Published:
        tags = range(span[0], span[1] + 1)
        if any(self._confirms.nacked(tag) for tag in tags):
            return Published(Outcome.REFUSED, NACKED)
        if all(self._confirms.answered(tag) for tag in tags):
            return CONFIRMED
        return UNSETTLED

    # --- publishing ----------------------------------------------------------------

    def publish(self, messages: Sequence[dict[str, Any]]) -> Batch:
        """Publish each canvas and wait for the broker's word on each (see the module)."""
        reused = self._channel is not None
        batch = self._publish(messages)
        if reused and batch.lost and all(r is UNSETTLED for r in batch.results):
            # The connection had died while idle (a broker restart, missed heartbeats):
            # that says nothing about the broker now, so once more on a fresh one.
            batch = self._publish(messages)
        return batch

    def _publish(self, messages: Sequence[dict[str, Any]]) -> Batch:
        try:
            channel = self._open()
        except Exception as exc:
            log.warning("cannot reach the broker", error=str(exc))
            return Batch(
                [UNSETTLED] * len(messages), f"cannot reach the broker ({type(exc).__name__})"
            )
        self._confirms.forget_answers()
        producer = self._app.amqp.Producer(channel, auto_declare=False)
        closed = self._errors("channel_errors")
        broken: tuple[type[BaseException], ...] = (
            OperationalError,
            OSError,
            *self._errors("connection_errors"),
        )
        spans: list[tuple[int, int] | Published] = []
        for index, message in enumerate(messages):
            first = self._confirms.published + 1
            try:
                self._app.signature(message).apply_async(producer=producer, retry=False)
            except closed as exc:
                # Read while publishing (a declare waits for its answer): the broker
                # closed the channel over this message or an earlier one of the batch.
                log.warning("the broker closed the relay's channel", error=str(exc))
                self._drop()
                spans.extend([UNSETTLED] * (len(messages) - index))
                return self._isolate(messages, spans, _reply_text(exc))
            except broken as exc:
                log.warning("publish failed: the broker connection broke", error=str(exc))
                self._drop()
                spans.extend([UNSETTLED] * (len(messages) - index))
                return Batch(
                    self._results(spans),
                    f"lost the broker connection ({type(exc).__name__})",
                    lost=True,
                )
            except Exception as exc:  # this message cannot be sent as it is
                spans.append(Published(Outcome.REFUSED, f"cannot be published: {exc}"))
                continue
            spans.append((first, self._confirms.published))
        tags = [span for span in spans if isinstance(span, tuple)]
        stalled = self._wait_for(tags[0][0], tags[-1][1]) if tags else None
        if isinstance(stalled, _Closed):
            return self._isolate(messages, spans, stalled.reason)
        if isinstance(stalled, _Stall):
            return Batch(self._results(spans), stalled.reason, lost=stalled.lost)
        return Batch(self._results(spans))

    def _errors(self, kind: str) -> tuple[type[BaseException], ...]:
        """The transport's ``connection_errors`` or ``channel_errors`` (py-amqp's)."""
        errors: tuple[type[BaseException], ...] = getattr(self._connection, kind, ())
        return tuple(errors)

    def _results(self, spans: Sequence[tuple[int, int] | Published]) -> list[Published]:
        return [span if isinstance(span, Published) else self._result(span) for span in spans]

    def _isolate(
        self,
        messages: Sequence[dict[str, Any]],
        spans: Sequence[tuple[int, int] | Published],
        reason: str,
    ) -> Batch:
        """The broker closed the channel over one of the unconfirmed messages (it does
        not say which): publish each of them alone to find it; the rest go out."""
        results = self._results(spans)
        unsettled = [i for i, result in enumerate(results) if result is UNSETTLED]
        if len(unsettled) == 1:
            results[unsettled[0]] = Published(Outcome.REFUSED, reason)
            return Batch(results)
        for index in unsettled:
            alone = self._publish([messages[index]])
            results[index] = alone.results[0]
            if alone.stalled is not None:
                return Batch(results, alone.stalled, lost=alone.lost)
        return Batch(results)

    def _wait_for(self, first: int, last: int) -> _Closed | _Stall | None:
        """Wait until the broker settled tags ``first`` to ``last``; what stopped it."""
        deadline = time.monotonic() + self._confirm_timeout
        connection = self._connection
        assert connection is not None
        closed = self._errors("channel_errors")
        while not all(self._confirms.answered(tag) for tag in range(first, last + 1)):
            if self.blocked:
                log.warning("the broker blocks the relay's connection")
                return _Stall(BLOCKED)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("publisher confirms timed out", timeout=self._confirm_timeout)
                # Late confirms on this channel would be ambiguous: it is given up.
                self._drop()
                return _Stall(f"no publisher confirm within {self._confirm_timeout:g} s")
            try:
                connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
            except closed as exc:
                log.warning("the broker closed the relay's channel", error=str(exc))
                self._drop()
                return _Closed(_reply_text(exc))
            except Exception as exc:
                log.warning("waiting for publisher confirms failed", error=str(exc))
                self._drop()
                return _Stall(f"lost the broker connection ({type(exc).__name__})", lost=True)
        return None


@dataclass(frozen=True)
class _Stall:
    """The broker settled nothing more: blocked, timed out, or the connection broke."""

    reason: str
    lost: bool = False


@dataclass(frozen=True)
class _Closed:
    """The broker closed the channel over a message of the batch, saying ``reason``."""

    reason: str


def _reply_text(error: BaseException) -> str:
    """What the broker said (``NOT_FOUND - no exchange 'x' in vhost 'y'``)."""
    text = getattr(error, "reply_text", None)
    return str(text) if text else str(error)
