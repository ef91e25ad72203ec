"""What each service's broker user may not do, refused by the real broker.

The users hold the compose file's grants on a fresh vhost where the admin declared the
whole topology. For each one, every declare of a queue that is not its own, every
publish to an exchange it does not publish to, and every consume of a queue it does not
consume must end in ``ACCESS_REFUSED`` (403), while what it does is allowed. The cases
are derived from the topology and :data:`switchyard_runtime.services.SERVICES`, so a queue
added to a contract is checked against every user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from amqp import Message
from kombu import Connection, Queue

from contracts.routing import DEAD_LETTER_QUEUES, LOST_MESSAGES_QUEUE, ROUTED_EXCHANGES, TASK_QUEUES
from contracts.topology import UNROUTABLE_QUEUE
from switchyard_runtime.celery_app import create_celery_app, declare_topology
from switchyard_runtime.grants import EVENT_EXCHANGE, PIDBOX_EXCHANGE
from switchyard_runtime.services import SERVICES, Service
from switchyard_runtime.settings import PlatformSettings
from tests.deploy.conftest import SERVICES as USERS

pytestmark = pytest.mark.e2e

ACCESS_REFUSED = 403
#: A routing key no binding matches: an allowed publish lands in `unroutable`.
NOWHERE = "grants.check.nowhere"

EVERY_QUEUE: tuple[Queue, ...] = (*TASK_QUEUES, *DEAD_LETTER_QUEUES, LOST_MESSAGES_QUEUE)
DEAD_LETTER_EXCHANGES = tuple(
    {q.exchange.name: q.exchange for q in DEAD_LETTER_QUEUES if q.exchange is not None}.values()
)


def own_queues(service: Service) -> set[str]:
    return {q.name for q in service.consumes}


def refused_declares(service: Service) -> list[Queue]:
    """Queues it may not declare: every work and dead-letter queue but its own."""
    own = own_queues(service)
    own |= {f"{name}.dlq" for name in own}
    return [q for q in (*TASK_QUEUES, *DEAD_LETTER_QUEUES) if q.name not in own | {"unroutable"}]


def refused_publishes(service: Service) -> list[str]:
    """Exchanges it may not publish to: domain and dead-letter exchanges, remote control
    and events, unless it uses them."""
    own = {q.exchange.name for q in service.consumes if q.exchange is not None}
    # Its own dead-letter exchanges: a worker publishes refused messages there.
    allowed = {e.name for e in service.publishes} | own | {f"{name}.dlx" for name in own}
    if service.worker or service.broadcasts:
        allowed.add(PIDBOX_EXCHANGE)
    if service.worker:
        allowed.add(EVENT_EXCHANGE)
    candidates = [e.name for e in (*ROUTED_EXCHANGES, *DEAD_LETTER_EXCHANGES)]
    candidates += [PIDBOX_EXCHANGE, EVENT_EXCHANGE]
    return [name for name in candidates if name not in allowed | {UNROUTABLE_QUEUE.name}]


def refused_consumes(service: Service) -> list[str]:
    """Queues it may not consume: every queue of the system but its own and its taps."""
    own = own_queues(service) | {q.name for q in service.taps}
    others = [q.name for q in EVERY_QUEUE if q.name not in own]
    # Another service's remote-control node (a worker's revokes and pings).
    others += [f"{other}@somehost.celery.pidbox" for other in SERVICES if other != service.name]
    return others


def test_the_cases_cover_what_the_issue_names() -> None:
    # The derivation is not vacuous: the cases the issue lists are among them.
    assert "email" in refused_publishes(SERVICES["scheduler"])
    assert "celery.pidbox" in refused_publishes(SERVICES["scheduler"])
    assert "email.transactional" in refused_consumes(SERVICES["api"])
    assert "reports.default" in [q.name for q in refused_declares(SERVICES["email-worker"])]
    assert "api.intake" in refused_consumes(SERVICES["email-worker"])
    assert "email-worker@somehost.celery.pidbox" in refused_consumes(SERVICES["report-worker"])
    assert "email.dlx" in refused_publishes(SERVICES["report-worker"])


@pytest.fixture
def declared(amqp_admin_url: str) -> Iterator[None]:
    """The whole topology, declared by the admin as `api migrate` does."""
    settings = PlatformSettings.model_validate({"amqp_url": amqp_admin_url})
    app = create_celery_app("grants-admin", settings)
    try:
        declare_topology(app)
        with Connection(amqp_admin_url) as connection:
            # Other services' remote-control nodes, as their workers declare them.
            for other in SERVICES:
                queue = Queue(f"{other}@somehost.celery.pidbox", auto_delete=False, durable=False)
                queue.bind(connection.default_channel).queue_declare()
        yield
    finally:
        app.close()


def outcome(connection: Connection, operation: Callable[[Any], object]) -> int:
    """``operation`` on a fresh channel: 0 when allowed, else the broker's reply code."""
    channel: Any = connection.channel()
    try:
        operation(channel)
    except connection.channel_errors as exc:
        return int(getattr(exc, "reply_code", -1))
    channel.close()
    return 0


def declare(queue: Queue) -> Callable[[Any], object]:
    return lambda channel: queue.bind(channel).queue_declare()


def publish(exchange: str) -> Callable[[Any], object]:
    def run(channel: Any) -> None:
        channel.confirm_select()
        channel.basic_publish_confirm(Message(b"{}"), exchange=exchange, routing_key=NOWHERE)

    return run


def consume(queue: str) -> Callable[[Any], object]:
    def run(channel: Any) -> None:
        tag = channel.basic_consume(queue=queue, callback=lambda message: None)
        channel.basic_cancel(tag)

    return run


def checked(url: str, service: Service) -> tuple[dict[str, int], dict[str, int]]:
    """What ``service`` does and what it must not, each with its outcome (:func:`outcome`)."""
    with Connection(url) as connection:
        connection.ensure_connection(max_retries=1)

        def run(cases: dict[str, Callable[[Any], object]]) -> dict[str, int]:
            return {what: outcome(connection, operation) for what, operation in cases.items()}

        allowed = run(
            {
                **{f"declare {q.name}": declare(q) for q in service.consumes},
                **{f"publish {e.name}": publish(e.name) for e in service.publishes},
                **{
                    f"consume {q.name}": consume(q.name) for q in (*service.consumes, *service.taps)
                },
            }
        )
        refused = run(
            {
                **{f"declare {q.name}": declare(q) for q in refused_declares(service)},
                **{f"publish {name}": publish(name) for name in refused_publishes(service)},
                **{f"consume {name}": consume(name) for name in refused_consumes(service)},
            }
        )
    return allowed, refused


def test_each_user_is_refused_what_its_service_does_not_do(
    declared: None, service_users: dict[str, str]
) -> None:
    # One vhost and one set of users for all of them (rabbitmqctl is slow).
    wrong: dict[str, dict[str, int]] = {}
    for user in USERS:
        allowed, refused = checked(service_users[user], SERVICES[user])
        for kind in ("declare", "publish", "consume"):
            assert any(what.startswith(kind) for what in refused), (user, kind)
        wrong[user] = {what: code for what, code in allowed.items() if code != 0}
        wrong[user] |= {what: code for what, code in refused.items() if code != ACCESS_REFUSED}
    assert wrong == {user: {} for user in USERS}
