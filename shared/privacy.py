"""Personal data (UU PDP 27/2022) kept out of logs and encrypted at rest: NIK and KK
numbers (16 digits) and phone numbers are masked in every log line a service writes,
whatever code wrote it, and stored as Fernet tokens by the services that keep them
(distribution's recipients, intake's reporters), under a key of each service's own.

Masks keep enough to tell records apart for a person reading the log (`64020655******03`,
`0812******89`), never enough to identify someone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from shared.settings import CommonSettings

# 16 digits not inside a longer run of digits: a NIK or a family-card (KK) number.
_SIXTEEN_DIGITS = re.compile(r"(?<!\d)(\d{8})(\d{6})(\d{2})(?!\d)")
# Indonesian mobile numbers: 08xx or +628xx / 628xx, 9-13 digits in all.
_PHONE = re.compile(r"(?<![\d+])((?:\+?62|0)8\d{2})(\d{4,8})(\d{2})(?!\d)")


def mask_personal_numbers(text: str) -> str:
    """`text` with every NIK/KK-like number and phone number masked."""
    text = _SIXTEEN_DIGITS.sub(lambda m: f"{m[1]}{'*' * 6}{m[3]}", text)
    return _PHONE.sub(lambda m: f"{m[1]}{'*' * len(m[2])}{m[3]}", text)


def mask_number(value: str, *, keep_start: int = 8, keep_end: int = 2) -> str:
    """'6402065501900003' → '64020655******03'; short values are hidden entirely."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end :]


def mask_phone(value: str) -> str:
    """'081234567890' → '0812******90'."""
    return mask_number(value, keep_start=4, keep_end=2)


def mask_nik(nik: str) -> str:
    """A NIK for display to someone who may not see it whole."""
    return mask_personal_numbers(nik) if len(nik) == 16 else "*" * len(nik)


class PersonalDataFilter(logging.Filter):
    """Masks personal numbers in the final message of every record it sees, and in the
    traceback it carries (an exception's message may quote a value)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_numbers(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_numbers(record.exc_text)
        return True


# Libraries that may log a request's address or a statement: uvicorn's error and access
# logs, SQLAlchemy's engine and pool (engines also hide statement parameters:
# shared.db.create_db_engine). Their records reach the root handlers unless a library
# configured handlers of its own, which get the filter too.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy")


def install_log_masking() -> None:
    """Attach the filter to every handler of the root logger and of `LIBRARY_LOGGERS`
    (call after configuring logging)."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in LIBRARY_LOGGERS)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                handler.addFilter(PersonalDataFilter())


# A Fernet key: 32 bytes in url-safe base64, 43 characters and one "=" of padding.
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=")


class DataKeyError(ValueError):
    """A data key setting that is not a list of Fernet keys."""


class UndecryptableValue(RuntimeError):
    """A stored token none of the configured keys opens (a key missing from the list,
    or a damaged value)."""


def parse_data_keys(value: str, *, setting: str) -> list[bytes]:
    """The keys of a data key setting, newest first: one Fernet key, or several separated
    by commas while a rotation is under way (`NEW,OLD`). Refuses an empty entry, a value
    that is not a Fernet key (saying which entry, never its value) and a repeated key."""
    entries = [entry.strip() for entry in value.split(",")]
    keys: list[bytes] = []
    for position, entry in enumerate(entries, start=1):
        where = f"{setting} entry {position} of {len(entries)}"
        if not entry:
            raise DataKeyError(
                f"{where} is empty: list the keys newest first, separated by single commas"
            )
        # Fernet's own check decodes leniently (base64 skips stray characters, so
        # "KEY1;KEY2" passes as KEY1): the exact form first.
        if not _FERNET_KEY.fullmatch(entry):
            raise DataKeyError(
                f"{where} is not a Fernet key (44 characters of url-safe base64 of 32 "
                "bytes, as `dinsos-admin keys generate` prints)"
            )
        if entry.encode() in keys:
            raise DataKeyError(f"{where} repeats an earlier key")
        keys.append(entry.encode())
    return keys


def _never_clear(_stored: str) -> bool:
    return False


