"""Protection of recipients' personal data (NIK, KK and phone numbers): encrypted at rest
with Fernet, looked up by a keyed hash (HMAC-SHA256) so a second enrolment of the same
NIK is found without decrypting anything, and masked in every API answer unless the
caller may and does ask to see them. The vault itself is shared with intake
(`shared.privacy`); the key is distribution's own."""

from __future__ import annotations

from services.distribution.settings import DistributionSettings
from shared.privacy import PersonalDataVault
from shared.privacy import load_data_key as _load_data_key

__all__ = ["KEY_FILE", "PersonalDataVault", "load_data_key"]

KEY_FILE = "distribution-data.key"


def load_data_key(settings: DistributionSettings) -> bytes:
    """`DISTRIBUTION_DATA_KEY`; in development a key generated once into the data folder;
    in tests a fresh one per process. Production without a key is refused by the settings."""
    return _load_data_key(
        settings.data_key, settings.common, key_file=KEY_FILE, setting="DISTRIBUTION_DATA_KEY"
    )
