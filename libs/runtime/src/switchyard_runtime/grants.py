"""Each service's RabbitMQ permissions, derived from the topology and what it does.

RabbitMQ grants a user three regular expressions per vhost, matched against the names
of exchanges and queues alike: ``configure`` (declare, delete), ``write`` (publish to an
exchange; bind a queue, which also needs ``read`` on the exchange) and ``read`` (consume
or purge a queue). Creating an exchange that names an alternate exchange also needs
``read`` on it and ``write`` on the alternate one; creating a queue that names a
dead-letter exchange, ``read`` on the queue and ``write`` on that exchange.

:func:`grant_of` derives a service's three from :data:`switchyard_runtime.services.SERVICES`:
what it declares (:func:`switchyard_runtime.declaration.needs_of`), the exchanges it publishes to,
the queues it consumes, and the parts of Celery it uses (delayed delivery, remote
control, worker events). Every name is anchored and escaped, so a new queue is granted
to its consumer alone. ``python -m switchyard_runtime.grants`` prints the RabbitMQ definitions
docker-compose.yml loads; ``--table`` the README's table.

Not granted on purpose: ``read`` on the ``unroutable`` exchange, which binding the
catch-all queue needs, would also let a service consume the ``unroutable`` queue of the
same name; that binding is the admin's (``api migrate``), and each service's attempt is
refused and logged.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kombu import Exchange, Queue
from kombu.transport.native_delayed_delivery import (
    CELERY_DELAYED_DELIVERY_EXCHANGE,
    MAX_LEVEL,
    level_name,
)

from contracts.routing import TASK_QUEUES
from contracts.topology import UNROUTABLE_QUEUE, dead_letter_queue_of
from switchyard_runtime.declaration import needs_of
from switchyard_runtime.services import SERVICES, Service

#: The user ``api migrate`` (and Flower) connects as: every permission on the vhost.
ADMIN = "admin"
#: The vhost docker-compose.yml gives the system.
VHOST = "switchyard"

#: Celery's remote control: broadcasts go to this fanout exchange, replies to the other.
PIDBOX_EXCHANGE = "celery.pidbox"
REPLY_EXCHANGE = "reply.celery.pidbox"
#: Celery's event exchange (worker heartbeats and gossip, task events).
EVENT_EXCHANGE = "celeryev"
#: Where a publish with a countdown enters Celery's native delayed delivery.
DELAYED_ENTRY = level_name(MAX_LEVEL)

_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True, order=True)
class Name:
    """A resource name as a regular expression, and as the README shows it."""

    shown: str
    pattern: str

    @classmethod
    def of(cls, name: str) -> Name:
        """Exactly ``name``."""
        return cls(name, re.escape(name))


#: Every exchange and queue of Celery's native delayed delivery (the same names).
_LEVELS = "|".join(str(level) for level in range(MAX_LEVEL + 1))
DELAYED = Name(
    f"celery_delayed_{{0..{MAX_LEVEL},delivery}}", f"celery_delayed_(?:{_LEVELS}|delivery)"
)
#: The queue a remote-control client (``celery inspect``, mingle) reads replies from.
REPLY_QUEUES = Name("<uuid>.reply.celery.pidbox", f"{_UUID}\\.reply\\.celery\\.pidbox")
#: The queue a worker's gossip reads other workers' events from.
GOSSIP_QUEUES = Name("celeryev.<uuid>", f"celeryev\\.{_UUID}")

assert CELERY_DELAYED_DELIVERY_EXCHANGE == "celery_delayed_delivery"


def node_queue(service: str) -> Name:
    """The remote-control queue of ``service``'s workers (``<service>@<host>.celery.pidbox``)."""
    return Name(
        f"{service}@<host>.celery.pidbox",
        f"{re.escape(service)}@[A-Za-z0-9._-]+\\.celery\\.pidbox",
    )


@dataclass
class Grant:
    """The names one user may configure, write and read."""

    user: str
    configure: set[Name] = field(default_factory=set)
    write: set[Name] = field(default_factory=set)
    read: set[Name] = field(default_factory=set)

    def add(self, names: Iterable[str | Name], *, configure: bool, write: bool, read: bool) -> None:
        for name in names:
            entry = name if isinstance(name, Name) else Name.of(name)
            for wanted, target in ((configure, self.configure), (write, self.write)):
                if wanted:
                    target.add(entry)
            if read:
                self.read.add(entry)

    def permission(self, vhost: str) -> dict[str, str]:
        """This grant as an entry of RabbitMQ's definitions."""
        return {
            "user": self.user,
            "vhost": vhost,
            "configure": regex(self.configure),
            "write": regex(self.write),
            "read": regex(self.read),
        }


def regex(names: Iterable[Name]) -> str:
    """One anchored alternation of ``names``; a pattern matching nothing when empty."""
    patterns = sorted({name.pattern for name in names})
    return f"^(?:{'|'.join(patterns)})$" if patterns else "^$"


def _exchanges_of(queue: Queue) -> list[Exchange]:
    exchanges = [queue.exchange] if queue.exchange is not None and queue.exchange.name else []
    return exchanges + [b.exchange for b in queue.bindings or () if b.exchange is not None]


