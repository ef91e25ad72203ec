"""Contains all the data models used in inputs/outputs"""

from .accepted import Accepted
from .already_finished import AlreadyFinished
from .created_webhook import CreatedWebhook
from .email_request import EmailRequest
from .error_body import ErrorBody
from .healthz_response_healthz import HealthzResponseHealthz
from .http_validation_error import HTTPValidationError
from .lane import Lane
from .lane_refused import LaneRefused
from .list_workflows_status_type_0 import ListWorkflowsStatusType0
from .period import Period
from .progress import Progress
from .report_batch_request import ReportBatchRequest
from .report_format import ReportFormat
from .report_kind import ReportKind
from .report_metadata import ReportMetadata
from .report_metadata_period import ReportMetadataPeriod
from .report_request import ReportRequest
from .report_spec import ReportSpec
from .step import Step
from .step_error import StepError
from .step_status import StepStatus
from .too_many_requests import TooManyRequests
from .too_many_requests_quota_type_0 import TooManyRequestsQuotaType0
from .validation_error import ValidationError
from .validation_error_context import ValidationErrorContext
from .webhook_attempt import WebhookAttempt
from .webhook_attempt_delivery_status import WebhookAttemptDeliveryStatus
from .webhook_attempt_outcome import WebhookAttemptOutcome
from .webhook_attempt_page import WebhookAttemptPage
from .webhook_endpoint import WebhookEndpoint
from .webhook_list import WebhookList
from .webhook_request import WebhookRequest
from .workflow_document import WorkflowDocument
from .workflow_document_status import WorkflowDocumentStatus
from .workflow_page import WorkflowPage

__all__ = (
    "Accepted",
    "AlreadyFinished",
    "CreatedWebhook",
    "EmailRequest",
    "ErrorBody",
    "HTTPValidationError",
    "HealthzResponseHealthz",
    "Lane",
    "LaneRefused",
    "ListWorkflowsStatusType0",
    "Period",
    "Progress",
    "ReportBatchRequest",
    "ReportFormat",
    "ReportKind",
    "ReportMetadata",
    "ReportMetadataPeriod",
    "ReportRequest",
    "ReportSpec",
    "Step",
    "StepError",
    "StepStatus",
    "TooManyRequests",
    "TooManyRequestsQuotaType0",
    "ValidationError",
    "ValidationErrorContext",
    "WebhookAttempt",
    "WebhookAttemptDeliveryStatus",
    "WebhookAttemptOutcome",
    "WebhookAttemptPage",
    "WebhookEndpoint",
    "WebhookList",
    "WebhookRequest",
    "WorkflowDocument",
    "WorkflowDocumentStatus",
    "WorkflowPage",
)
