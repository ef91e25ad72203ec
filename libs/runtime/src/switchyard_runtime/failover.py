"""How many times a connection tries the broker when ``AMQP_URL`` names several nodes.

kombu's ``ensure_connection(max_retries=n)`` makes ``n + 1`` attempts in all, moving to
the next node of the URL after each failure and sleeping only after a full round of
them. A count meant for one node would, with three, never reach the third: a check that
retried once would call a cluster down while two of its nodes were stopped and one
served. :func:`retries_per_node` scales the count so each node gets the tries one node
got before.
"""

from __future__ import annotations

from kombu import Connection


def nodes_of(connection: Connection) -> int:
    """How many broker nodes ``connection`` fails over between (1 without a cluster)."""
    return max(1, len(connection.alt))


def retries_per_node(connection: Connection, retries: int) -> int:
    """``max_retries`` giving each node of ``connection`` ``retries + 1`` attempts."""
    return (retries + 1) * nodes_of(connection) - 1
