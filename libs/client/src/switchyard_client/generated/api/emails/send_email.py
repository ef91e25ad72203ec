from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.accepted import Accepted
from ...models.email_request import EmailRequest
from ...models.error_body import ErrorBody
from ...models.http_validation_error import HTTPValidationError
from ...models.lane_refused import LaneRefused
from ...models.too_many_requests import TooManyRequests
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EmailRequest,
    idempotency_key: str | Unset | None = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/emails",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests | None:
    if response.status_code == 200:
        response_200 = cast(Any, None)
        return response_200

    if response.status_code == 202:
        response_202 = Accepted.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = LaneRefused.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = TooManyRequests.from_dict(response.json())

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
) -> Response[Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: EmailRequest,
    idempotency_key: str | Unset | None = UNSET,
) -> Response[Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests]:
    """Send Email

     Accept an email for delivery; poll ``status_url`` for its workflow.

    Its ``lane`` must be one the key may use (403 naming it otherwise), and its
    recipients (to, cc and bcc) must fit in the tenant's quota of recipients per day
    (429 naming the quota and when it resets otherwise).

    Args:
        idempotency_key (None | str | Unset): Repeat a POST safely: the same key and body answer
            the first workflow again (200); the same key with another body is refused (409). Kept 24
            hours.
        body (EmailRequest): ``POST /v1/emails``: one email, delivered by the email worker.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: EmailRequest,
    idempotency_key: str | Unset | None = UNSET,
) -> Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests | None:
    """Send Email

     Accept an email for delivery; poll ``status_url`` for its workflow.

    Its ``lane`` must be one the key may use (403 naming it otherwise), and its
    recipients (to, cc and bcc) must fit in the tenant's quota of recipients per day
    (429 naming the quota and when it resets otherwise).

    Args:
        idempotency_key (None | str | Unset): Repeat a POST safely: the same key and body answer
            the first workflow again (200); the same key with another body is refused (409). Kept 24
            hours.
        body (EmailRequest): ``POST /v1/emails``: one email, delivered by the email worker.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: EmailRequest,
    idempotency_key: str | Unset | None = UNSET,
) -> Response[Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests]:
    """Send Email

     Accept an email for delivery; poll ``status_url`` for its workflow.

    Its ``lane`` must be one the key may use (403 naming it otherwise), and its
    recipients (to, cc and bcc) must fit in the tenant's quota of recipients per day
    (429 naming the quota and when it resets otherwise).

    Args:
        idempotency_key (None | str | Unset): Repeat a POST safely: the same key and body answer
            the first workflow again (200); the same key with another body is refused (409). Kept 24
            hours.
        body (EmailRequest): ``POST /v1/emails``: one email, delivered by the email worker.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: EmailRequest,
    idempotency_key: str | Unset | None = UNSET,
) -> Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests | None:
    """Send Email

     Accept an email for delivery; poll ``status_url`` for its workflow.

    Its ``lane`` must be one the key may use (403 naming it otherwise), and its
    recipients (to, cc and bcc) must fit in the tenant's quota of recipients per day
    (429 naming the quota and when it resets otherwise).

    Args:
        idempotency_key (None | str | Unset): Repeat a POST safely: the same key and body answer
            the first workflow again (200); the same key with another body is refused (409). Kept 24
            hours.
        body (EmailRequest): ``POST /v1/emails``: one email, delivered by the email worker.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Accepted | Any | ErrorBody | HTTPValidationError | LaneRefused | TooManyRequests
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
