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
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
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


class PersonalDataVault:
    """Encrypts, decrypts and fingerprints personal numbers (NIK, KK, phone) with one
    secret Fernet key, so a copied database or backup does not give them away."""

    def __init__(self, key: bytes, *, lookup_context: bytes = b"distribution:nik-lookup") -> None:
        self._fernet = Fernet(key)
        # A separate key for the lookup hash, derived from the data key, so the hash
        # reveals nothing about the Fernet key and cannot be recomputed without it.
        self._hash_key = hmac.new(key, lookup_context, hashlib.sha256).digest()

    def encrypt(self, value: str) -> str:
        """The value as a Fernet token (text)."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The clear value of a token this key made."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            # Never include the token: a log line must not carry even the ciphertext.
            raise RuntimeError("personal data cannot be decrypted with this key") from exc

    def fingerprint(self, value: str) -> str:
        """A keyed hash for equality lookups (duplicate NIK), hex."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


def require_key_in_production(
    environment: str, key: SecretStr | None, *, setting: str, protects: str
) -> None:
    """Refuse to start in production without the data key (settings validators call it)."""
    if environment == "production" and key is None:
        raise ValueError(
            f"{setting} must be set in production: it encrypts {protects} (generate one "
            "with `dinsos-admin keys generate` or `python -c 'from cryptography.fernet "
            "import Fernet; print(Fernet.generate_key().decode())'`)"
        )


def load_data_key(
    configured: SecretStr | None, common: CommonSettings, *, key_file: str, setting: str
) -> bytes:
    """The configured key; in development a key generated once into the data folder; in
    tests a fresh one per process. Production without a key is refused by the settings."""
    if configured is not None:
        return configured.get_secret_value().encode()
    if common.environment == "test":
        return Fernet.generate_key()
    if common.environment == "production":  # pragma: no cover - settings refuse it
        raise RuntimeError(f"{setting} is required in production")
    path = Path(common.data_dir) / key_file
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # Created owner-only; losing this file makes the stored numbers unreadable.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key
