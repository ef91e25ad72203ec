"""switchyard_runtime.cli: every service's ``run`` and ``migrate``; Celery's options passed on."""

from __future__ import annotations

import argparse
import socket

import pytest

from switchyard_runtime.cli import celery_options, service_main, worker_argv
from switchyard_runtime.settings import PlatformSettings

HELPS = ("consume the queues", "apply the migrations")


def test_run_is_the_default_and_takes_celery_options_before_or_after() -> None:
    given: list[list[str]] = []
    for argv in ([], ["run"], ["run", "--hostname", "w-2@%h", "-c", "4"], ["--pool=solo"]):
        service_main("w", None, given.append, argv, settings=PlatformSettings, helps=HELPS)
    assert given == [[], [], ["--hostname", "w-2@%h", "-c", "4"], ["--pool=solo"]]


def test_migrate_reads_the_settings_first_and_refuses_celery_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def bad_settings() -> PlatformSettings:
        raise SystemExit(2)  # what load_settings does on a bad variable

    with pytest.raises(SystemExit) as stopped:
        service_main("w", None, print, ["migrate"], settings=bad_settings, helps=HELPS)
    assert stopped.value.code == 2
    with pytest.raises(SystemExit) as refused:
        service_main("w", None, print, ["migrate", "-c", "4"], settings=bad_settings, helps=HELPS)
    assert refused.value.code == 2
    assert "unrecognized arguments: -c 4" in capsys.readouterr().err


def test_help_says_what_each_command_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        service_main(
            "w", "The w command.", print, ["--help"], settings=PlatformSettings, helps=HELPS
        )
    out = capsys.readouterr().out
    assert "The w command." in out
    assert "consume the queues (the default)" in out
    assert "apply the migrations" in out


def test_options_pass_only_to_the_commands_named() -> None:
    parser = argparse.ArgumentParser(prog="api")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("intake").add_argument("celery_args", nargs=argparse.REMAINDER)
    sub.add_parser("migrate")
    args, extra = celery_options(
        parser, ["intake", "--queues", "q", "-c", "1"], passes_on={"intake"}
    )
    assert (args.command, extra) == ("intake", ["--queues", "q", "-c", "1"])
    with pytest.raises(SystemExit):
        celery_options(parser, ["migrate", "--queues", "q"], passes_on={"intake"})


def test_a_worker_is_named_after_its_service_and_host_and_extra_options_come_last() -> None:
    argv = worker_argv("email-worker", "a,b", 8, "threads", ["--hostname", "email-worker-2@%h"])
    assert argv == [
        "worker",
        "--queues",
        "a,b",
        "--hostname",
        f"email-worker@{socket.gethostname()}",
        "--concurrency",
        "8",
        "--pool",
        "threads",
        "--loglevel",
        "INFO",
        "--hostname",
        "email-worker-2@%h",
    ]
