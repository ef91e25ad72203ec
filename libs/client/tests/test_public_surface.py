"""What ``switchyard_client`` offers at its top level stays what the README shows."""

from __future__ import annotations

import switchyard_client


def test_the_public_names() -> None:
    assert set(switchyard_client.__all__) == {
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
    }
    for name in switchyard_client.__all__:
        assert getattr(switchyard_client, name) is not None
