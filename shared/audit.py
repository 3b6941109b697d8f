"""A tamper-evident audit trail in each service's own database.

Every state change is recorded in the transaction that makes it: who (the signed-in
user, or the service itself when an event caused it), when, what (action, entity and
id, details), and from which request or event.

Each entry carries an HMAC-SHA256 of its content and of the previous entry's hash, keyed
with `DINSOS_AUDIT_KEY`, which the database does not hold: someone who can write to the
database but does not have the key cannot recompute the chain after altering, deleting,
inserting or reordering an entry. The head row holds the last entry's number and hash
under the same key, so removing entries from the end is found too. Entries written
before the chain was keyed (plain SHA-256, `scheme` NULL) still verify; an unkeyed entry
after a keyed one does not.

What the database alone cannot show is a head put back to an older state together with
the entries after it removed. For that, `anchor` gives the head's number and hash and the
time, signed with an Ed25519 key derived from the audit key: an inspector keeps anchors
outside the system (`GET /audit/anchor`, `dinsos-admin audit anchor`) and later checks the
chain still holds each of them (`dinsos-admin audit verify --anchor FILE`), with only the
public key.

Appends are serialised through the head row (its row lock on PostgreSQL; SQLite
transactions here already take the write lock up front), so the chain never forks.
"""

from __future__ import annotations

import hmac
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

from shared.audit_keys import (
    GENESIS,
    KEYED,
    Anchor,
    AuditKeyring,
    AuditSettings,
    Entry,
    entry_fields,
    entry_hash,
    head_tag,
    keyed_entry_hash,
    sign_anchor,
)
from shared.columns import UTCDateTime


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
    # Entries from before the chain was keyed (plain SHA-256): they hold only through the
    # keyed entries and the head after them.
    unkeyed_entries: int = 0
    head_sequence: int = 0
    head_hash: str = GENESIS

    def as_dict(self) -> dict[str, Any]:
        """The check as the API and the command line show it."""
        return {
            "entries": self.entries,
            "intact": self.intact,
            "first_broken_sequence": self.first_broken_sequence,
            "problem": self.problem,
            "unkeyed_entries": self.unkeyed_entries,
            "head_sequence": self.head_sequence,
            "head_hash": self.head_hash,
        }


