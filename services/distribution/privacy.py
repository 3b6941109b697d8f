"""Protection of recipients' personal data (NIK, KK and phone numbers): encrypted at rest
with Fernet, looked up by a keyed hash (HMAC-SHA256) so a second enrolment of the same
NIK is found without decrypting anything, and masked in every API answer unless the
caller may and does ask to see them. The vault itself is shared with intake
(`shared.privacy`); the key is distribution's own."""

from __future__ import annotations

from services.distribution.settings import DistributionSettings
from shared.privacy import PersonalDataVault, SealedColumns
from shared.privacy import load_data_keys as _load_data_keys

__all__ = ["KEY_FILE", "SEALED", "PersonalDataVault", "load_data_keys", "recipient_vault"]

KEY_FILE = "distribution-data.key"
KEY_SETTING = "DISTRIBUTION_DATA_KEY"
LOOKUP_CONTEXT = b"distribution:nik-lookup"

# What `dinsos-admin data rewrap --service distribution` re-encrypts under the newest key.
# The NIK's lookup hash derives from the data key too, so it is recomputed with it.
SEALED = (
    SealedColumns(
        table="recipient",
        columns=("nik_token", "kk_token", "phone_token", "social_register_id_token"),
        fingerprints={"nik_hash": "nik_token"},
    ),
)


def load_data_keys(settings: DistributionSettings) -> list[bytes]:
    """`DISTRIBUTION_DATA_KEY`, newest key first; in development a key generated once into
    the data folder; in tests a fresh one per process. Production without a key is
    refused by the settings."""
    return _load_data_keys(
        settings.data_key, settings.common, key_file=KEY_FILE, setting=KEY_SETTING
    )


def recipient_vault(settings: DistributionSettings) -> PersonalDataVault:
    """The vault for recipients' NIK, KK and phone numbers and the NIK's lookup hash."""
    return PersonalDataVault(load_data_keys(settings), lookup_context=LOOKUP_CONTEXT)
