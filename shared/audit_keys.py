"""The audit trail's keys and hashes: the HMAC key an office keeps (and its earlier keys),
how an entry's hash chains to the one before, and the signed anchor kept outside the
database (`dinsos-admin audit anchor`) that finds what the database alone cannot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GENESIS = "0" * 64
# A stored row of audit_entry or audit_head, by column name.
Entry = Mapping[Any, Any]
KEYED = "hmac-sha256"
# The key development and tests chain with when none is set. It is published here, so
# production refuses it (and refuses to start without a key of its own).
DEVELOPMENT_AUDIT_KEY = "development-only-audit-key-never-in-production-7Hq2"


class AuditSettings(BaseSettings):
    """The key the audit chain is kept with (`DINSOS_AUDIT_*`)."""

    model_config = SettingsConfigDict(
        env_prefix="DINSOS_AUDIT_",
        extra="ignore",
        populate_by_name=True,
        # A refused key must not reach a log through the error that refuses it.
        hide_input_in_errors=True,
    )

    key: SecretStr | None = None
    # Keys used before a rotation, so entries chained with them still verify (JSON list).
    previous_keys: list[SecretStr] = Field(default_factory=list)
    environment: str = Field(default="development", validation_alias="DINSOS_ENVIRONMENT")

    @model_validator(mode="after")
    def _refuse_weak_or_missing_keys(self) -> Self:
        from shared.auth import SECRET_ADVICE  # noqa: PLC0415 - shared.auth imports this module

        named = [("DINSOS_AUDIT_KEY", self.key)]
        named += [("DINSOS_AUDIT_PREVIOUS_KEYS", key) for key in self.previous_keys]
        for name, value in named:
            if value is not None and (weakness := self._weakness(value.get_secret_value())):
                raise ValueError(f"{name} is refused: {weakness}. {SECRET_ADVICE}")
        if self.environment == "production" and self.key is None:
            raise ValueError(
                "DINSOS_AUDIT_KEY is required in production: without it anyone who can "
                f"write to the database can rewrite the audit trail. {SECRET_ADVICE}"
            )
        return self

    def _weakness(self, secret: str) -> str | None:
        if secret == DEVELOPMENT_AUDIT_KEY:
            production = self.environment == "production"
            return "it is the published development key" if production else None
        from shared.auth import secret_weakness  # noqa: PLC0415 - shared.auth imports this module

        return secret_weakness(secret)

    def keyring(self) -> AuditKeyring:
        """The current key and the previous ones, by key id."""
        current = AuditKey.derive(
            self.key.get_secret_value() if self.key is not None else DEVELOPMENT_AUDIT_KEY
        )
        older = [AuditKey.derive(key.get_secret_value()) for key in self.previous_keys]
        return AuditKeyring(current, {key.key_id: key for key in [*older, current]})


def _derive(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class AuditKey:
    """What one audit key gives: the chain's HMAC key and the anchors' Ed25519 key, each
    derived for its own purpose, and an id (from the public key) to name it by."""

    key_id: str
    chain_key: bytes = field(repr=False)
    signing_key: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def derive(cls, secret: str) -> AuditKey:
        """The keys `secret` stands for."""
        signing_key = Ed25519PrivateKey.from_private_bytes(
            _derive(secret, "dinsos-audit-anchor-v1")
        )
        public = public_key_bytes(signing_key.public_key())
        return cls(
            key_id=hashlib.sha256(public).hexdigest()[:16],
            chain_key=_derive(secret, "dinsos-audit-chain-v1"),
            signing_key=signing_key,
        )

    def public_key(self) -> str:
        """The anchors' public key, base64 of its 32 raw bytes: all an inspector needs."""
        return base64.b64encode(public_key_bytes(self.signing_key.public_key())).decode()


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class AuditKeyring:
    """The key new entries are chained with, and every key an entry may name."""

    current: AuditKey
    by_id: Mapping[str, AuditKey]


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(previous: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON: the unkeyed scheme
    of entries written before the chain was keyed."""
    return hashlib.sha256(previous.encode() + b"\n" + _canonical(fields)).hexdigest()


def keyed_entry_hash(key: AuditKey, previous: str, fields: dict[str, Any]) -> str:
    """HMAC-SHA256, under the chain key, over the previous hash and the entry's canonical
    JSON."""
    message = previous.encode() + b"\n" + _canonical(fields)
    return hmac.new(key.chain_key, message, hashlib.sha256).hexdigest()


def head_tag(key: AuditKey, sequence: int, last_hash: str) -> str:
    """The head's seal: HMAC-SHA256 under the chain key over its number and hash."""
    message = f"audit-head\n{sequence}\n{last_hash}".encode()
    return hmac.new(key.chain_key, message, hashlib.sha256).hexdigest()


def entry_fields(entry: Entry) -> dict[str, Any]:
    """The hashed content of a stored entry, as `record` hashed it."""
    return {
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


@dataclass(frozen=True)
class Anchor:
    """The head of one service's chain at one time: what an inspector keeps."""

    service: str
    entries: int
    head_hash: str
    at: datetime
    key_id: str

    def message(self) -> bytes:
        """The bytes the signature is over: this anchor's canonical JSON."""
        return _canonical(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """The anchor's fields, as signed."""
        return {
            "service": self.service,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "at": self.at.astimezone(UTC).isoformat(),
            "key_id": self.key_id,
        }


def sign_anchor(anchor: Anchor, key: AuditKey) -> dict[str, Any]:
    """The signed anchor document: the anchor, its Ed25519 signature (base64) over the
    anchor's canonical JSON (keys sorted, no spaces), and the public key to check it."""
    return {
        "anchor": anchor.as_dict(),
        "algorithm": "Ed25519",
        "signature": base64.b64encode(key.signing_key.sign(anchor.message())).decode(),
        "public_key": key.public_key(),
    }


class AnchorInvalid(ValueError):
    """A signed anchor that is malformed or whose signature does not hold."""


def read_signed_anchor(document: Entry, *, public_key: str) -> Anchor:
    """The anchor of a signed anchor document, once its signature holds under
    `public_key` (base64 raw Ed25519, the one the inspector trusts, not the one the
    document names)."""
    try:
        fields = document["anchor"]
        anchor = Anchor(
            service=str(fields["service"]),
            entries=int(fields["entries"]),
            head_hash=str(fields["head_hash"]),
            at=datetime.fromisoformat(str(fields["at"])),
            key_id=str(fields["key_id"]),
        )
        signature = base64.b64decode(str(document["signature"]), validate=True)
        verifier = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnchorInvalid(f"not a signed anchor: {exc}") from exc
    try:
        verifier.verify(signature, anchor.message())
    except InvalidSignature as exc:
        raise AnchorInvalid("the signature does not hold under this public key") from exc
    if anchor.as_dict() != fields:
        raise AnchorInvalid("the anchor holds fields that were not signed")
    return anchor
