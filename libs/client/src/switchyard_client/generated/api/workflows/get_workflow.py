from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.http_validation_error import HTTPValidationError
from ...models.workflow_document import WorkflowDocument
from ...types import UNSET, Response, Unset


def _get_kwargs(
    workflow_id: str,
    *,
    wait: float | Unset = 0.0,
    if_none_match: str | Unset | None = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_none_match, Unset):
        headers["if-none-match"] = if_none_match

    params: dict[str, Any] = {}

    params["wait"] = wait

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/workflows/{workflow_id}".format(
            workflow_id=quote(str(workflow_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorBody | HTTPValidationError | WorkflowDocument | None:
    if response.status_code == 200:
        response_200 = WorkflowDocument.from_dict(response.json())

        return response_200

    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

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
) -> Response[Any | ErrorBody | HTTPValidationError | WorkflowDocument]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    workflow_id: str,
    *,
    client: AuthenticatedClient,
    wait: float | Unset = 0.0,
    if_none_match: str | Unset | None = UNSET,
) -> Response[Any | ErrorBody | HTTPValidationError | WorkflowDocument]:
    """Get Workflow

     The workflow's status document.

    With ``If-None-Match`` naming its current ETag the answer is 304; add ``wait=N`` to
    hold the request up to N seconds until the document changes. A held request waits
    for this process to be told of a change (no database query while it waits), then
    reads the document once. One key holds at most ``LONG_POLLS_PER_KEY`` such requests
    at once (429 past it).

    Args:
        workflow_id (str):
        wait (float | Unset): long poll, seconds Default: 0.0.
        if_none_match (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | HTTPValidationError | WorkflowDocument]
    """

    kwargs = _get_kwargs(
        workflow_id=workflow_id,
        wait=wait,
        if_none_match=if_none_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    workflow_id: str,
    *,
    client: AuthenticatedClient,
    wait: float | Unset = 0.0,
    if_none_match: str | Unset | None = UNSET,
) -> Any | ErrorBody | HTTPValidationError | WorkflowDocument | None:
    """Get Workflow

     The workflow's status document.

    With ``If-None-Match`` naming its current ETag the answer is 304; add ``wait=N`` to
    hold the request up to N seconds until the document changes. A held request waits
    for this process to be told of a change (no database query while it waits), then
    reads the document once. One key holds at most ``LONG_POLLS_PER_KEY`` such requests
    at once (429 past it).

    Args:
        workflow_id (str):
        wait (float | Unset): long poll, seconds Default: 0.0.
        if_none_match (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | HTTPValidationError | WorkflowDocument
    """

    return sync_detailed(
        workflow_id=workflow_id,
        client=client,
        wait=wait,
        if_none_match=if_none_match,
    ).parsed


async def asyncio_detailed(
    workflow_id: str,
    *,
    client: AuthenticatedClient,
    wait: float | Unset = 0.0,
    if_none_match: str | Unset | None = UNSET,
) -> Response[Any | ErrorBody | HTTPValidationError | WorkflowDocument]:
    """Get Workflow

     The workflow's status document.

    With ``If-None-Match`` naming its current ETag the answer is 304; add ``wait=N`` to
    hold the request up to N seconds until the document changes. A held request waits
    for this process to be told of a change (no database query while it waits), then
    reads the document once. One key holds at most ``LONG_POLLS_PER_KEY`` such requests
    at once (429 past it).

    Args:
        workflow_id (str):
        wait (float | Unset): long poll, seconds Default: 0.0.
        if_none_match (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | HTTPValidationError | WorkflowDocument]
    """

    kwargs = _get_kwargs(
        workflow_id=workflow_id,
        wait=wait,
        if_none_match=if_none_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    workflow_id: str,
    *,
    client: AuthenticatedClient,
    wait: float | Unset = 0.0,
    if_none_match: str | Unset | None = UNSET,
) -> Any | ErrorBody | HTTPValidationError | WorkflowDocument | None:
    """Get Workflow

     The workflow's status document.

    With ``If-None-Match`` naming its current ETag the answer is 304; add ``wait=N`` to
    hold the request up to N seconds until the document changes. A held request waits
    for this process to be told of a change (no database query while it waits), then
    reads the document once. One key holds at most ``LONG_POLLS_PER_KEY`` such requests
    at once (429 past it).

    Args:
        workflow_id (str):
        wait (float | Unset): long poll, seconds Default: 0.0.
        if_none_match (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | HTTPValidationError | WorkflowDocument
    """

    return (
        await asyncio_detailed(
            workflow_id=workflow_id,
            client=client,
            wait=wait,
            if_none_match=if_none_match,
        )
    ).parsed
