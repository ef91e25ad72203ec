"""The typed Python client of the Switchyard API.

``switchyard_client.generated`` is generated from the API's OpenAPI description by
``just client`` (never edit it by hand): a client, one module per operation
(``generated.api.<tag>.<operation id>``) and one class per schema. Beside it, by hand,
what a generator cannot give: waiting for a workflow to finish over its live stream, and
downloading a report's bytes to a file.

    from switchyard_client import AuthenticatedClient, expect, wait
    from switchyard_client.generated.api.emails import send_email
    from switchyard_client.generated.models import Accepted, EmailRequest

    client = AuthenticatedClient(base_url="http://127.0.0.1:8000", token=key)
    body = EmailRequest(to=["ada@example.com"], subject="Hi", text="Hello")
    accepted = expect(send_email.sync_detailed(client=client, body=body), Accepted.from_dict)
    document = wait(client, accepted.workflow_id, timeout=60)
"""

from switchyard_client.downloads import download_report
from switchyard_client.errors import ApiError, expect
from switchyard_client.generated.client import AuthenticatedClient, Client
from switchyard_client.generated.models.workflow_document import WorkflowDocument
from switchyard_client.waiting import FINISHED, WaitTimeout, wait, wait_async

__all__ = [
    "FINISHED",
    "ApiError",
    "AuthenticatedClient",
    "Client",
    "WaitTimeout",
    "WorkflowDocument",
    "download_report",
    "expect",
    "wait",
    "wait_async",
]
