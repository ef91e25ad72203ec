"""Scenarios 9 and 10: a three-node RabbitMQ cluster loses nodes while work arrives.

The cluster is made of private nodes from this machine's binaries, joined with
``rabbitmqctl join_cluster``; every service is given all three nodes in ``AMQP_URL``
and fails over between them. The quorum queues, declared by ``api migrate`` once the
cluster is formed, have a member on each node.

- 9: during 1,000 submissions the node leading ``email.transactional`` stops, and
  later starts again: every 202 is delivered exactly once, nothing answers 5xx, and the
  queue has three members in step again afterwards (``rabbitmq-queues quorum_status``).
- 10: two of the three nodes stop (no majority: no quorum queue takes a message): the
  API keeps answering 202 while the outbox holds the work, and once they are back every
  email is delivered once.

The cluster is formed once for both (it costs a quarter of a minute); each scenario
has a vhost and a PostgreSQL cluster of its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.faults.conftest import (
    Counts,
    Stack,
    email,
    outbox_size,
    service_env,
    subjects,
    wait_until,
    wait_until_final,
)
from tests.support import processes
from tests.support.private_instances import (
    PrivateRabbitMQ,
    PrivateRabbitMQCluster,
    private_postgres,
    private_rabbitmq_cluster,
)
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

TENANT = "cluster"
EMAIL_QUEUE = "email.transactional"
#: Callers submitting at once.
CLIENTS = 6
MiB = 2**20


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbitMQCluster]:
    with private_rabbitmq_cluster(tmp_path_factory.mktemp("cluster"), n=3) as formed:
        yield formed


@dataclass
class OnCluster:
    """A scenario's services, running against every node of ``cluster`` on ``vhost``."""

    stack: Stack
    cluster: PrivateRabbitMQCluster
    vhost: str

    def replicated(self, queue: str) -> bool:
        return self.cluster.replicated(queue, self.vhost)


@pytest.fixture
def on_cluster(
    cluster: PrivateRabbitMQCluster, sink: SmtpSink, tmp_path: Path
) -> Iterator[OnCluster]:
    """Services configured with the three nodes, on a fresh vhost and database."""
    assert len(cluster.running()) == 3, "a scenario before this one left a node stopped"
    vhost = f"cluster-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=1) as background:
        adding = background.submit(cluster.add_vhost, vhost)
        with private_postgres(tmp_path) as postgres:
            env = service_env(cluster.url_for(vhost), postgres, sink)
            worker_schema = background.submit(processes.run, ["email-worker", "migrate"], env)
            adding.result()
            # Once the cluster is formed: each quorum queue gets a member on every node.
            processes.run(["api", "migrate"], env)
            worker_schema.result()
            key = processes.create_api_key(env, TENANT)
            stack = Stack(cluster.nodes[0], postgres, sink, env, tmp_path, key)
            try:
                yield OnCluster(stack, cluster, vhost)
            finally:
                stack.stop_all()  # the vhost goes with the cluster


