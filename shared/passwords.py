"""Password hashes of the built-in identity provider: scrypt at OWASP's current cost,
the check that costs the same whether or not the user exists, and when to rehash.

A stored hash reads `scrypt$n$r$p$salt$hash` (salt and hash in base64).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from functools import cache

# OWASP Password Storage Cheat Sheet (2024): scrypt with N=2^17, r=8, p=1 (128 MiB, about
# a quarter of a second per check on a server core).
OWASP_SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_DIGEST_BYTES = 32
MIN_PASSWORD_LENGTH = 10
# zxcvbn's score 3 ("safely unguessable: moderate protection from offline attacks").
MIN_PASSWORD_GUESSES_LOG10 = 8.0


# Each check holds 128 MiB: a burst of sign-ins (or an attack) on the server's 40 worker
# threads would need 5 GiB. Checks beyond this many wait their turn instead.
SCRYPT_AT_ONCE = 2
_scrypt_slots = threading.BoundedSemaphore(SCRYPT_AT_ONCE)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL needs about 128 * r * n bytes; hashlib's default ceiling (32 MiB) is below
    # what N=2^17 takes, so allow twice the need.
    with _scrypt_slots:
        return hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, dklen=_DIGEST_BYTES, maxmem=256 * r * n
        )


def hash_password(password: str, *, n: int = OWASP_SCRYPT_N, salt: bytes | None = None) -> str:
    """scrypt, as stored in the users file: scrypt$n$r$p$salt$hash (base64)."""
    salt = salt or secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)
    encode = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def scrypt_cost(stored: str) -> tuple[int, int, int] | None:
    """(n, r, p) of a stored hash; None when it is not a well-formed scrypt hash."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return None
    return (n, r, p) if n > 1 and r > 0 and p > 0 else None


def password_matches(password: str, stored: str) -> bool:
    """Constant-time check of `password` against a stored scrypt hash."""
    cost = scrypt_cost(stored)
    if cost is None:
        return False
    _scheme, _n, _r, _p, salt, digest = stored.split("$")
    try:
        candidate = _scrypt(password, base64.b64decode(salt), *cost)
        expected = base64.b64decode(digest)
    except (ValueError, binascii.Error):  # a malformed salt, or n not a power of two
        return False
    return hmac.compare_digest(candidate, expected)


def needs_rehash(stored: str, n: int) -> bool:
    """Whether a hash that just matched was made at a lower cost than `n` (and r=8, p=1)."""
    cost = scrypt_cost(stored)
    return cost is None or cost[0] < n or cost[1] < SCRYPT_R


@cache
def _dummy_hash(n: int) -> str:
    return hash_password(secrets.token_urlsafe(16), n=n)


def check_password(password: str, stored: str | None, *, n: int) -> bool:
    """Whether `password` matches `stored`; for an unknown user (None) the same scrypt work
    is done against a dummy hash of cost `n`, so the answer's timing does not tell an
    attacker which user names exist."""
    if stored is None:
        password_matches(password, _dummy_hash(n))
        return False
    return password_matches(password, stored)


def password_weakness(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why `password` should not be set for a user (None: it may)."""
    from zxcvbn import zxcvbn  # noqa: PLC0415 - its dictionaries load on first use only

    if len(password) < MIN_PASSWORD_LENGTH:
        return f"it has {len(password)} characters, {MIN_PASSWORD_LENGTH} or more are needed"
    if len(password) > 200:
        return "it is longer than the 200 characters the sign-in form takes"
    guesses_log10 = float(zxcvbn(password[:100], user_inputs=list(user_inputs))["guesses_log10"])
    if guesses_log10 < MIN_PASSWORD_GUESSES_LOG10:
        return "it is too easy to guess (a common word, name, date or pattern)"
    return None
