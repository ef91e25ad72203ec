"""``just bench [--quick]``: the product against the tutorial stack and a ceiling, each
stack on a vhost and a database of its own.

Prints a markdown table with the machine it ran on, and writes the same figures as JSON
under ``bench/results/``. The broker and the database servers come from ``AMQP_URL``
and ``DATABASE_URL`` (or the flags); the suite makes two fresh vhosts and two fresh
databases on them (the product's and the tutorial's) and removes all four when it ends,
whatever happened. HTTP load comes from wrk, which must be installed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from bench import chart, machine, run, scaling, servers, system, table, wrk
from bench.sizes import FULL, QUICK
from bench.system import ROOT, service_env
from tests.support.infra import fresh_database, fresh_vhost

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/postgres"
RESULTS = ROOT / "bench" / "results"
#: The chart of the latest full run, shown in bench/README.md (committed with its table).
LATEST_CHART = ROOT / "bench" / "latest.svg"


def say(line: str) -> None:
    print(f"[bench] {line}", file=sys.stderr, flush=True)


def _terminated(signum: int, frame: FrameType | None) -> None:
    # A SIGTERM (a CI timeout, say) unwinds like Ctrl-C: services stop, vhost and
    # database are removed.
    raise SystemExit(128 + signum)


def _allow_open_files() -> None:
    # A thousand held long polls are a thousand sockets here and in the API, which
    # inherits this limit; the soft limit is often 1,024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: proves the suite works, in 2-3 min"
    )
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL))
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--rabbitmq-management-url",
        default=os.environ.get("RABBITMQ_MANAGEMENT_URL"),
        help="make the vhosts through the management API instead of rabbitmqctl",
    )
    parser.add_argument("--output", type=Path, help="the JSON file (default: bench/results/)")
    parser.add_argument("--logs", type=Path, help="keep the services' logs in this directory")
    parser.add_argument(
        "--only",
        choices=["scaling"],
        help="run one scenario alone instead of the suite: 'scaling', one email worker"
        " against two (bench/scaling.py)",
    )
    return parser.parse_args(argv)


def bench_scaling(args: argparse.Namespace) -> dict[str, Any]:
    """``--only scaling``: on a vhost and a database of its own, like the suite."""
    sizes = QUICK if args.quick else FULL
    started = datetime.now(UTC)
    began = time.monotonic()
    with (
        fresh_vhost(args.amqp_url, args.rabbitmq_management_url, prefix="bench") as amqp_url,
        fresh_database(args.database_url, prefix="bench") as database_url,
        tempfile.TemporaryDirectory(prefix="bench-logs-") as scratch,
    ):
        log_dir = args.logs or Path(scratch)
        log_dir.mkdir(parents=True, exist_ok=True)
        described = machine.describe(amqp_url, database_url)
        found = servers.locate(amqp_url, database_url)
        for name, why in found.missing.items():
            say(f"   {name} left out of the CPU figures: {why}")
        env = service_env(amqp_url, database_url)
        say("migrating the database and declaring the topology")
        system.migrate(env)
        say(f"email workers scaling: {sizes.scaling_emails:,} emails a round")
        measured = scaling.measure(env, sizes.scaling_emails, found.pids, log_dir, say)
        described["load_average_at_end"] = machine.load_average()
    return {
        "suite": "switchyard-bench",
        "only": "scaling",
        "quick": args.quick,
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - began, 1),
        "machine": described,
        "infra": {
            "vhost": unquote(urlsplit(amqp_url).path[1:]),
            "database": urlsplit(database_url).path[1:],
        },
        "servers": {"pids": found.pids, "missing": found.missing},
        "scaling": measured,
    }


def bench(args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    started = datetime.now(UTC)
    began = time.monotonic()
    management = args.rabbitmq_management_url
    with (
        fresh_vhost(args.amqp_url, management, prefix="bench") as amqp_url,
        fresh_database(args.database_url, prefix="bench") as database_url,
        fresh_vhost(args.amqp_url, management, prefix="bench-tutorial") as tutorial_amqp_url,
        fresh_database(args.database_url, prefix="bench_tutorial") as tutorial_database_url,
        tempfile.TemporaryDirectory(prefix="bench-logs-") as scratch,
    ):
        log_dir = args.logs or Path(scratch)
        log_dir.mkdir(parents=True, exist_ok=True)
        infra = run.Infra(
            product_amqp_url=amqp_url,
            product_database_url=database_url,
            tutorial_amqp_url=tutorial_amqp_url,
            tutorial_database_url=tutorial_database_url,
            admin_database_url=args.database_url,
        )
        names = {
            "vhost": unquote(urlsplit(amqp_url).path[1:]),
            "database": urlsplit(database_url).path[1:],
            "tutorial_vhost": unquote(urlsplit(tutorial_amqp_url).path[1:]),
            "tutorial_database": urlsplit(tutorial_database_url).path[1:],
        }
        say(
            f"product: vhost {names['vhost']}, database {names['database']}; "
            f"tutorial: vhost {names['tutorial_vhost']}, database {names['tutorial_database']}"
        )
        described = machine.describe(amqp_url, database_url)
        env = service_env(amqp_url, database_url)
        measured = run.measure(env, infra, sizes, log_dir, say)
        described["load_average_at_end"] = machine.load_average()
    result: dict[str, Any] = {
        "suite": "switchyard-bench",
        "quick": args.quick,
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - began, 1),
        "machine": described,
        "infra": names,
        **measured,
    }
    result["targets"] = table.targets(result["figures"])
    return result


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    try:
        wrk.require()
    except wrk.WrkMissing as missing:
        raise SystemExit(f"bench: {missing}") from None
    _allow_open_files()
    signal.signal(signal.SIGTERM, _terminated)
    if args.only == "scaling":
        scaled = bench_scaling(args)
        output = args.output or RESULTS / (
            f"{scaled['started_at'][:19].replace(':', '')}-scaling"
            f"{'-quick' if args.quick else ''}.json"
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(scaled, indent=2) + "\n")
        print(scaling.markdown(scaled["scaling"]))
        say(f"figures written to {output}")
        return
    result = bench(args)
    output = args.output or RESULTS / (
        f"{result['started_at'][:19].replace(':', '')}{'-quick' if args.quick else ''}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    drawn = chart.render(result)
    output.with_suffix(".svg").write_text(drawn)
    if not args.quick and args.output is None:
        LATEST_CHART.write_text(drawn)  # the one bench/README.md shows
    print(table.markdown(result))
    say(f"figures written to {output}, the chart beside it ({output.with_suffix('.svg').name})")


if __name__ == "__main__":
    main()
