"""`dinsos-admin data rewrap`: after a data key rotation, re-encrypt every personal number
a service keeps under the newest key, so the old key can be dropped.

A rotation, for intake (distribution the same with `DISTRIBUTION_DATA_KEY`):

1. `dinsos-admin keys rotate --service intake` prints `INTAKE_DATA_KEY=NEW,OLD`; put it
   in `.env` and restart intake: it writes under NEW and still reads OLD.
2. `dinsos-admin data rewrap --service intake` (same environment) re-encrypts, in
   batches of their own transactions, every value not yet under NEW; run it again
   whenever: a second run finds nothing to do. The NIK's lookup hash (distribution)
   derives from the data key and is recomputed with it.
3. `INTAKE_DATA_KEY=NEW` alone, restart intake; OLD may be destroyed (after the backups
   made under it have expired: they need it).

A value no configured key opens is named (table, row, column) and left as it was, with
the rest of its row; the command then exits 1. A row the running service changed between
the read and the write is left to the service (it wrote under the newest key).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import SecretStr
from sqlalchemy import Connection, Engine, Row, column, select, table, update
from sqlalchemy.exc import SQLAlchemyError

from services.distribution import privacy as distribution_privacy
from services.intake import privacy as intake_privacy
from shared.admin.database import url_for
from shared.db import create_db_engine
from shared.privacy import (
    DataKeyError,
    PersonalDataVault,
    SealedColumns,
    UndecryptableValue,
    load_data_keys,
)
from shared.settings import CommonSettings


@dataclass(frozen=True)
class SealedService:
    """A service that keeps personal numbers under a data key of its own."""

    key_setting: str
    key_file: str
    lookup_context: bytes
    sealed: tuple[SealedColumns, ...]


SEALED_SERVICES: dict[str, SealedService] = {
    "intake": SealedService(
        intake_privacy.KEY_SETTING,
        intake_privacy.KEY_FILE,
        intake_privacy.LOOKUP_CONTEXT,
        intake_privacy.SEALED,
    ),
    "distribution": SealedService(
        distribution_privacy.KEY_SETTING,
        distribution_privacy.KEY_FILE,
        distribution_privacy.LOOKUP_CONTEXT,
        distribution_privacy.SEALED,
    ),
}
DEFAULT_BATCH_SIZE = 500


@dataclass
class RewrapOutcome:
    """What a rewrap did: values re-encrypted (and rows they were in), values already
    under the newest key, rows left to the service because it changed them meanwhile,
    and the values no key opens."""

    rewrapped: int = 0
    rows: int = 0
    current: int = 0
    changed_meanwhile: int = 0
    unreadable: list[str] = field(default_factory=list)


def _shown_key(value: object) -> str:
    """A row's key as a person looks it up: a UUID in its usual form (SQLite keeps 32
    bare hex digits), anything else as it is."""
    try:
        return str(UUID(str(value)))
    except ValueError:
        return str(value)


def _rewrapped_row(
    row: Row[Any], sealed: SealedColumns, vault: PersonalDataVault, outcome: RewrapOutcome
) -> dict[str, str] | None:
    """The new values of one row's columns not yet under the newest key; None when one
    of its values cannot be decrypted (the row is then left whole)."""
    values: dict[str, str] = {}
    for name in sealed.columns:
        stored: str | None = getattr(row, name)
        if stored is None:
            continue
        if sealed.is_clear(stored):
            clear = stored
        elif vault.is_current(stored):
            outcome.current += 1
            continue
        else:
            try:
                clear = vault.decrypt(stored)
            except UndecryptableValue:
                where = f"{sealed.table} row {_shown_key(getattr(row, sealed.key_column))}"
                outcome.unreadable.append(
                    f"{where}: {name} cannot be "
                    f"decrypted with any of the {vault.key_count} configured keys; row left "
                    "unchanged"
                )
                return None
        values[name] = vault.encrypt(clear)
        for hash_column, source in sealed.fingerprints.items():
            if source == name:
                values[hash_column] = vault.fingerprint(clear)
    return values


def _rewrap_batch(
    connection: Connection,
    sealed: SealedColumns,
    vault: PersonalDataVault,
    outcome: RewrapOutcome,
    *,
    after: object,
    batch_size: int,
) -> object:
    """Rewrap one batch of rows in key order after `after`; the last key seen, or None
    when the table is done."""
    rows_of = table(
        sealed.table,
        column(sealed.key_column),
        *(column(name) for name in (*sealed.columns, *sealed.fingerprints)),
    )
    key = rows_of.c[sealed.key_column]
    query = select(rows_of).order_by(key).limit(batch_size)
    if after is not None:
        query = query.where(key > after)
    rows = connection.execute(query).all()
    for row in rows:
        values = _rewrapped_row(row, sealed, vault, outcome)
        if not values:
            continue
        # Written only if the row still holds what was read: a value the running service
        # wrote meanwhile (under the newest key) is never overwritten with an old one.
        unchanged = [
            rows_of.c[name].is_(None) if getattr(row, name) is None
            else rows_of.c[name] == getattr(row, name)
            for name in sealed.columns
        ]  # fmt: skip
        written = connection.execute(
            update(rows_of).where(key == getattr(row, sealed.key_column), *unchanged).values(values)
        ).rowcount
        if written:
            outcome.rows += 1
            outcome.rewrapped += sum(1 for name in values if name in sealed.columns)
        else:
            outcome.changed_meanwhile += 1
    return getattr(rows[-1], sealed.key_column) if len(rows) == batch_size else None


def rewrap(
    engine: Engine,
    vault: PersonalDataVault,
    sealed: Sequence[SealedColumns],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RewrapOutcome:
    """Re-encrypt every sealed value not yet under the vault's newest key, each batch in
    a transaction of its own (a long table never holds one long lock)."""
    outcome = RewrapOutcome()
    for columns in sealed:
        after: object = None
        while True:
            with engine.begin() as connection:
                after = _rewrap_batch(
                    connection, columns, vault, outcome, after=after, batch_size=batch_size
                )
            if after is None:
                break
    return outcome


def configured_keys(service: SealedService) -> list[bytes]:
    """The service's data keys as the service would read them: its setting, or in
    development the key file in the data folder. Refuses (SystemExit) when there is
    neither, rather than rewrapping under a key nobody keeps."""
    configured = os.environ.get(service.key_setting, "")
    common = CommonSettings()
    if not configured and not (
        common.environment == "development" and (common.data_dir / service.key_file).exists()
    ):
        raise SystemExit(f"{service.key_setting} is not set: rewrap needs the service's keys")
    try:
        return load_data_keys(
            SecretStr(configured) if configured else None,
            common,
            key_file=service.key_file,
            setting=service.key_setting,
        )
    except DataKeyError as exc:
        raise SystemExit(f"refused: {exc}") from None


def _rewrap(arguments: argparse.Namespace) -> int:
    service = SEALED_SERVICES[arguments.service]
    vault = PersonalDataVault(configured_keys(service), lookup_context=service.lookup_context)
    engine = create_db_engine(url_for(arguments.service, arguments))
    try:
        outcome = rewrap(engine, vault, service.sealed, batch_size=arguments.batch_size)
    except SQLAlchemyError as exc:
        print(f"{arguments.service}: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(
        f"{arguments.service}: rewrapped {outcome.rewrapped} values in {outcome.rows} rows "
        f"under the newest of {vault.key_count} keys; {outcome.current} already under it"
    )
    if outcome.changed_meanwhile:
        print(
            f"{arguments.service}: {outcome.changed_meanwhile} rows changed by the service "
            "meanwhile were left to it; run rewrap again to check them"
        )
    for problem in outcome.unreadable:
        print(f"{arguments.service}: {problem}", file=sys.stderr)
    return 1 if outcome.unreadable else 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`data rewrap`."""
    data = groups.add_parser("data", help="personal data kept encrypted by the services")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    rewrap_parser = actions.add_parser(
        "rewrap",
        help="re-encrypt every stored personal number under the newest data key "
        "(1: some value no configured key opens)",
    )
    rewrap_parser.add_argument("--service", required=True, choices=sorted(SEALED_SERVICES))
    rewrap_parser.add_argument(
        "--database-url", help="this database instead of the service's configured one"
    )
    rewrap_parser.add_argument(
        "--batch-size",
        type=_positive,
        default=DEFAULT_BATCH_SIZE,
        help=f"rows per transaction (default: {DEFAULT_BATCH_SIZE})",
    )
    rewrap_parser.set_defaults(run=_rewrap)
