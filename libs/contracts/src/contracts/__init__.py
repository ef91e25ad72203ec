"""Wire contracts shared by every service.

Task names, payload and result models, and the RabbitMQ topology of each domain, plus
the shared machinery to use them: the Celery app factory, the dispatch helper, and the
base class for tasks that implement a contract. A producer needs nothing else to talk to
a worker.
"""

from contracts.base import Message, TaskContract
from contracts.celery_app import BACKEND_CLEANUP, RESULT_EXPIRES, create_celery_app
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
from contracts.settings import PlatformSettings, load_settings
from contracts.workflows import START_WORKFLOW, StartWorkflow, WorkflowKind, WorkflowStarted

__all__ = [
    "BACKEND_CLEANUP",
    "CONTRACTS",
    "DEAD_LETTER_QUEUES",
    "GENERATE_REPORT",
    "RESULT_EXPIRES",
    "SEND_EMAIL",
    "START_WORKFLOW",
    "TASK_QUEUES",
    "EmailSent",
    "GenerateReport",
    "Lane",
    "Message",
    "Period",
    "PlatformSettings",
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
    "create_celery_app",
    "dispatch",
    "load_settings",
    "route_task",
    "signature",
    "task_name_of",
]
