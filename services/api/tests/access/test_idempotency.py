"""What counts as the same request for an ``Idempotency-Key``."""

from __future__ import annotations

from api.access.idempotency import request_hash


def test_the_same_body_in_any_key_order_is_the_same_request() -> None:
    assert request_hash("/v1/emails", {"a": 1, "b": [1, 2]}) == request_hash(
        "/v1/emails", {"b": [1, 2], "a": 1}
    )


def test_another_body_or_endpoint_is_another_request() -> None:
    base = request_hash("/v1/emails", {"a": 1})
    assert base != request_hash("/v1/emails", {"a": 2})
    assert base != request_hash("/v1/reports", {"a": 1})
    assert request_hash("/v1/emails", {"b": [1, 2]}) != request_hash("/v1/emails", {"b": [2, 1]})
