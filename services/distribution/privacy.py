"""Protection of recipients' personal data (NIK, KK and phone numbers): encrypted at rest
with Fernet, looked up by a keyed hash (HMAC-SHA256) so a second enrolment of the same
NIK is found without decrypting anything, and masked in every API answer unless the
caller may and does ask to see them."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from services.distribution.settings import DistributionSettings

KEY_FILE = "distribution-data.key"


class PersonalDataVault:
    """Encrypts, decrypts and fingerprints personal numbers with one secret key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        # A separate key for the lookup hash, derived from the data key, so the hash
        # reveals nothing about the Fernet key and cannot be recomputed without it.
        self._hash_key = hmac.new(key, b"distribution:nik-lookup", hashlib.sha256).digest()

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


def load_data_key(settings: DistributionSettings) -> bytes:
    """The configured key; in development a key generated once into the data folder; in
    tests a fresh one per process. Production without a key is refused by the settings."""
    if settings.data_key is not None:
        return settings.data_key.get_secret_value().encode()
    if settings.common.environment == "test":
        return Fernet.generate_key()
    if settings.common.environment == "production":  # pragma: no cover - settings refuse it
        raise RuntimeError("DISTRIBUTION_DATA_KEY is required in production")
    path = Path(settings.common.data_dir) / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # Created owner-only; losing this file makes the stored numbers unreadable.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key
