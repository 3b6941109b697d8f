"""`dinsos-admin audit key|anchor|verify`: what an inspector of the audit trail needs.

`anchor` prints a signed anchor of one service's chain (its entry count and last hash,
and the time) to keep outside the system, e.g. from cron each night:
`dinsos-admin audit anchor --service intake >> /media/inspektorat/intake-anchors.jsonl`.
`verify` recomputes the chain and checks it still holds each anchor given; the anchors'
signatures are checked with `--public-key` (from `audit key`, kept by the inspector) so a
forged anchor cannot vouch for a rewritten chain. Each reads the service's database and
audit key from the environment, as the service itself would.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from shared.admin.deployment import SERVICE_SETTINGS
from shared.audit import AuditTrail, ChainBroken
from shared.audit_keys import AnchorInvalid, read_signed_anchor
from shared.db import create_db_engine, read_transaction
from shared.settings import ServiceSettings


@contextmanager
def service_trail(service: str) -> Iterator[tuple[AuditTrail, Engine]]:
    """The audit trail of `service` and an engine on its database, from the environment."""
    settings = SERVICE_SETTINGS[service]()
    if not isinstance(settings, ServiceSettings):
        raise TypeError(f"{service}'s settings are not a service's settings")
    engine = create_db_engine(settings.resolved_database_url(service))
    try:
        yield AuditTrail(MetaData(), settings.audit.keyring()), engine
    except SQLAlchemyError as exc:
        # The service never started on this database, or the database is not reachable.
        raise SystemExit(f"{service}: cannot read its audit trail: {type(exc).__name__}") from exc
    finally:
        engine.dispose()


def anchors_in(path: Path) -> list[dict[str, Any]]:
    """The signed anchors in a file: one JSON document, or one per line (JSON Lines)."""
    text = path.read_text(encoding="utf-8").strip()
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return whole if isinstance(whole, list) else [whole]


def _key(arguments: argparse.Namespace) -> int:
    with service_trail(arguments.service) as (trail, _engine):
        key = trail.keys.current
        print(
            json.dumps(
                {"algorithm": "Ed25519", "key_id": key.key_id, "public_key": key.public_key()}
            )
        )
    return 0


def _anchor(arguments: argparse.Namespace) -> int:
    with service_trail(arguments.service) as (trail, engine):

        def signed(session: Session) -> dict[str, Any]:
            return trail.anchor(session, service=arguments.service, at=datetime.now(UTC))

        try:
            document = read_transaction(engine, signed)
        except ChainBroken as broken:
            check = broken.check
            print(
                f"{arguments.service}: the chain is broken at entry "
                f"{check.first_broken_sequence}: {check.problem}; no anchor signed",
                file=sys.stderr,
            )
            return 1
    print(json.dumps(document, sort_keys=True))
    return 0


def _verify(arguments: argparse.Namespace) -> int:
    problems = 0
    with service_trail(arguments.service) as (trail, engine):
        check = read_transaction(engine, trail.verify)
        state = "intact" if check.intact else "BROKEN"
        print(f"{arguments.service}: chain {state}, {check.entries} entries", end="")
        print(f" ({check.unkeyed_entries} from before keying)" if check.unkeyed_entries else "")
        if not check.intact:
            print(f"  entry {check.first_broken_sequence}: {check.problem}")
            problems += 1
        public_key = arguments.public_key or trail.keys.current.public_key()
        for path in arguments.anchor:
            for document in anchors_in(path):
                try:
                    anchor = read_signed_anchor(document, public_key=public_key)
                except AnchorInvalid as exc:
                    print(f"  anchor in {path}: refused: {exc}")
                    problems += 1
                    continue
                problem = read_transaction(engine, partial(trail.check_anchor, anchor=anchor))
                verdict = "holds" if problem is None else f"DOES NOT HOLD: {problem}"
                print(f"  anchor of {anchor.at.isoformat()} ({anchor.entries} entries): {verdict}")
                problems += problem is not None
    if arguments.anchor and not arguments.public_key:
        print("  (signatures checked with this deployment's own key: pass --public-key")
        print("   with the key the inspector keeps to rule out a replaced key)")
    return 1 if problems else 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`audit key`, `audit anchor` and `audit verify`."""
    audit = groups.add_parser("audit", help="check the audit trail and anchor it outside")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    services = sorted(SERVICE_SETTINGS)

    key = actions.add_parser("key", help="print the public key anchors are signed with")
    key.add_argument("--service", choices=services, required=True)
    key.set_defaults(run=_key)

    anchor = actions.add_parser("anchor", help="print a signed anchor of the chain's head")
    anchor.add_argument("--service", choices=services, required=True)
    anchor.set_defaults(run=_anchor)

    verify = actions.add_parser(
        "verify", help="recompute the chain and check it holds each anchor given"
    )
    verify.add_argument("--service", choices=services, required=True)
    verify.add_argument(
        "--anchor",
        type=Path,
        action="append",
        default=[],
        help="a file of signed anchors (JSON, or JSON Lines); may be repeated",
    )
    verify.add_argument(
        "--public-key", help="base64 Ed25519 public key the anchors must be signed with"
    )
    verify.set_defaults(run=_verify)
