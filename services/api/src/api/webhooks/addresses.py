"""Where a webhook may go: the URL's checks against server-side request forgery.

A tenant names the URL, and the API's own network sends to it, so a URL that reaches
what only the API can reach (the database, a cloud's metadata service at
169.254.169.254, anything on loopback or a private network) would turn the API into the
tenant's proxy. The URL is checked when it is registered and again at each attempt, since
what a name resolves to can change:

- ``http`` or ``https``, a host, no credentials (``user:pass@``) in it;
- the host resolved, and **every** address it resolves to refused when it is loopback,
  link-local, private, unspecified, multicast, reserved or otherwise not global (an
  IPv4-mapped IPv6 address is judged by its IPv4 address);
- the attempt then connects to the address that was checked (:class:`Destination`), with
  the name in the ``Host`` header and in TLS's SNI (and so in the certificate check), so a
  second lookup cannot answer another address in between (DNS rebinding).

``WEBHOOK_ALLOW_PRIVATE=true`` lifts the address check, for development and tests.
The URL is parsed by httpx, which then sends to it: one parser, no disagreement between
the check and the request about which host a URL names.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import httpx

SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(ValueError):
    """The URL is not a webhook destination; the message says why, for the caller."""


def parse(url: str) -> httpx.URL:
    """``url`` when it can name a webhook endpoint (scheme, host, no credentials)."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise UrlRefused(f"not a URL: {error}") from None
    if parsed.scheme not in SCHEMES:
        raise UrlRefused("must be an http or https URL")
    if not parsed.raw_host:
        raise UrlRefused("must name a host")
    if parsed.userinfo:
        raise UrlRefused("must not hold credentials (user:password@)")
    return parsed


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not be sent to ``address`` (``None``: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # The narrowest name first: Python counts 0.0.0.0 and 240.0.0.0/4 as private too.
    for kind in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    if not address.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True)
class Destination:
    """A checked URL and the address to connect to for it."""

    url: httpx.URL
    address: IPAddress

    @property
    def host(self) -> str:
        """The name as sent in ``Host`` and SNI (IDNA-encoded)."""
        return self.url.raw_host.decode("ascii")

    @property
    def pinned_url(self) -> httpx.URL:
        """The URL with its host replaced by the checked address."""
        return self.url.copy_with(host=str(self.address))


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _addresses(url: httpx.URL) -> list[IPAddress]:
    """Every address the URL's host resolves to, in the resolver's order (blocking)."""
    host = url.raw_host.decode("ascii")
    try:
        found = socket.getaddrinfo(host, _port(url), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UrlRefused(f"its host {host!r} cannot be resolved ({error})") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        # An IPv6 link-local address may carry its interface: fe80::1%eth0.
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UrlRefused(f"its host {host!r} resolves to no address")
    return addresses


def resolve(url: str, *, allow_private: bool) -> Destination:
    """The checked destination of ``url`` (blocking: it resolves the host).

    Raises :class:`UrlRefused` naming the reason: a malformed URL, a host that does not
    resolve, or (unless ``allow_private``) one address it resolves to that is not public.
    """
    parsed = parse(url)
    addresses = _addresses(parsed)
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                host = parsed.raw_host.decode("ascii")
                raise UrlRefused(
                    f"its host {host!r} resolves to {address}, {reason}: webhooks go to"
                    " public addresses only"
                )
    return Destination(parsed, addresses[0])
