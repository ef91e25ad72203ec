"""Celery beat with one leader: ``scheduler`` (``celery -A scheduler.beat:app beat``).

:class:`LeaderScheduler` replaces beat's shelve file and its heap: while it is not the
leader it asks for the leadership every second (:mod:`scheduler.leader`); as the leader
it sends each schedule's due tick and records it in PostgreSQL, in that order. The tick
carries its nominal fire time, and the intake derives the workflow's id from it, so a
tick sent again after a failover (sent, then the leader died before recording it) is
still one workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from celery import Celery
from celery.beat import Scheduler
from celery.signals import setup_logging
from sqlalchemy.exc import DBAPIError

from contracts import StartWorkflow, dispatch
from contracts.workflows import workflow_id_for
from scheduler import leader, schedules
from scheduler.cadence import due_ticks
from scheduler.config import Settings, get_settings
from scheduler.leader import Leadership, LeadershipLost
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.declaration import declare_needs
from switchyard_runtime.logs import configure_logging

log = structlog.get_logger(__name__)

#: Seconds between a standby's attempts to lead, and the longest a leader sleeps
#: between two checks of its connection.
RETRY_INTERVAL = 1.0


def now() -> datetime:
    return datetime.now(UTC)


class LeaderScheduler(Scheduler):
    """Sends due ticks while it holds the leadership; otherwise waits for it."""

    def __init__(self, app: Celery, *args: Any, **kwargs: Any) -> None:
        self.settings: Settings = get_settings()
        self.timetable = schedules.load(self.settings)
        self.leadership = Leadership(leader.leader_engine(self.settings.sync_session_database_url))
        self.last_runs: dict[str, datetime] = {}
        self._standby_logged = False
        self._declared = False
        super().__init__(app, *args, **kwargs)

    def setup_schedule(self) -> None:
        # The first send would load the result backend (SQLAlchemy and its models, which
        # takes seconds): load it now, so the first tick leaves on time.
        self.app.backend  # noqa: B018
        for entry in self.timetable.active:
            log.info(
                "schedule active",
                schedule=entry.name,
                cadence=entry.cadence.describe(),
                about=entry.schedule.about,
            )
        for name, reason in self.timetable.off.items():
            log.info("schedule off", schedule=name, reason=reason)

    @property
    def info(self) -> str:
        lines = [f"    . {a.name}: {a.cadence.describe()}" for a in self.timetable.active]
        lines += [f"    . {name}: off ({reason})" for name, reason in self.timetable.off.items()]
        return "\n".join(lines)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """One pass: lead (or try to), send what is due; seconds until the next pass."""
        if not self.leadership.held and not self._become_leader():
            return RETRY_INTERVAL
        try:
            return self._send_due()
        except LeadershipLost as exc:
            log.error("scheduler lost the leadership; it sends nothing more", error=str(exc))
            self.leadership.lose()
            return RETRY_INTERVAL

    def _become_leader(self) -> bool:
        if not self.leadership.try_acquire():
            if not self._standby_logged:
                log.info("scheduler on standby: another scheduler leads")
                self._standby_logged = True
            return False
        try:
            names = [entry.name for entry in self.timetable.active]
            self.last_runs = leader.load_state(self.leadership.connection, names, now())
        except DBAPIError as exc:
            log.warning("scheduler could not read its state", error=str(exc.orig))
            self.leadership.lose()
            return False
        self._standby_logged = False
        log.info(
            "scheduler is the leader",
            last_runs={name: moment.isoformat() for name, moment in self.last_runs.items()},
        )
        return True

    def _send_due(self) -> float:
        self.leadership.check()
        for entry in self.timetable.active:
            for tick in due_ticks(entry.cadence, self.last_runs[entry.name], now()):
                if not self._run(entry, tick):
                    break  # not sent: this tick and the later ones wait for the next pass
        moment = now()
        wake = min(
            (
                entry.cadence.next_after(max(self.last_runs[entry.name], moment))
                for entry in self.timetable.active
            ),
            default=None,
        )
        if wake is None:
            return RETRY_INTERVAL
        return max(0.0, min(RETRY_INTERVAL, (wake - moment).total_seconds()))

    def _run(self, entry: schedules.Active, tick: datetime) -> bool:
        """Send ``tick`` unless it was sent already, then record it: send, then record.

        ``False`` when it could not be sent (it stays due).
        """
        conn = self.leadership.connection
        try:
            stored = leader.last_run(conn, entry.name)
        except DBAPIError as exc:
            raise LeadershipLost(str(exc.orig)) from exc
        if stored is not None and stored >= tick:
            self.last_runs[entry.name] = stored
            return True
        context: dict[str, str] = {"schedule": entry.name, "tick": tick.isoformat()}
        try:
            if not self._declared:
                # What the scheduler publishes to exists before its first tick leaves.
                declare_needs(self.app)
                self._declared = True
            job = entry.schedule.job(tick, self.settings)
            if isinstance(job, StartWorkflow):
                context["workflow_id"] = str(workflow_id_for(job.schedule, job.tick))
                context["task_id"] = dispatch(self.app, job)
            else:
                context["task_id"] = str(self.app.send_task(job).id)
        except Exception as exc:  # the broker may be away: the tick stays due
            log.error("tick not sent; trying again", error=repr(exc), **context)
            return False
        try:
            recorded = leader.record(conn, entry.name, tick, now())
        except DBAPIError as exc:
            # Sent but not recorded: the next leader sends this tick again, and the
            # intake finds its workflow already there.
            log.info("tick sent", **context)
            raise LeadershipLost(str(exc.orig)) from exc
        self.last_runs[entry.name] = tick
        if recorded:
            log.info("tick sent", **context)
        else:
            log.warning("tick sent, but a later one was recorded meanwhile", **context)
        return True

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leadership.release()


app = create_celery_app("scheduler", get_settings())
app.conf.beat_scheduler = f"{LeaderScheduler.__module__}:{LeaderScheduler.__qualname__}"


@setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("scheduler")
