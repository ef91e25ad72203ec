"""nosniff and frame-ancestors 'none' on every response, one policy per response."""

from __future__ import annotations

from api.security_headers import add

NOSNIFF = (b"x-content-type-options", b"nosniff")


def policies(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [value for name, value in headers if name == b"content-security-policy"]


def test_a_response_without_either_gets_both() -> None:
    headers = [(b"content-type", b"application/json")]

    add(headers)

    assert policies(headers) == [b"frame-ancestors 'none'"]
    assert NOSNIFF in headers
    assert headers[0] == (b"content-type", b"application/json")


def test_a_page_policy_gets_frame_ancestors_added_not_a_second_policy() -> None:
    headers = [(b"content-security-policy", b"default-src 'none'; script-src 'self';")]

    add(headers)

    assert policies(headers) == [b"default-src 'none'; script-src 'self'; frame-ancestors 'none'"]


def test_what_a_response_set_itself_stays_once() -> None:
    own = b"default-src 'self'; frame-ancestors 'self'"
    headers = [(b"content-security-policy", own), NOSNIFF]

    add(headers)

    assert policies(headers) == [own]
    assert headers.count(NOSNIFF) == 1
