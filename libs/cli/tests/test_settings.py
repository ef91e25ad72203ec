"""swy takes the API's address and key from the environment, and says when the key is missing."""

from __future__ import annotations

import pytest

from switchyard_cli.settings import DEFAULT_URL, MissingKey, api_url, connect


def test_the_address_defaults_to_the_local_api() -> None:
    assert api_url({}) == DEFAULT_URL == "http://127.0.0.1:8000"
    assert api_url({"SWITCHYARD_URL": " https://api.example.com/ "}) == "https://api.example.com"


def test_a_missing_key_is_named() -> None:
    for environ in ({}, {"SWITCHYARD_API_KEY": "  "}):
        with pytest.raises(MissingKey, match="SWITCHYARD_API_KEY is not set"):
            connect(environ)


def test_the_key_is_sent_as_a_bearer_token() -> None:
    client = connect({"SWITCHYARD_API_KEY": "swy_abc", "SWITCHYARD_URL": "http://api.test"})
    http = client.get_httpx_client()
    assert http.headers["authorization"] == "Bearer swy_abc"
    assert str(http.base_url) == "http://api.test"
