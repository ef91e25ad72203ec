from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.http_validation_error import HTTPValidationError
from ...models.list_workflows_status_type_0 import ListWorkflowsStatusType0
from ...models.workflow_page import WorkflowPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    kind: str | Unset | None = UNSET,
    status: ListWorkflowsStatusType0 | Unset | None = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset | None = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_kind: str | Unset | None
    json_kind = UNSET if isinstance(kind, Unset) else kind
    params["kind"] = json_kind

    json_status: str | Unset | None
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, ListWorkflowsStatusType0):
        json_status = status.value
    else:
        json_status = status
    params["status"] = json_status

    params["limit"] = limit

    json_cursor: str | Unset | None
    json_cursor = UNSET if isinstance(cursor, Unset) else cursor
    params["cursor"] = json_cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/workflows",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | HTTPValidationError | WorkflowPage | None:
    if response.status_code == 200:
        response_200 = WorkflowPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorBody | HTTPValidationError | WorkflowPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    kind: str | Unset | None = UNSET,
    status: ListWorkflowsStatusType0 | Unset | None = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset | None = UNSET,
) -> Response[ErrorBody | HTTPValidationError | WorkflowPage]:
    """List Workflows

     Workflows newest first; pass ``next_cursor`` back as ``cursor`` for the next page.

    Args:
        kind (None | str | Unset):
        status (ListWorkflowsStatusType0 | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | HTTPValidationError | WorkflowPage]
    """

    kwargs = _get_kwargs(
        kind=kind,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    kind: str | Unset | None = UNSET,
    status: ListWorkflowsStatusType0 | Unset | None = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset | None = UNSET,
) -> ErrorBody | HTTPValidationError | WorkflowPage | None:
    """List Workflows

     Workflows newest first; pass ``next_cursor`` back as ``cursor`` for the next page.

    Args:
        kind (None | str | Unset):
        status (ListWorkflowsStatusType0 | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | HTTPValidationError | WorkflowPage
    """

    return sync_detailed(
        client=client,
        kind=kind,
        status=status,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    kind: str | Unset | None = UNSET,
    status: ListWorkflowsStatusType0 | Unset | None = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset | None = UNSET,
) -> Response[ErrorBody | HTTPValidationError | WorkflowPage]:
    """List Workflows

     Workflows newest first; pass ``next_cursor`` back as ``cursor`` for the next page.

    Args:
        kind (None | str | Unset):
        status (ListWorkflowsStatusType0 | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | HTTPValidationError | WorkflowPage]
    """

    kwargs = _get_kwargs(
        kind=kind,
        status=status,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    kind: str | Unset | None = UNSET,
    status: ListWorkflowsStatusType0 | Unset | None = UNSET,
    limit: int | Unset = 20,
    cursor: str | Unset | None = UNSET,
) -> ErrorBody | HTTPValidationError | WorkflowPage | None:
    """List Workflows

     Workflows newest first; pass ``next_cursor`` back as ``cursor`` for the next page.

    Args:
        kind (None | str | Unset):
        status (ListWorkflowsStatusType0 | None | Unset):
        limit (int | Unset):  Default: 20.
        cursor (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | HTTPValidationError | WorkflowPage
    """

    return (
        await asyncio_detailed(
            client=client,
            kind=kind,
            status=status,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
