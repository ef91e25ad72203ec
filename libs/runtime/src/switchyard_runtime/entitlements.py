"""Who may act for a tenant on the wire: the producing broker user, checked on receipt.

Anyone allowed to publish to an exchange could otherwise name any tenant in a payload.
RabbitMQ checks a message's ``user_id`` property against the user of the connection that
published it (a publish claiming another user is refused), so a worker knows which broker
user produced a message without any secret of ours. Every platform producer sets it
(:class:`switchyard_runtime.celery_app.PlatformAMQP`); a plain Celery producer of another team
sets none, unless it passes ``user_id`` itself.

Two effects act for a tenant, and only they need an entitled producer:

- ``email.send`` with ``attachments``: it mails the tenant's stored reports;
- ``workflow.start``: the intake starts a workflow of the tenant.

A plain email (no attachments) acts for nobody: whoever the broker's grants let publish
may send one. A message asks for the effects of its own task and of every task it carries
for later (a chain's next steps, a chord's callback, links, a ``celery.chord_unlock``
callback): the worker that runs it publishes those as its own broker user, so they are
judged here, at the hop where the original producer is known. The entitlements
(:class:`Entitlements`) say which broker user may act for which tenants; a message asking
for a tenant its producer is not entitled to is refused as :class:`Unauthorized` by the
worker's consumer (:mod:`switchyard_runtime.poison`) and dead-lettered with that reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.email import SEND_EMAIL
from contracts.workflows import START_WORKFLOW

#: Entitled to every tenant.
ALL_TENANTS = "*"

#: The AMQP property naming the broker user that published a message.
USER_ID = "user_id"

#: The platform's own broker users (the compose file's) and what each may act for. The
#: API's users act for every tenant (the API authenticated the caller); the workers only
#: republish what they received (a chain's next step, a chord's callback, a retry),
#: which was judged when it reached them. The scheduler acts for ``SCHEDULER_TENANT``.
PLATFORM_USERS = ("api", "api-intake", "email-worker", "report-worker")
SCHEDULER_USER = "scheduler"


class Unauthorized(Exception):
    """The message asks to act for a tenant its producer is not entitled to."""

    #: How its dead letter's ``x-switchyard-reason`` begins: ``unauthorized: ...``.
    reason_name = "unauthorized"


@dataclass(frozen=True)
class Entitlements:
    """Per broker user, the tenants it may act for (``*``: every tenant)."""

    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        configured: Mapping[str, list[str]] | None = None,
        *,
        scheduler_tenant: str = "system",
        own_user: str | None = None,
    ) -> Entitlements:
        """The platform's defaults, then ``configured`` (``TENANT_PRODUCERS``: a user it
        names gets exactly its list there), then ``own_user`` (the service's own broker
        user) entitled to every tenant, since it is one of the platform's processes."""
        every = frozenset({ALL_TENANTS})
        grants: dict[str, frozenset[str]] = dict.fromkeys(PLATFORM_USERS, every)
        grants[SCHEDULER_USER] = frozenset({scheduler_tenant})
        for user, tenants in (configured or {}).items():
            grants[user] = frozenset(tenants)
        if own_user:
            grants[own_user] = every
        return cls(grants)

    def allows(self, user: str | None, tenant: str) -> bool:
        """Whether ``user`` (``None``: the message names none) may act for ``tenant``."""
        if user is None:
            return False
        tenants = self.grants.get(user, frozenset())
        return ALL_TENANTS in tenants or tenant in tenants


def producer_of(properties: Mapping[str, Any] | None) -> str | None:
    """The broker user that published a message, from its (broker-checked) properties."""
    user = (properties or {}).get(USER_ID)
    if isinstance(user, bytes):
        user = user.decode("utf-8", "replace")
    return user if isinstance(user, str) and user else None


def _tenant(kwargs: Mapping[str, Any], default: str | None = None) -> str | None:
    tenant = kwargs.get("tenant", default)
    return None if tenant is None else str(tenant)


def own_tenant(name: str, kwargs: Mapping[str, Any]) -> str | None:
    """The tenant task ``name`` called with ``kwargs`` acts for, or ``None`` when it acts
    for nobody. Read from the raw kwargs: a nested step is judged before any worker
    validated it."""
    if name == SEND_EMAIL:
        # SendEmail's tenant defaults to "default"; only stored reports are the tenant's.
        return _tenant(kwargs, "default") if kwargs.get("attachments") else None
    if name == START_WORKFLOW:
        return _tenant(kwargs)
    return None


def _calls(value: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every task call (``(name, kwargs)``) written anywhere in ``value``: signatures as
    Celery serialises them are dicts with a ``task`` name and ``kwargs``, nested in a
    message's embed (``chain``, ``chord``, ``callbacks``, ``errbacks``), in a group's or
    chord's ``tasks``/``header``/``body``, in options (``link``) or in the kwargs of
    Celery's own tasks (``celery.chord_unlock``'s ``callback``). Iterative: a message is
    never too deep to read."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            name = item.get("task")
            kwargs = item.get("kwargs")
            if isinstance(name, str) and isinstance(kwargs, Mapping):
                yield name, kwargs
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def tenants_asked(
    name: str, args: Any, kwargs: Mapping[str, Any], embed: Mapping[str, Any] | None
) -> set[str]:
    """The tenants a message of task ``name`` asks to act for: its own task's and those
    of every task it carries for later (see the module)."""
    asked = set()
    own = own_tenant(name, kwargs)
    if own is not None:
        asked.add(own)
    for nested_name, nested_kwargs in _calls([args, dict(kwargs), embed]):
        nested = own_tenant(nested_name, nested_kwargs)
        if nested is not None:
            asked.add(nested)
    return asked


def check(
    entitlements: Entitlements,
    producer: str | None,
    name: str,
    args: Any,
    kwargs: Mapping[str, Any],
    embed: Mapping[str, Any] | None,
) -> Unauthorized | None:
    """Why the message must not run (:class:`Unauthorized`), or ``None`` when every
    tenant it asks to act for is one its ``producer`` is entitled to."""
    refused = sorted(
        tenant
        for tenant in tenants_asked(name, args, kwargs, embed)
        if not entitlements.allows(producer, tenant)
    )
    if not refused:
        return None
    who = "no broker user (no user_id)" if producer is None else f"broker user {producer!r}"
    tenants = ", ".join(repr(tenant) for tenant in refused)
    return Unauthorized(f"{who} is not entitled to act for tenant {tenants}")
