"""``api keys create|list|revoke``: the operator's side of API keys."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid

from api import db
from api.access import keys
from api.config import get_settings


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keys", help="create, list and revoke API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a key; it is printed once, on the last line")
    create.add_argument("--tenant", required=True, help="the tenant whose work the key reaches")
    create.add_argument("--name", help="a note saying who or what holds the key")
    listing = actions.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    revoke = actions.add_parser("revoke", help="revoke a key by its id; it stops working at once")
    revoke.add_argument("key_id", help="the id printed by 'create' or 'list'")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    if args.action == "create" and not re.fullmatch(keys.TENANT_PATTERN, args.tenant):
        print(
            f"api keys: tenant {args.tenant!r} must be lower-case letters, digits, '-' or '_' "
            "(at most 63, starting with a letter or digit)",
            file=sys.stderr,
        )
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
                key, record = await keys.create(conn, args.tenant, args.name)
                print(f"created key {record.id} for tenant {record.tenant}")
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


def _line(record: keys.KeyRecord) -> str:
    """id, tenant, prefix, created, active or revoked, name: one key per line."""
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    state = f"revoked {record.revoked_at:{stamp}}" if record.revoked_at else "active"
    line = f"{record.id}  {record.tenant}  {record.prefix}...  {record.created_at:{stamp}}  {state}"
    return f"{line}  {record.name}" if record.name else line
