"""``just bench [--quick]``: the benchmark suite, on a vhost and a database of its own.

Prints a markdown table with the machine it ran on, and writes the same figures as JSON
under ``bench/results/``. The broker and the database servers come from ``AMQP_URL``
and ``DATABASE_URL`` (or the flags); the suite makes a fresh vhost and a fresh database
on them and removes both when it ends, whatever happened.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from bench import machine, run, table
from bench.system import ROOT, service_env
from tests.support.infra import fresh_database, fresh_vhost

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/postgres"
RESULTS = ROOT / "bench" / "results"


def say(line: str) -> None:
    print(f"[bench] {line}", file=sys.stderr, flush=True)


def _terminated(signum: int, frame: FrameType | None) -> None:
    # A SIGTERM (a CI timeout, say) unwinds like Ctrl-C: services stop, vhost and
    # database are removed.
    raise SystemExit(128 + signum)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: proves the suite works, in ~1 min"
    )
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL))
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--rabbitmq-management-url",
        default=os.environ.get("RABBITMQ_MANAGEMENT_URL"),
        help="make the vhost through the management API instead of rabbitmqctl",
    )
    parser.add_argument("--output", type=Path, help="the JSON file (default: bench/results/)")
    parser.add_argument("--logs", type=Path, help="keep the services' logs in this directory")
    return parser.parse_args(argv)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    sizes = run.QUICK if args.quick else run.FULL
    started = datetime.now(UTC)
    began = time.monotonic()
    with (
        fresh_vhost(args.amqp_url, args.rabbitmq_management_url, prefix="bench") as amqp_url,
        fresh_database(args.database_url, prefix="bench") as database_url,
        tempfile.TemporaryDirectory(prefix="bench-logs-") as scratch,
    ):
        log_dir = args.logs or Path(scratch)
        log_dir.mkdir(parents=True, exist_ok=True)
        say(f"vhost {urlsplit(amqp_url).path[1:]}, database {urlsplit(database_url).path[1:]}")
        described = machine.describe(amqp_url, database_url)
        env = service_env(amqp_url, database_url, sizes.concurrency)
        measured = run.measure(env, sizes, log_dir, say)
        described["load_average_at_end"] = machine.load_average()
        infra = {
            "vhost": unquote(urlsplit(amqp_url).path[1:]),
            "database": urlsplit(database_url).path[1:],
        }
    result: dict[str, Any] = {
        "suite": "switchyard-bench",
        "quick": args.quick,
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - began, 1),
        "machine": described,
        "infra": infra,
        **measured,
    }
    result["targets"] = table.targets(result["figures"])
    return result


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _terminated)
    result = bench(args)
    output = args.output or RESULTS / (
        f"{result['started_at'][:19].replace(':', '')}{'-quick' if args.quick else ''}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(table.markdown(result))
    say(f"figures written to {output}")


if __name__ == "__main__":
    main()
