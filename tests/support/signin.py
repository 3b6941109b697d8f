"""Users of the built-in identity provider for tests: a users file hashed at a cost the
suite can afford (2^14; only the test environment accepts less than OWASP's 2^17)."""

from __future__ import annotations

from pathlib import Path

from shared.auth import AuthSettings
from shared.passwords import hash_password

SECRET = "Zq7vN2kXw9pL4tRb8sYc3mHf6jDg1uEa5oWi0e-Tx_K"
CHEAP_N = 2**14
PASSWORD = "gudang-aman-2026"


def write_users(path: Path, *users: str, n: int = CHEAP_N, preamble: str = "") -> Path:
    """A users file of warehouse users of kukar, each with password PASSWORD."""
    blocks = [
        "[[user]]\n"
        f'username = "{user}"\nname = "{user.title()}"\noffice_id = "kukar"\n'
        'roles = ["warehouse"]\n'
        f'password_scrypt = "{hash_password(PASSWORD, n=n)}"\n'
        for user in users
    ]
    path.write_text(preamble + "\n".join(blocks))
    return path


def settings_for(users: Path, **overrides: object) -> AuthSettings:
    """Sign-in required, users from `users`, hashes at the test suite's cost."""
    values: dict[str, object] = {
        "required": True,
        "secret": SECRET,
        "users_file": users,
        "environment": "test",
        "scrypt_n": CHEAP_N,
    }
    return AuthSettings(**(values | overrides))  # type: ignore[arg-type]  # the fields above
