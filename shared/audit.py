"""A tamper-evident audit trail in each service's own database.

Every state change is recorded in the transaction that makes it: who (the signed-in
user, or the service itself when an event caused it), when, what (action, entity and
id, details), and from which request or event. Each entry carries the SHA-256 of its
content and of the previous entry, so altering, deleting or reordering any entry breaks
every hash after it; `verify` recomputes the chain for an inspector.

Appends are serialised through one head row (its row lock on PostgreSQL; SQLite
transactions here already take the write lock up front), so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from shared.db import UTCDateTime

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditContext:
    """Who is acting and on whose behalf: a user's request, or an event being applied."""

    actor: str
    source: str


_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


@contextmanager
def acting_as(actor: str, source: str) -> Iterator[None]:
    """Attribute the state changes made inside the block to `actor`, from `source`."""
    token = _context.set(AuditContext(actor, source))
    try:
        yield
    finally:
        _context.reset(token)


def set_context(actor: str, source: str) -> None:
    """Attribute the rest of this request's changes (set once by the auth check)."""
    _context.set(AuditContext(actor, source))


def current_context(default_actor: str) -> AuditContext:
    """The acting user and source, or the service itself when nobody set them."""
    return _context.get() or AuditContext(default_actor, "internal")


@dataclass(frozen=True)
class ChainCheck:
    """What `verify` found: how many entries, and the first that does not hold."""

    entries: int
    intact: bool
    first_broken_sequence: int | None
    problem: str | None


def entry_hash(previous: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


class AuditTrail:
    """The `audit_entry` and `audit_head` tables of one service's database."""

    def __init__(self, metadata: MetaData) -> None:
        if "audit_entry" in metadata.tables:
            self.entries = metadata.tables["audit_entry"]
            self.head = metadata.tables["audit_head"]
        else:
            self._define_tables(metadata)
        # Built once, run with parameters: every emitted event appends an entry, and
        # building these anew cost more Python time than SQLite takes to run them.
        self._insert_entry = insert(self.entries)
        self._set_last_hash = update(self.head).where(self.head.c.id == 1)
        self._bump_head = (
            update(self.head)
            .where(self.head.c.id == 1)
            .values(last_sequence=self.head.c.last_sequence + 1)
            .returning(self.head.c.last_sequence, self.head.c.last_hash)
        )

    def _define_tables(self, metadata: MetaData) -> None:
        self.entries = Table(
            "audit_entry",
            metadata,
            Column("sequence", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
            Column("recorded_at", UTCDateTime, nullable=False),
            Column("actor", String(200), nullable=False),
            Column("source", String(200), nullable=False),
            Column("office_id", String(40), nullable=True, index=True),
            Column("action", String(100), nullable=False),
            Column("entity", String(100), nullable=False),
            Column("entity_id", String(100), nullable=False, index=True),
            Column("details", Text, nullable=False),
            Column("previous_hash", String(64), nullable=False),
            Column("hash", String(64), nullable=False, unique=True),
        )
        self.head = Table(
            "audit_head",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("last_sequence", BigInteger, nullable=False),
            Column("last_hash", String(64), nullable=False),
        )

    def record(
        self,
        session: Session,
        *,
        at: datetime,
        context: AuditContext,
        action: str,
        entity: str,
        entity_id: str,
        office_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry in the caller's transaction; returns its sequence number."""
        at = at.astimezone(UTC)
        sequence, previous = self._advance_head(session)
        fields = {
            "sequence": sequence,
            "recorded_at": at.isoformat(),
            "actor": context.actor,
            "source": context.source,
            "office_id": office_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "details": json.dumps(details or {}, sort_keys=True, default=str),
        }
        digest = entry_hash(previous, fields)
        session.execute(
            self._insert_entry,
            {**fields, "recorded_at": at, "previous_hash": previous, "hash": digest},
        )
        session.execute(self._set_last_hash, {"last_hash": digest})
        return sequence

    def _advance_head(self, session: Session) -> tuple[int, str]:
        advanced = self._bump(session)
        if advanced is None:
            # First entry ever: create the head at sequence 0. Two first writers at once
            # both get here; ON CONFLICT makes the second wait for the first and skip.
            dialect = session.get_bind().dialect.name
            create = (postgres_insert if dialect == "postgresql" else sqlite_insert)(self.head)
            session.execute(
                create.values(id=1, last_sequence=0, last_hash=GENESIS).on_conflict_do_nothing()
            )
            advanced = self._bump(session)
        if advanced is None:
            raise RuntimeError("audit head row missing after creating it")
        return advanced

    def _bump(self, session: Session) -> tuple[int, str] | None:
        row = session.execute(self._bump_head).one_or_none()
        return None if row is None else (int(row[0]), str(row[1]))

    def verify(self, session: Session) -> ChainCheck:
        """Recompute every hash in order; report the first entry that does not hold."""
        previous = GENESIS
        count = 0
        expected_sequence = 1
        for row in session.execute(select(self.entries).order_by(self.entries.c.sequence)):
            count += 1
            entry = row._mapping
            if entry["sequence"] != expected_sequence:
                return ChainCheck(count, False, expected_sequence, "an entry is missing")
            fields = {
                "sequence": entry["sequence"],
                "recorded_at": entry["recorded_at"].astimezone(UTC).isoformat(),
                "actor": entry["actor"],
                "source": entry["source"],
                "office_id": entry["office_id"],
                "action": entry["action"],
                "entity": entry["entity"],
                "entity_id": entry["entity_id"],
                "details": entry["details"],
            }
            if entry["previous_hash"] != previous:
                return ChainCheck(count, False, entry["sequence"], "chain link broken")
            if entry_hash(previous, fields) != entry["hash"]:
                return ChainCheck(count, False, entry["sequence"], "content altered")
            previous = entry["hash"]
            expected_sequence += 1
        return ChainCheck(count, True, None, None)

    def list(
        self,
        session: Session,
        *,
        entity_id: str | None = None,
        office_id: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """The newest entries first, optionally of one entity, or of one office only."""
        query = select(self.entries).order_by(self.entries.c.sequence.desc()).limit(limit)
        if entity_id is not None:
            query = query.where(self.entries.c.entity_id == entity_id)
        if office_id is not None:
            query = query.where(self.entries.c.office_id == office_id)
        return [dict(row._mapping) for row in session.execute(query)]
