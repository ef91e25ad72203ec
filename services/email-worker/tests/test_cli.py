"""``email-worker run`` passes Celery's own options on: a second worker on one machine
needs its own node name."""

from __future__ import annotations

import pytest

from email_worker import cli


def test_celery_options_after_run_reach_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[list[str]] = []
    monkeypatch.setattr(cli, "run", given.append)
    cli.main(["run", "--hostname", "email-worker-2@%h", "--concurrency", "4"])
    cli.main([])
    assert given == [["--hostname", "email-worker-2@%h", "--concurrency", "4"], []]


def test_an_unknown_option_of_migrate_is_refused() -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["migrate", "--hostname", "x"])
    assert refused.value.code == 2
