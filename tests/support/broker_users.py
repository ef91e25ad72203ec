"""A throwaway broker user on a test vhost: a producer the platform does not know."""

from __future__ import annotations

import shutil
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.infra import InfrastructureUnavailable, _management_request, _rabbitmqctl


@contextmanager
def broker_user(
    vhost_url: str, management_url: str | None = None, *, prefix: str = "producer"
) -> Iterator[str]:
    """A new broker user with every permission on ``vhost_url``'s vhost; its AMQP URL.

    Deleted afterwards. Made like :func:`tests.support.infra.fresh_vhost` makes a vhost:
    through the management HTTP API when ``management_url`` is given, else ``rabbitmqctl``.
    """
    parts = urllib.parse.urlsplit(vhost_url)
    admin = urllib.parse.unquote(parts.username or "guest")
    admin_password = urllib.parse.unquote(parts.password or "guest")
    vhost = urllib.parse.unquote(parts.path[1:]) or "/"
    user, password = f"{prefix}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    quoted_vhost, quoted_user = (urllib.parse.quote(x, safe="") for x in (vhost, user))
    if management_url:
        api = management_url
        _management_request(
            api,
            admin,
            admin_password,
            "PUT",
            f"/api/users/{quoted_user}",
            {"password": password, "tags": ""},
        )

        def delete() -> None:
            _management_request(api, admin, admin_password, "DELETE", f"/api/users/{quoted_user}")

        grant = f"/api/permissions/{quoted_vhost}/{quoted_user}"
        try:
            _management_request(api, admin, admin_password, "PUT", grant)
        except BaseException:
            delete()
            raise
    elif shutil.which("rabbitmqctl"):
        _rabbitmqctl("add_user", user, password)

        def delete() -> None:
            _rabbitmqctl("delete_user", user)

        try:
            _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        except BaseException:
            delete()
            raise
    else:
        raise InfrastructureUnavailable(
            "cannot create a broker user: set TEST_RABBITMQ_MANAGEMENT_URL "
            "(e.g. http://127.0.0.1:15672) or install rabbitmqctl on this machine"
        )
    try:
        netloc = f"{user}:{password}@{parts.hostname}:{parts.port or 5672}"
        yield urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    finally:
        delete()
