"""Changes to the built-in identity provider's users file (TOML), made safely: under an
exclusive lock (four services and the admin command may write it), by atomic replace (a
reader sees the old file or the new one, never half of one), and by editing the text
rather than re-serialising it, so an administrator's comments and layout survive.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
OFFICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


class UsersFileError(Exception):
    """A change to the users file that was refused; the file is left as it was."""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the users file's lock (a sidecar `.lock` file: the file itself is replaced)."""
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, keeping its permissions (0600 when new)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def _entries(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        entries: list[dict[str, Any]] = tomllib.loads(text).get("user", [])
    except tomllib.TOMLDecodeError as exc:
        raise UsersFileError(f"{path} is not valid TOML: {exc}") from exc
    return entries


def _entry_of(entries: list[dict[str, Any]], username: str) -> dict[str, Any] | None:
    return next((entry for entry in entries if entry.get("username") == username), None)


def _replace_hash(path: Path, text: str, username: str, old: str, new: str) -> str:
    # A salted hash is unique in the file, so swapping its text touches nothing else.
    if text.count(old) != 1:
        raise UsersFileError(f"{path}: the password hash of {username!r} is not unique")
    changed = text.replace(old, new)
    entry = _entry_of(_entries(changed, path), username)
    if entry is None or entry.get("password_scrypt") != new:
        raise UsersFileError(f"{path}: the new hash of {username!r} did not read back")
    return changed


def replace_password_hash(path: Path, username: str, *, old: str, new: str) -> bool:
    """Swap `username`'s hash `old` for `new` (a rehash at sign-in); False, changing
    nothing, when the stored hash is no longer `old` (someone changed it meanwhile)."""
    with locked(path):
        text = path.read_text(encoding="utf-8")
        entry = _entry_of(_entries(text, path), username)
        if entry is None or entry.get("password_scrypt") != old:
            return False
        write_atomically(path, _replace_hash(path, text, username, old, new))
    return True


def set_password_hash(path: Path, username: str, new: str) -> None:
    """Give an existing user a new password hash (`dinsos-admin users reset-password`)."""
    with locked(path):
        text = path.read_text(encoding="utf-8")
        entry = _entry_of(_entries(text, path), username)
        if entry is None:
            raise UsersFileError(f"no user {username!r} in {path}")
        old = entry.get("password_scrypt")
        if not isinstance(old, str) or not old:
            raise UsersFileError(f"{path}: user {username!r} has no password_scrypt to replace")
        write_atomically(path, _replace_hash(path, text, username, old, new))


def _toml_string(value: str) -> str:
    # A JSON string (quotes, backslashes and control characters escaped) is a TOML basic
    # string.
    return json.dumps(value, ensure_ascii=False)


def add_user(
    path: Path,
    *,
    username: str,
    name: str,
    office_id: str,
    roles: Sequence[str],
    password_hash: str,
) -> None:
    """Append a `[[user]]` entry (the file is made, 0600, when there is none yet)."""
    check_new_user(username=username, office_id=office_id, roles=roles)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if _entry_of(_entries(text, path), username) is not None:
            raise UsersFileError(f"user {username!r} already exists in {path}")
        block = (
            "[[user]]\n"
            f"username = {_toml_string(username)}\n"
            f"name = {_toml_string(name)}\n"
            f"office_id = {_toml_string(office_id)}\n"
            f"roles = [{', '.join(_toml_string(role) for role in roles)}]\n"
            f"password_scrypt = {_toml_string(password_hash)}\n"
        )
        separator = (
            "" if not text or text.endswith("\n\n") else "\n" if text.endswith("\n") else "\n\n"
        )
        changed = text + separator + block
        if _entry_of(_entries(changed, path), username) is None:
            raise UsersFileError(f"{path}: the new user {username!r} did not read back")
        write_atomically(path, changed)


def check_new_user(*, username: str, office_id: str, roles: Sequence[str]) -> None:
    """Refuse a user name, office id or role list the services could not use."""
    if not USERNAME.match(username):
        raise UsersFileError(
            f"user name {username!r} must be 2-64 of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if not OFFICE_ID.match(office_id):
        raise UsersFileError(f"office id {office_id!r} must be 2-40 of a-z, 0-9 or '-'")
    if not roles:
        raise UsersFileError("a user needs at least one role")
