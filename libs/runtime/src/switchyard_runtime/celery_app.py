"""The one Celery app factory every service uses; all Celery settings live here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from celery.app.amqp import AMQP
from kombu.utils.objects import cached_property

from contracts.routing import LOST_MESSAGES_QUEUE, TASK_QUEUES, route_task
from contracts.topology import UNROUTABLE_QUEUE
from switchyard_runtime.database import connect_args
from switchyard_runtime.dead_letters import QueueWatch
from switchyard_runtime.declaration import declare_needs
from switchyard_runtime.entitlements import USER_ID, Entitlements
from switchyard_runtime.results import close_connections
from switchyard_runtime.settings import PlatformSettings

#: How long task results stay in ``celery_taskmeta`` before ``celery.backend_cleanup``
#: deletes them. The API copies every finished workflow into its own tables long before.
RESULT_EXPIRES = timedelta(days=7)


class PlatformAMQP(AMQP):
    """Celery's AMQP layer, stamping every task message with its producer's broker user.

    The AMQP ``user_id`` property, which RabbitMQ checks against the connection's user, is
    how a worker knows who produced a message (:mod:`switchyard_runtime.entitlements`). Set on
    every task message this app publishes, whatever path it takes (``send_task``,
    canvases, a chain's next step or a chord's callback published by a worker, a retry),
    always to the publishing connection's user: a value copied from a received message
    would make the broker refuse the publish.
    """

    @cached_property
    def send_task_message(self) -> Any:
        send = self._create_task_sender()  # type: ignore[attr-defined]

        def send_as_producer(producer: Any, name: str, message: Any, **kwargs: Any) -> Any:
            connection = producer.connection
            kwargs[USER_ID] = getattr(connection, "userid", None) or "guest"
            return send(producer, name, message, **kwargs)

        return send_as_producer


class PlatformCelery(Celery):
    """Celery, whose ``close()`` also closes the result backend's pooled connections, and
    whose task messages name their producer (:class:`PlatformAMQP`)."""

    amqp_cls = f"{__name__}:PlatformAMQP"
    #: Who may act for which tenant, judged by the worker's consumer (switchyard_runtime.poison).
    entitlements: Entitlements = Entitlements.of()

    def close(self) -> None:
        super().close()
        close_connections(self)


def create_celery_app(name: str, settings: PlatformSettings) -> Celery:
    """A Celery app wired to the platform's broker, result backend and topology.

    JSON is the only serializer accepted anywhere (no pickle); messages are acknowledged
    after the task ran and requeued when a worker dies; publishes wait for the broker's
    confirm; results go to PostgreSQL through Celery's database backend
    (:class:`switchyard_runtime.results.ResultBackend`). A worker moves what it must not run
    (garbage, unknown tasks, invalid payloads, a message that keeps killing it) to the
    dead-letter queue with the reason (:mod:`switchyard_runtime.poison`) and logs what waits in
    ``unroutable`` and its dead-letter queues (:class:`switchyard_runtime.dead_letters.QueueWatch`).
    """
    app = PlatformCelery(name, set_as_current=False)
    app.entitlements = Entitlements.of(
        settings.tenant_producers,
        scheduler_tenant=settings.scheduler_tenant,
        own_user=settings.amqp_user,
    )
    app.backend_cls = "switchyard_runtime.results:ResultBackend"
    app.conf.update(
        broker_url=str(settings.amqp_url),
        broker_connection_retry_on_startup=True,
        broker_transport_options={"confirm_publish": True},
        result_backend=settings.result_backend_url,
        # The tables are made by `api migrate` (prepare_result_store), not by every
        # backend Celery builds (one per thread), which would each open a connection.
        database_create_tables_at_setup=False,
        result_extended=True,
        result_expires=RESULT_EXPIRES,
        # The backend keeps one pooled engine per process (switchyard_runtime.results). No ping
        # before each checkout (a round trip per write): a connection broken by a
        # database restart fails its statement, and the retries below start afresh.
        database_engine_options={
            "pool_pre_ping": False,
            "pool_size": settings.db_result_pool_size,
            "max_overflow": settings.db_result_pool_max_overflow,
            "pool_recycle": 1800,
            # No prepared statements through a transaction pooler; the session's time
            # zone is set on connect (switchyard_runtime.database), as date_done is naive.
            "connect_args": connect_args(name, pooled=settings.transaction_pooled),
        },
        # Claims hold a session advisory lock across a task: on DATABASE_SESSION_URL,
        # never through a transaction pooler (switchyard_runtime.results).
        result_backend_claims_url=(
            settings.sync_session_database_url
            if settings.session_database_url != str(settings.database_url)
            else None
        ),
        # Celery's database backend gives up after three retries milliseconds apart; the
        # worker then acknowledges the message with nothing stored, so a database restart
        # lost the task and left its workflow stuck. These ride out an outage of about
        # 45 s on average (full-jitter backoff doubling from 0.5 s up to 5 s).
        result_backend_always_retry=True,
        result_backend_max_retries=20,
        result_backend_base_sleep_between_retries_ms=250,
        result_backend_max_sleep_between_retries_ms=5000,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # STARTED is stored by ContractTask's claim (switchyard_runtime.worker); this covers the
        # rest (Celery's own tasks).
        task_track_started=True,
        worker_prefetch_multiplier=1,
        worker_deduplicate_successful_tasks=True,
        worker_hijack_root_logger=False,
        worker_consumer="switchyard_runtime.poison:Consumer",
        # Task events (for Flower) cost every task three more messages and every
        # publish one; off unless TASK_EVENTS is set. Flower turns them on in running
        # workers itself (its enable_events broadcast).
        worker_send_task_events=settings.task_events,
        task_send_sent_event=settings.task_events,
        task_queues=TASK_QUEUES,
        task_routes=(route_task,),
        task_default_queue=UNROUTABLE_QUEUE.name,
        task_create_missing_queues=False,
        broker_native_delayed_delivery_queue_type="quorum",
        enable_utc=True,
        timezone="UTC",
    )
    app.steps["consumer"].add(QueueWatch)
    return app


def declare_topology(app: Celery) -> None:
    """Declare every exchange, queue and binding of the system on ``app``'s broker.

    What a service consuming every queue relies on (:mod:`switchyard_runtime.declaration`, the
    declaration each service makes of its own part when it starts): dead-letter queues,
    the unroutable catch-all, the API's tap on lost messages, and Celery's
    delayed-delivery exchanges used by retries, so messages published before a worker
    ever ran are routed, not dropped.
    """
    declare_needs(app, (*TASK_QUEUES, LOST_MESSAGES_QUEUE), max_retries=3)


def prepare_result_store(app: Celery) -> None:
    """Create Celery's result tables if they are missing (idempotent)."""
    backend: Any = app.backend
    backend.ResultSession().close()
