"""Reporters' phone numbers at rest: encrypted with Fernet under `INTAKE_DATA_KEY` (the
same vault distribution uses for recipients, a key of intake's own), masked in every API
answer, and a function the schema migration calls to encrypt the numbers stored in clear
before this existed."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from sqlalchemy import Connection, column, select, table, update

from services.intake.settings import IntakeSettings
from shared.db import run_transaction
from shared.privacy import PersonalDataVault, SealedColumns, load_data_keys, mask_phone

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime
    from shared.subscriptions import BackgroundTask

log = logging.getLogger(__name__)

KEY_FILE = "intake-data.key"
# The tables that keep a reporter's phone, each in the column `reporter_phone`.
PHONE_TABLES = ("incident", "field_report", "incident_update")
# What a phone stored in clear looks like (the API's `Phone` pattern); a Fernet token
# (url-safe base64 starting with "gAAAAA") never does.
_CLEAR_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,25}$")


KEY_SETTING = "INTAKE_DATA_KEY"
LOOKUP_CONTEXT = b"intake:reporter-lookup"


def is_clear_phone(stored: str) -> bool:
    """Whether a stored phone is a number in clear (kept so before encryption existed)."""
    return _CLEAR_PHONE.match(stored) is not None


# What `dinsos-admin data rewrap --service intake` re-encrypts under the newest key.
SEALED = (
    *(
        SealedColumns(table=name, columns=("reporter_phone",), is_clear=is_clear_phone)
        for name in PHONE_TABLES
    ),
    # A complainant's contact and the complaint's lookup code (services/intake/complaints.py),
    # with the code's keyed hash recomputed under the newest key.
    SealedColumns(
        table="complaint",
        columns=("complainant_contact", "lookup_code"),
        fingerprints={"lookup_digest": "lookup_code"},
    ),
    # An affected family's KK and the head's NIK (services/intake/families.py).
    SealedColumns(
        table="affected_family",
        columns=("kk_number", "head_nik"),
        fingerprints={"kk_digest": "kk_number"},
    ),
)


def reporter_vault(settings: IntakeSettings) -> PersonalDataVault:
    """The vault for reporters' phones: `INTAKE_DATA_KEY` (newest key first, older ones
    still read); in development a key generated once into the data folder; in tests a
    fresh one per process."""
    keys = load_data_keys(
        settings.data_key, settings.common, key_file=KEY_FILE, setting=KEY_SETTING
    )
    return PersonalDataVault(keys, lookup_context=LOOKUP_CONTEXT)


def sealed_phone(vault: PersonalDataVault, phone: str | None) -> str | None:
    """What is stored for a phone number: its Fernet token."""
    return vault.encrypt(phone) if phone is not None else None


def shown_phone(vault: PersonalDataVault, stored: str | None) -> str | None:
    """A stored phone as an API answer shows it: masked (`0812******78`)."""
    if stored is None:
        return None
    clear = stored if is_clear_phone(stored) else vault.decrypt(stored)
    return mask_phone(clear)


def encrypt_clear_reporter_phones(connection: Connection, vault: PersonalDataVault) -> int:
    """Encrypt every reporter phone still stored in clear, in the three tables that keep
    one; returns how many. Tokens already there are left alone, so running it twice (or
    on a database written after the change) does nothing more. The caller owns the
    transaction (an Alembic migration runs it inside its own)."""
    encrypted = 0
    for name in PHONE_TABLES:
        rows = table(name, column("id"), column("reporter_phone"))
        stored = connection.execute(
            select(rows.c.id, rows.c.reporter_phone).where(rows.c.reporter_phone.is_not(None))
        ).all()
        for row_id, phone in stored:
            if is_clear_phone(phone):
                connection.execute(
                    update(rows)
                    .where(rows.c.id == row_id)
                    .values(reporter_phone=vault.encrypt(phone))
                )
                encrypted += 1
    return encrypted


def encrypting_clear_phones_at_start(vault: PersonalDataVault) -> BackgroundTask:
    """A start-up task that encrypts the numbers an older version stored in clear. It runs
    in the service rather than in the schema migration because only the service holds
    `INTAKE_DATA_KEY` (compose's one-shot migration step has no keys)."""

    async def encrypt_clear_phones(runtime: ServiceRuntime) -> None:
        encrypted = await asyncio.to_thread(
            run_transaction,
            runtime.engine,
            lambda session: encrypt_clear_reporter_phones(session.connection(), vault),
        )
        if encrypted:
            log.info("encrypted %d reporter phone numbers kept in clear", encrypted)

    return encrypt_clear_phones
