"""What crosses the wire between Switchyard's services, and nothing else.

Task names, payload and result models, the RabbitMQ topology of each domain (exchanges,
queues, routing keys), the declared cross-service database views, and their JSON Schema
and column snapshots (package data), with the compatibility guard that checks them
(``python -m contracts.compat --check``). It depends on pydantic and kombu alone: a team
that only sends a task installs this and its own Celery (:func:`dispatch` takes the app).

The Celery app factory, the worker base task, the result backend, logs, metrics and
tracing are the runtime library's (``switchyard_runtime``), which the services use.
"""

from contracts.base import Message, TaskContract
from contracts.dispatch import dispatch, signature, task_name_of
from contracts.email import SEND_EMAIL, EmailSent, Lane, ReportAttachment, SendEmail
from contracts.reports import (
    GENERATE_REPORT,
    GenerateReport,
    Period,
    ReportFormat,
    ReportKind,
    ReportReady,
)
from contracts.routing import CONTRACTS, DEAD_LETTER_QUEUES, TASK_QUEUES, contract_for, route_task
from contracts.workflows import (
    BACKEND_CLEANUP,
    START_WORKFLOW,
    StartWorkflow,
    WorkflowKind,
    WorkflowStarted,
)

__all__ = [
    "BACKEND_CLEANUP",
    "CONTRACTS",
    "DEAD_LETTER_QUEUES",
    "GENERATE_REPORT",
    "SEND_EMAIL",
    "START_WORKFLOW",
    "TASK_QUEUES",
    "EmailSent",
    "GenerateReport",
    "Lane",
    "Message",
    "Period",
    "ReportAttachment",
    "ReportFormat",
    "ReportKind",
    "ReportReady",
    "SendEmail",
    "StartWorkflow",
    "TaskContract",
    "WorkflowKind",
    "WorkflowStarted",
    "contract_for",
    "dispatch",
    "route_task",
    "signature",
    "task_name_of",
]