class AuditTrail:
    """The `audit_entry` and `audit_head` tables of one service's database."""

    def __init__(self, metadata: MetaData, keys: AuditKeyring | None = None) -> None:
        self.keys = keys or AuditSettings().keyring()
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
            # NULL: plain SHA-256 (entries from before the chain was keyed).
            Column("scheme", String(20), nullable=True),
            Column("key_id", String(16), nullable=True),
        )
        self.head = Table(
            "audit_head",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("last_sequence", BigInteger, nullable=False),
            Column("last_hash", String(64), nullable=False),
            # head_tag() of (last_sequence, last_hash) under key `key_id`; NULL until the
            # first keyed entry or start-up seals a chain from before keying.
            Column("tag", String(64), nullable=True),
            Column("key_id", String(16), nullable=True),
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
        key = self.keys.current
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
        digest = keyed_entry_hash(key, previous, fields)
        session.execute(
            self._insert_entry,
            {
                **fields,
                "recorded_at": at,
                "previous_hash": previous,
                "hash": digest,
                "scheme": KEYED,
                "key_id": key.key_id,
            },
        )
        session.execute(
            self._set_last_hash,
            {"last_hash": digest, "tag": head_tag(key, sequence, digest), "key_id": key.key_id},
        )
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

    def _read_head(self, session: Session) -> Entry | None:
        row = session.execute(select(self.head).where(self.head.c.id == 1)).one_or_none()
        return None if row is None else row._mapping

    def seal(self, session: Session) -> bool:
        """Seal a head that has no valid seal under a known key (a chain from before
        keying), or re-seal one under a previous key with the current key; only when the
        chain verifies up to it, so a broken chain stays reported as broken. True when it
        sealed."""
        head = self._read_head(session)
        if head is None:
            return False
        if head["key_id"] == self.keys.current.key_id and self._head_holds(head):
            return False
        check = self.verify(session, require_seal=False)
        if not check.intact or head["last_sequence"] != check.entries:
            return False
        key = self.keys.current
        # Only the head that was checked: another process may have appended meanwhile
        # (and sealed it itself).
        sealed = session.execute(
            update(self.head)
            .where(
                self.head.c.id == 1,
                self.head.c.last_sequence == head["last_sequence"],
                self.head.c.last_hash == head["last_hash"],
            )
            .values(tag=head_tag(key, head["last_sequence"], head["last_hash"]), key_id=key.key_id)
            .returning(self.head.c.id)
        ).first()
        return sealed is not None

    def _head_holds(self, head: Entry) -> bool:
        key = self.keys.by_id.get(head["key_id"] or "")
        return (
            key is not None
            and head["tag"] is not None
            and hmac.compare_digest(
                head["tag"], head_tag(key, head["last_sequence"], head["last_hash"])
            )
        )

    def verify(self, session: Session, *, require_seal: bool = True) -> ChainCheck:
        """Recompute every hash in order and compare the end with the sealed head; report
        the first entry that does not hold."""
        # The head first: entries appended while this runs only lengthen the chain past
        # it, and they must chain as well.
        head = self._read_head(session)
        head_sequence = 0 if head is None else int(head["last_sequence"])
        walk = _ChainWalk(self.keys, head_sequence=head_sequence)
        for row in session.execute(select(self.entries).order_by(self.entries.c.sequence)):
            if not walk.step(row._mapping):
                break
        head_holds = head is None or not require_seal or self._head_holds(head)
        return walk.finish(head, head_holds=head_holds)

    def anchor(self, session: Session, *, service: str, at: datetime) -> dict[str, Any]:
        """A signed anchor of the chain's head as it stands, when the chain verifies
        (ChainBroken otherwise: a broken chain's head must not look vouched for)."""
        check = self.verify(session)
        if not check.intact:
            raise ChainBroken(check)
        anchor = Anchor(
            service=service,
            entries=check.head_sequence,
            head_hash=check.head_hash,
            at=at,
            key_id=self.keys.current.key_id,
        )
        return sign_anchor(anchor, self.keys.current)

    def check_anchor(self, session: Session, anchor: Anchor) -> str | None:
        """Why the chain as it stands does not hold `anchor` (None: it does, i.e. the
        chain verifies and its entry number `anchor.entries` has the anchored hash)."""
        check = self.verify(session)
        if not check.intact:
            return f"the chain is broken at entry {check.first_broken_sequence}: {check.problem}"
        if anchor.entries == 0:
            return None
        if check.entries < anchor.entries:
            return (
                f"the anchor counts {anchor.entries} entries but the chain has only "
                f"{check.entries}: entries were removed"
            )
        stored = session.execute(
            select(self.entries.c.hash).where(self.entries.c.sequence == anchor.entries)
        ).scalar_one_or_none()
        if stored != anchor.head_hash:
            return f"entry {anchor.entries} is not the one anchored: the chain was rewritten"
        return None

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


class ChainBroken(Exception):
    """The chain does not verify, so no anchor is signed for it."""

    def __init__(self, check: ChainCheck) -> None:
        super().__init__(check.problem)
        self.check = check


class _ChainWalk:
    """Entries checked one by one in sequence order, then the end against the head."""

    def __init__(self, keys: AuditKeyring, *, head_sequence: int) -> None:
        self.keys = keys
        self.head_sequence = head_sequence
        self.hash_at_head = GENESIS
        self.previous = GENESIS
        self.count = 0
        self.unkeyed = 0
        self.keyed_seen = False
        self.broken: tuple[int, str] | None = None

    def step(self, entry: Entry) -> bool:
        """Check the next entry; False once the chain is broken."""
        sequence = int(entry["sequence"])
        expected = self.count + 1
        self.count += 1
        problem = self._problem(entry, expected)
        if problem is not None:
            self.broken = (expected if problem == "an entry is missing" else sequence, problem)
            return False
        self.previous = entry["hash"]
        if sequence == self.head_sequence:
            self.hash_at_head = self.previous
        return True

    def _problem(self, entry: Entry, expected: int) -> str | None:
        if entry["sequence"] != expected:
            return "an entry is missing"
        if entry["previous_hash"] != self.previous:
            return "chain link broken"
        digest, refused = self._expected_hash(entry)
        if refused is not None:
            return refused
        return None if hmac.compare_digest(digest, entry["hash"]) else "content altered"

    def _expected_hash(self, entry: Entry) -> tuple[str, str | None]:
        """The hash the entry must have under its scheme, or why it cannot have one."""
        fields = entry_fields(entry)
        if entry["scheme"] is None:
            if self.keyed_seen:
                return "", "an unkeyed entry after keyed ones"
            self.unkeyed += 1
            return entry_hash(self.previous, fields), None
        if entry["scheme"] != KEYED:
            return "", f"unknown scheme {entry['scheme']!r}"
        self.keyed_seen = True
        key = self.keys.by_id.get(entry["key_id"] or "")
        if key is None:
            return "", "chained with a key this deployment does not hold"
        return keyed_entry_hash(key, self.previous, fields), None

    def finish(self, head: Entry | None, *, head_holds: bool) -> ChainCheck:
        """The verdict, with the end of the chain compared against the head."""
        head_sequence = 0 if head is None else int(head["last_sequence"])
        head_hash = GENESIS if head is None else str(head["last_hash"])

        def result(first: int | None, problem: str | None) -> ChainCheck:
            return ChainCheck(
                entries=self.count,
                intact=problem is None,
                first_broken_sequence=first,
                problem=problem,
                unkeyed_entries=self.unkeyed,
                head_sequence=head_sequence,
                head_hash=head_hash,
            )

        if self.broken is not None:
            return result(*self.broken)
        if head is None:
            return result(1, "the head is missing") if self.count else result(None, None)
        if not head_holds:
            return result(head_sequence, "the head's seal does not hold")
        if self.count < head_sequence:
            return result(self.count + 1, "entries are missing at the end")
        # Entries past the head are appends made while this ran; they chained above.
        if self.hash_at_head != head_hash:
            return result(head_sequence, "the head does not match its entry")
        return result(None, None)