@dataclass(frozen=True)
class SealedColumns:
    """Columns of one table that hold Fernet tokens under a service's data key: what
    `dinsos-admin data rewrap` re-encrypts. `fingerprints` maps a lookup-hash column to
    the token column whose clear value it hashes (recomputed with the token);
    `is_clear` recognises a value an older version stored in clear (encrypted then)."""

    table: str
    columns: tuple[str, ...]
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    is_clear: Callable[[str], bool] = _never_clear
    key_column: str = "id"


class PersonalDataVault:
    """Encrypts, decrypts and fingerprints personal numbers (NIK, KK, phone) with secret
    Fernet keys, so a copied database or backup does not give them away.

    Keys are newest first: the first encrypts, any of them decrypts (MultiFernet), so
    records written before a rotation stay readable until `dinsos-admin data rewrap`
    re-encrypts them under the newest key and the old one can be dropped."""

    def __init__(
        self, keys: Sequence[bytes] | bytes, *, lookup_context: bytes = b"distribution:nik-lookup"
    ) -> None:
        self._keys = [keys] if isinstance(keys, bytes) else list(keys)
        if not self._keys:
            raise ValueError("a vault needs at least one key")
        self._newest = Fernet(self._keys[0])
        self._fernet = MultiFernet([Fernet(key) for key in self._keys])
        # A separate key for the lookup hash, derived from each data key, so the hash
        # reveals nothing about the Fernet key and cannot be recomputed without it. A
        # rotation rotates it too: lookups try every key's (`fingerprints`), and rewrap
        # recomputes the stored hashes under the newest.
        self._hash_keys = [
            hmac.new(key, lookup_context, hashlib.sha256).digest() for key in self._keys
        ]

    @property
    def key_count(self) -> int:
        """How many keys the vault holds (the newest and those still being read)."""
        return len(self._keys)

    def encrypt(self, value: str) -> str:
        """The value as a Fernet token (text) under the newest key."""
        return self._newest.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The clear value of a token any of the keys made."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            # Never include the token: a log line must not carry even the ciphertext.
            raise UndecryptableValue(
                f"personal data cannot be decrypted with any of the {len(self._keys)} "
                "configured keys"
            ) from exc

    def is_current(self, token: str) -> bool:
        """Whether the token is already under the newest key (rewrap leaves it alone)."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def fingerprint(self, value: str) -> str:
        """A keyed hash for equality lookups (duplicate NIK) under the newest key, hex:
        what is stored."""
        return self.fingerprints(value)[0]

    def fingerprints(self, value: str) -> list[str]:
        """The value's keyed hash under each key, newest first: what a lookup compares
        with while records stored before a rotation have not been rewrapped yet."""
        return [
            hmac.new(key, value.encode(), hashlib.sha256).hexdigest() for key in self._hash_keys
        ]


def check_data_keys(
    environment: str, keys: SecretStr | None, *, setting: str, protects: str
) -> None:
    """Refuse to start with a malformed key list, or in production without one (settings
    validators call it)."""
    if keys is not None:
        parse_data_keys(keys.get_secret_value(), setting=setting)
    elif environment == "production":
        raise ValueError(
            f"{setting} must be set in production: it encrypts {protects} (generate one "
            "with `dinsos-admin keys generate` or `python -c 'from cryptography.fernet "
            "import Fernet; print(Fernet.generate_key().decode())'`)"
        )


def load_data_keys(
    configured: SecretStr | None, common: CommonSettings, *, key_file: str, setting: str
) -> list[bytes]:
    """The configured keys, newest first; in development a key generated once into the
    data folder; in tests a fresh one per process. Production without a key is refused
    by the settings."""
    if configured is not None:
        return parse_data_keys(configured.get_secret_value(), setting=setting)
    if common.environment == "test":
        return [Fernet.generate_key()]
    if common.environment == "production":  # pragma: no cover - settings refuse it
        raise RuntimeError(f"{setting} is required in production")
    path = Path(common.data_dir) / key_file
    if path.exists():
        return parse_data_keys(path.read_text().strip(), setting=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # Created owner-only; losing this file makes the stored numbers unreadable.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return [key]
