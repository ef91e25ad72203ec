"""``api intake`` passes Celery's own options on, as the README says it does."""

from __future__ import annotations

import pytest

from api import cli


def test_celery_options_after_intake_reach_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[list[str]] = []
    monkeypatch.setattr(cli, "intake", given.append)
    cli.main(["intake", "--queues", "webhooks.deliver", "--hostname", "api-intake-2@%h"])
    assert given == [["--queues", "webhooks.deliver", "--hostname", "api-intake-2@%h"]]


def test_an_unknown_option_of_another_command_is_refused() -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["migrate", "--hostname", "x"])
    assert refused.value.code == 2
