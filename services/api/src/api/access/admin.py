"""``api keys create|list|revoke`` and ``api quotas set|show``: the operator's side of
API keys and of tenants' quotas."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from datetime import UTC, datetime

from api import db
from api.access import keys, quotas
from api.config import Settings, get_settings
from contracts import Lane

LANES = [lane.value for lane in Lane]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keys", help="create, list and revoke API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a key; it is printed once, on the last line")
    create.add_argument("--tenant", required=True, help="the tenant whose work the key reaches")
    create.add_argument("--name", help="a note saying who or what holds the key")
    create.add_argument(
        "--lanes",
        help=f"comma-separated email lanes the key may send in ({', '.join(LANES)});"
        " default: every lane",
    )
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    revoke = actions.add_parser("revoke", help="revoke a key by its id; it stops working at once")
    revoke.add_argument("key_id", help="the id printed by 'create' or 'list'")

    parser = sub.add_parser("quotas", help="set and show tenants' quotas")
    actions = parser.add_subparsers(dest="action", required=True)
    setting = actions.add_parser(
        "set", help="give a tenant its own quotas ('default' goes back to the default)"
    )
    setting.add_argument("tenant")
    for quota in quotas.QUOTAS:
        setting.add_argument(
            "--" + quota.replace("_", "-"),
            dest=quota,
            type=_limit,
            metavar="N",
            help=f"{quota.replace('_', ' ')}: a number, or 'default'",
        )
    show = actions.add_parser("show", help="each tenant's quotas and their use now")
    show.add_argument("tenant", nargs="?", help="only this tenant (shown even with no row)")


#: What ``--recipients-per-day default`` stands for: the tenant's own limit removed.
_DEFAULT = "default"


def _limit(value: str) -> int | str:
    if value == _DEFAULT:
        return _DEFAULT
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number or 'default'")
    return int(value)


def _tenant_refused(tenant: str) -> bool:
    if re.fullmatch(keys.TENANT_PATTERN, tenant):
        return False
    print(
        f"api: tenant {tenant!r} must be lower-case letters, digits, '-' or '_' "
        "(at most 63, starting with a letter or digit)",
        file=sys.stderr,
    )
    return True


def parse_lanes(value: str | None) -> list[str] | None:
    """``--lanes``' lanes, in the order given (``None``: every lane); ``ValueError``
    naming an unknown one."""
    if value is None:
        return None
    lanes = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [lane for lane in lanes if lane not in LANES]
    if unknown or not lanes:
        raise ValueError(
            f"unknown lane {unknown[0]!r}" if unknown else "no lane given",
        )
    return lanes


def run(args: argparse.Namespace) -> int:
    if args.command == "quotas":
        return asyncio.run(_quotas(args))
    return asyncio.run(_run(args))


async def _quotas(args: argparse.Namespace) -> int:
    if args.tenant is not None and _tenant_refused(args.tenant):
        return 2
    settings = get_settings()
    limits = {
        quota: None if getattr(args, quota) == _DEFAULT else getattr(args, quota)
        for quota in quotas.QUOTAS
        if args.action == "set" and getattr(args, quota) is not None
    }
    if args.action == "set" and not limits:
        print("api quotas: give --recipients-per-day and/or --reports-per-hour", file=sys.stderr)
        return 2
    conn = await db.connect(settings, "api-quotas")
    try:
        now = datetime.now(UTC)
        if args.action == "set":
            await quotas.set_limits(conn, args.tenant, limits, now)
        for shown in await quotas.show(conn, now, args.tenant):
            print(_quota_line(shown, settings, now))
    finally:
        await conn.close()
    return 0


def _quota_line(shown: quotas.TenantQuotas, settings: Settings, now: datetime) -> str:
    """``tenant  recipients_per_day used/limit (resets ...)  reports_per_hour ...``"""
    defaults = {
        quotas.RECIPIENTS_PER_DAY: settings.quota_recipients_per_day,
        quotas.REPORTS_PER_HOUR: settings.quota_reports_per_hour,
    }
    own = {
        quotas.RECIPIENTS_PER_DAY: shown.recipients_per_day,
        quotas.REPORTS_PER_HOUR: shown.reports_per_hour,
    }
    parts = [shown.tenant]
    for quota in quotas.QUOTAS:
        limit = own[quota]
        origin = "" if limit is not None else " (default)"
        _, resets = quotas.window(quota, now)
        parts.append(
            f"{quota} {shown.used[quota]}/{defaults[quota] if limit is None else limit}{origin}"
            f" resets {resets:%Y-%m-%dT%H:%M:%SZ}"
        )
    return "  ".join(parts)


async def _run(args: argparse.Namespace) -> int:
    lanes = None
    if args.action == "create":
        if _tenant_refused(args.tenant):
            return 2
        try:
            lanes = parse_lanes(args.lanes)
        except ValueError as error:
            print(f"api keys: --lanes: {error}; the lanes are {', '.join(LANES)}", file=sys.stderr)
            return 2
    if args.action == "revoke":
        try:
            key_id = uuid.UUID(args.key_id)
        except ValueError:
            print(f"api keys: {args.key_id!r} is not a key id", file=sys.stderr)
            return 2
    conn = await db.connect(get_settings(), "api-keys")
    try:
        async with conn.transaction():
            if args.action == "create":
                key, record = await keys.create(conn, args.tenant, args.name, lanes)
                print(f"created key {record.id} for tenant {record.tenant}, lanes {_lanes(record)}")
                print("the key is shown only now; keep it secret:")
                print(key)
            elif args.action == "list":
                for record in await keys.listing(conn, args.tenant):
                    print(_line(record))
            elif not await keys.revoke(conn, key_id):
                print(f"api keys: no active key {key_id}", file=sys.stderr)
                return 1
            else:
                print(f"revoked key {key_id}")
    finally:
        await conn.close()
    return 0


def _lanes(record: keys.KeyRecord) -> str:
    return ",".join(record.lanes) if record.lanes is not None else "all"


def _line(record: keys.KeyRecord) -> str:
    """id, tenant, prefix, created, active or revoked, lanes, name: one key per line."""
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    state = f"revoked {record.revoked_at:{stamp}}" if record.revoked_at else "active"
    line = (
        f"{record.id}  {record.tenant}  {record.prefix}...  {record.created_at:{stamp}}"
        f"  {state}  lanes {_lanes(record)}"
    )
    return f"{line}  {record.name}" if record.name else line