class Submitter:
    """Submits emails from :data:`CLIENTS` callers; keeps what was accepted and any 5xx."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.accepted: dict[str, str] = {}
        self.refused: list[str] = []
        self.server_errors: list[str] = []

    def submit(self, batch: Sequence[str]) -> None:
        def one(subject: str) -> tuple[str, httpx.Response]:
            return subject, self.client.post("/v1/emails", json=email(subject))

        with ThreadPoolExecutor(CLIENTS) as callers:
            for subject, response in callers.map(one, batch):
                if response.status_code == 202:
                    self.accepted[subject] = response.json()["workflow_id"]
                elif response.status_code >= 500:
                    self.server_errors.append(f"{subject}: {response.status_code}")
                else:
                    self.refused.append(f"{subject}: {response.status_code} {response.text}")


def most_refusals(stack: Stack) -> int:
    """The most times the broker refused one message still in the outbox."""
    with psycopg.connect(stack.postgres.url) as conn:
        row = conn.execute("SELECT coalesce(max(attempts), 0) FROM api.outbox").fetchone()
    assert row is not None
    return int(row[0])


def in_background(action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def settle(counts: Counts, on: OnCluster, submitter: Submitter, timeout: float) -> None:
    """Wait until every accepted workflow is final; count documents and deliveries."""
    with on.stack.client() as client:
        documents = wait_until_final(client, submitter.accepted.values(), timeout=timeout)
    counts.accepted = len(submitter.accepted)
    counts.count_documents(documents.values())
    wait_until(
        "every accepted email in the sink",
        lambda: len({m.subject for m in on.stack.sink.mailbox.received()}) >= counts.accepted,
        timeout=30,
    )
    counts.count_deliveries(on.stack.sink, submitter.accepted)
    counts.notes["5xx"] = len(submitter.server_errors)


# --- 9: the email queue's leader stops mid-burst, and comes back -----------------------

SUBMISSIONS = 1000
#: The leader starts stopping after this many submissions...
STOP_AT = 300
#: ...and starts again after this many (it is down from about here to there).
RESTART_AT = 700


def test_the_email_queues_leader_stops_mid_burst_and_nothing_is_lost_or_doubled(
    on_cluster: OnCluster, report: list[Counts]
) -> None:
    counts = Counts("9 cluster: email queue's leader stopped mid-burst")
    report.append(counts)
    on, cluster = on_cluster, on_cluster.cluster
    counts.notes["cluster_formed_s"] = f"{cluster.formed_in:.0f}"
    on.stack.start("email-worker", "api")
    assert on.replicated(EMAIL_QUEUE), cluster.quorum_status(EMAIL_QUEUE, on.vhost)
    leader: PrivateRabbitMQ = cluster.leader_of(EMAIL_QUEUE, on.vhost)
    wanted = subjects("cluster-leader", SUBMISSIONS)

    with on.stack.client() as client:
        submitter = Submitter(client)
        submitter.submit(wanted[:STOP_AT])
        stopping = in_background(leader.stop)
        submitter.submit(wanted[STOP_AT:RESTART_AT])
        stopping.join()
        assert not leader.running()
        down_at = time.monotonic()
        successor = cluster.leader_of(EMAIL_QUEUE, on.vhost)
        assert successor is not leader
        starting = in_background(leader.start)
        submitter.submit(wanted[RESTART_AT:])
        starting.join()
        counts.notes["leader_down_s"] = f"{time.monotonic() - down_at:.0f}"

    settle(counts, on, submitter, timeout=300)
    replicated_after = time.monotonic()
    wait_until("three members in step again", lambda: on.replicated(EMAIL_QUEUE), timeout=120)
    counts.notes["replicated_after_s"] = f"{time.monotonic() - replicated_after:.0f}"
    counts.notes["nodes_rss_mib"] = f"{cluster.rss_bytes() / MiB:.0f}"

    assert submitter.server_errors == []
    assert submitter.refused == []
    assert counts.accepted == SUBMISSIONS
    assert counts.finished == SUBMISSIONS, on.stack.logs()
    assert counts.succeeded == SUBMISSIONS
    assert counts.lost == 0
    assert counts.duplicated == 0
    members = cluster.quorum_status(EMAIL_QUEUE, on.vhost)
    assert sorted(m["Node Name"] for m in members) == sorted(n.node for n in cluster.nodes)


# --- 10: two of three nodes stop: no majority ------------------------------------------

#: Submissions before the two nodes stop, and while they are down.
BEFORE, WHILE_DOWN = 100, 200


def test_without_a_majority_the_outbox_holds_the_work_until_it_is_back(
    on_cluster: OnCluster, report: list[Counts]
) -> None:
    counts = Counts("10 cluster: two of three nodes stopped")
    report.append(counts)
    on, cluster = on_cluster, on_cluster.cluster
    on.stack.start("email-worker", "api")
    wanted = subjects("cluster-minority", BEFORE + WHILE_DOWN)
    # The email queue's leader and one more: the node left holds one member of three.
    leader = cluster.leader_of(EMAIL_QUEUE, on.vhost)
    stopped = [leader, next(node for node in cluster.nodes if node is not leader)]

    with on.stack.client() as client:
        submitter = Submitter(client)
        submitter.submit(wanted[:BEFORE])
        for thread in [in_background(node.stop) for node in stopped]:
            thread.join()
        assert len(cluster.running()) == 1
        submitter.submit(wanted[BEFORE:])
        held = outbox_size(on.stack.postgres)
        counts.notes["outbox_while_down"] = held
        # A quorum queue without a majority nacks each publish: counted as refusals.
        counts.notes["most_refusals"] = most_refusals(on.stack)
        counts.notes["readyz_while_down"] = client.get("/readyz").status_code
        restarting = [in_background(node.start) for node in stopped]
        for thread in restarting:
            thread.join()
        assert len(cluster.running()) == 3

    settle(counts, on, submitter, timeout=300)
    wait_until("three members in step again", lambda: on.replicated(EMAIL_QUEUE), timeout=120)

    assert submitter.server_errors == []
    assert submitter.refused == []
    assert counts.accepted == BEFORE + WHILE_DOWN
    assert held > 0, "the submissions while two nodes were down should wait in the outbox"
    assert counts.finished == BEFORE + WHILE_DOWN, on.stack.logs()
    assert counts.succeeded == BEFORE + WHILE_DOWN
    assert counts.lost == 0
    assert counts.duplicated == 0
