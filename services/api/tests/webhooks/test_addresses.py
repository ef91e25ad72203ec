"""The webhook URL checks against server-side request forgery (pure, and local lookups)."""

from __future__ import annotations

import ipaddress

import pytest

from api.webhooks.addresses import UrlRefused, parse, refusal, resolve


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public address"),
        # IPv4-mapped IPv6 addresses are judged by the IPv4 address they carry.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("::ffff:169.254.169.254", "link-local"),
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, reason: str) -> None:
    refused = refusal(ipaddress.ip_address(address))
    assert refused is not None and reason in refused


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("example.com/hook", "http or https"),
        ("http:///hook", "host"),
        ("https://user:secret@example.com/", "credentials"),
        ("https://example.com/" + "a" * 2048, "2048"),
    ],
)
def test_a_url_that_names_no_http_endpoint_is_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused, match=reason):
        parse(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://127.1/hook",  # another spelling of 127.0.0.1: the resolved address counts
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://0.0.0.0:9000/",
    ],
)
def test_a_host_resolving_to_a_refused_address_is_refused_naming_it(url: str) -> None:
    with pytest.raises(UrlRefused, match="public addresses only"):
        resolve(url, allow_private=False)


def test_allowing_private_addresses_lifts_the_address_check_only() -> None:
    destination = resolve("http://localhost:8080/hook?x=1", allow_private=True)
    assert destination.address.is_loopback
    assert destination.host == "localhost"
    assert destination.pinned_url.host == str(destination.address)
    assert destination.pinned_url.port == 8080
    assert destination.pinned_url.raw_path == b"/hook?x=1"
    with pytest.raises(UrlRefused, match="http or https"):
        resolve("gopher://localhost/", allow_private=True)


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UrlRefused, match="cannot be resolved"):
        resolve("https://no-such-host.invalid/hook", allow_private=True)


def test_the_pinned_url_keeps_the_name_for_host_and_sni() -> None:
    destination = resolve("https://[::1]:8443/hook", allow_private=True)
    assert str(destination.pinned_url) == "https://[::1]:8443/hook"
    assert destination.host == "::1"
