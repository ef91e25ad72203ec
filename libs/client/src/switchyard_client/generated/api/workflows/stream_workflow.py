from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.http_validation_error import HTTPValidationError
from ...types import UNSET, Response, Unset


def _get_kwargs(
    workflow_id: str,
    *,
    last_event_id: str | Unset | None = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["last-event-id"] = last_event_id

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/workflows/{workflow_id}/events".format(
            workflow_id=quote(str(workflow_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorBody | HTTPValidationError | None:
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
) -> Response[ErrorBody | HTTPValidationError]:
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
    last_event_id: str | Unset | None = UNSET,
) -> Response[ErrorBody | HTTPValidationError]:
    """Stream Workflow

     The workflow's document at once, then each time it changes, until it is finished.

    Reconnect with ``Last-Event-ID`` to resume without being sent the document you have.
    A stream counts against the key's cap of held requests (``LONG_POLLS_PER_KEY``).

    Args:
        workflow_id (str):
        last_event_id (None | str | Unset): the `id:` of the last event received

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        workflow_id=workflow_id,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    workflow_id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset | None = UNSET,
) -> ErrorBody | HTTPValidationError | None:
    """Stream Workflow

     The workflow's document at once, then each time it changes, until it is finished.

    Reconnect with ``Last-Event-ID`` to resume without being sent the document you have.
    A stream counts against the key's cap of held requests (``LONG_POLLS_PER_KEY``).

    Args:
        workflow_id (str):
        last_event_id (None | str | Unset): the `id:` of the last event received

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | HTTPValidationError
    """

    return sync_detailed(
        workflow_id=workflow_id,
        client=client,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    workflow_id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset | None = UNSET,
) -> Response[ErrorBody | HTTPValidationError]:
    """Stream Workflow

     The workflow's document at once, then each time it changes, until it is finished.

    Reconnect with ``Last-Event-ID`` to resume without being sent the document you have.
    A stream counts against the key's cap of held requests (``LONG_POLLS_PER_KEY``).

    Args:
        workflow_id (str):
        last_event_id (None | str | Unset): the `id:` of the last event received

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        workflow_id=workflow_id,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    workflow_id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset | None = UNSET,
) -> ErrorBody | HTTPValidationError | None:
    """Stream Workflow

     The workflow's document at once, then each time it changes, until it is finished.

    Reconnect with ``Last-Event-ID`` to resume without being sent the document you have.
    A stream counts against the key's cap of held requests (``LONG_POLLS_PER_KEY``).

    Args:
        workflow_id (str):
        last_event_id (None | str | Unset): the `id:` of the last event received

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            workflow_id=workflow_id,
            client=client,
            last_event_id=last_event_id,
        )
    ).parsed