def grant_of(service: Service) -> Grant:
    """The permissions ``service`` needs for what it does, and nothing more."""
    grant = Grant(service.name)
    needs = needs_of(service.consumes, service.declares, service.expects)
    for exchange in needs.exchanges:
        grant.add([exchange.name], configure=True, write=False, read=False)
        alternate = (exchange.arguments or {}).get("alternate-exchange")
        if alternate:
            grant.add([exchange.name], configure=False, write=False, read=True)
            grant.add([alternate], configure=False, write=True, read=False)
    for queue in needs.queues:
        exchanges = [exchange.name for exchange in _exchanges_of(queue)]
        grant.add([queue.name, *exchanges], configure=True, write=False, read=False)
        # Binding it: write on the queue, read on the exchange.
        grant.add([queue.name], configure=False, write=True, read=False)
        grant.add(exchanges, configure=False, write=False, read=True)
        dead_letters = dead_letter_queue_of(queue)
        if dead_letters is not None:
            grant.add([queue.name], configure=False, write=False, read=True)
            grant.add([dead_letters.exchange.name], configure=False, write=True, read=False)
    consumed = [queue.name for queue in (*service.consumes, *service.taps)]
    grant.add(consumed, configure=False, write=False, read=True)
    grant.add([e.name for e in service.publishes], configure=False, write=True, read=False)
    if needs.delayed:
        grant.add([DELAYED], configure=True, write=True, read=True)
    elif service.delays:
        grant.add([DELAYED_ENTRY], configure=False, write=True, read=False)
    if service.worker:
        grant.add(
            [PIDBOX_EXCHANGE, node_queue(service.name), REPLY_EXCHANGE, REPLY_QUEUES],
            configure=True,
            write=True,
            read=True,
        )
        grant.add([EVENT_EXCHANGE, GOSSIP_QUEUES], configure=True, write=True, read=True)
    elif service.broadcasts:
        grant.add([PIDBOX_EXCHANGE], configure=True, write=True, read=False)
    _drop_foreign_reads(grant, service)
    return grant


def _drop_foreign_reads(grant: Grant, service: Service) -> None:
    """Read on an exchange is read on the queue of the same name: drop the names that
    are another service's queue (the catch-all ``unroutable``, whose binding is the
    admin's)."""
    own = {q.name for q in (*service.consumes, *service.taps)}
    queues = {q.name for q in (*TASK_QUEUES, UNROUTABLE_QUEUE)}
    queues |= {dlq.name for q in TASK_QUEUES if (dlq := dead_letter_queue_of(q)) is not None}
    grant.read = {name for name in grant.read if name.shown not in queues - own}


def grants() -> list[Grant]:
    """Every service's grant, in the order of :data:`switchyard_runtime.services.SERVICES`."""
    return [grant_of(service) for service in SERVICES.values()]


def password_variable(user: str) -> str:
    """The variable docker-compose.yml takes ``user``'s password from."""
    return "RABBITMQ_" + re.sub(r"[^A-Z0-9]", "_", user.upper()) + "_PASSWORD"


def definitions(vhost: str = VHOST) -> dict[str, Any]:
    """RabbitMQ's definitions: the vhost, the admin and one user per service with its grant.

    Passwords are compose placeholders (``${RABBITMQ_<USER>_PASSWORD}``).
    """
    users = [ADMIN, *SERVICES]
    return {
        "vhosts": [{"name": vhost}],
        "users": [
            {
                "name": user,
                "password": f"${{{password_variable(user)}}}",
                "tags": ["administrator"] if user == ADMIN else [],
            }
            for user in users
        ],
        "permissions": [
            {"user": ADMIN, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"},
            *(grant.permission(vhost) for grant in grants()),
        ],
    }


def render_definitions(vhost: str = VHOST) -> str:
    """:func:`definitions` as JSON, one user or permission a line (for docker-compose.yml)."""
    data = definitions(vhost)
    lines = ["{", f'  "vhosts": {json.dumps(data["vhosts"])},', '  "users": [']
    lines += [f"    {json.dumps(u)}," for u in data["users"]]
    lines[-1] = lines[-1].rstrip(",")
    lines += ["  ],", '  "permissions": [']
    lines += [f"    {json.dumps(p)}," for p in data["permissions"]]
    lines[-1] = lines[-1].rstrip(",")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def table() -> str:
    """The grants as a Markdown table (the README's), names as they read."""

    def cell(names: set[Name]) -> str:
        return ", ".join(f"`{name.shown}`" for name in sorted(names)) or "nothing"

    rows = [
        "| user | configures | writes | reads |",
        "|---|---|---|---|",
        f"| `{ADMIN}` (`api migrate`, Flower) | everything | everything | everything |",
    ]
    for grant in grants():
        row = (cell(grant.configure), cell(grant.write), cell(grant.read))
        rows.append(f"| `{grant.user}` | " + " | ".join(row) + " |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m switchyard_runtime.grants",
        description="Print the RabbitMQ definitions of the services' users and grants.",
    )
    parser.add_argument("--vhost", default=VHOST, help=f"the vhost (default {VHOST})")
    parser.add_argument("--table", action="store_true", help="print the README's table instead")
    args = parser.parse_args(argv)
    sys.stdout.write(table() if args.table else render_definitions(args.vhost))


if __name__ == "__main__":
    main()
