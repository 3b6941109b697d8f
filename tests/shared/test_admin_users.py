"""`dinsos-admin users add` and `users reset-password`, run as an office's IT person
would: the users file is replaced whole, keeps what was in it, and a refusal leaves it
untouched."""

from __future__ import annotations

import io
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shared.admin.__main__ import main
from shared.identity import load_users
from shared.passwords import hash_password, password_matches, scrypt_cost

EXISTING = (
    "# Kukar office users; edited by hand.\n"
    "[[user]]\n"
    'username = "sari"\n'
    'office_id = "kukar"\n'
    'roles = ["coordinator"]\n'
    f'password_scrypt = "{hash_password("pantau-24-jam-kukar", n=2**14)}"\n'
)
STRONG = "tenggarong banjir gudang 7"


def run(monkeypatch: pytest.MonkeyPatch, stdin: str, *argv: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(list(argv))


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    path.write_text(EXISTING)
    path.chmod(0o640)
    return path


def test_users_add_writes_a_user_at_owasp_cost_and_keeps_the_others(
    monkeypatch: pytest.MonkeyPatch, users_file: Path
) -> None:
    code = run(
        monkeypatch,
        STRONG + "\n",
        *("users", "add", "budi", "--office", "kukar", "--role", "warehouse"),
        *("--role", "field_team", "--name", "Budi Santoso", "--password-stdin"),
        *("--file", str(users_file)),
    )
    assert code == 0
    users = load_users(users_file)
    budi = users["budi"]
    assert (budi.principal.name, budi.principal.office_id) == ("Budi Santoso", "kukar")
    assert {role.value for role in budi.principal.roles} == {"warehouse", "field_team"}
    assert scrypt_cost(budi.password_hash) == (2**17, 8, 1)
    assert password_matches(STRONG, budi.password_hash)
    assert users_file.read_text().startswith(EXISTING)
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o640


def test_users_add_replaces_the_file_in_one_step(
    monkeypatch: pytest.MonkeyPatch, users_file: Path
) -> None:
    before = users_file.stat().st_ino
    argv = ("users", "add", "budi", "--office", "kukar", "--role", "warehouse")
    assert run(monkeypatch, STRONG, *argv, "--password-stdin", "--file", str(users_file)) == 0
    # a new file renamed over the old one: a reader never sees half of it
    assert users_file.stat().st_ino != before
    assert not [p for p in users_file.parent.iterdir() if p.name.startswith(".users.toml.")]


def test_users_add_makes_a_missing_file_readable_only_by_its_owner(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "config" / "users.toml"
    monkeypatch.setenv("DINSOS_AUTH_USERS_FILE", str(path))
    argv = ("users", "add", "budi", "--office", "kukar", "--role", "warehouse")
    assert run(monkeypatch, STRONG, *argv, "--password-stdin") == 0
    assert set(load_users(path)) == {"budi"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "case",
    [
        (("add", "sari", "--office", "kukar", "--role", "warehouse"), STRONG, "already exists"),
        (("add", "budi", "--office", "kukar", "--role", "warehouse"), "rahasia", "characters"),
        (("add", "budi", "--office", "kukar", "--role", "warehouse"), "password1234", "guess"),
        (("add", "budi", "--office", "kukar", "--role", "warehouse"), "budibudibudi", "guess"),
        (("add", "Budi Santoso", "--office", "kukar", "--role", "warehouse"), STRONG, "user name"),
        (("add", "budi", "--office", "Kukar!", "--role", "warehouse"), STRONG, "office id"),
        (("reset-password", "nobody"), STRONG, "no user 'nobody'"),
    ],
    ids=["duplicate", "short", "common", "guessable", "bad-name", "bad-office", "unknown-user"],
)
def test_a_refused_change_says_why_and_leaves_the_file_untouched(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    users_file: Path,
    case: tuple[tuple[str, ...], str, str],
) -> None:
    argv, stdin, reason = case
    code = run(monkeypatch, stdin, "users", *argv, "--password-stdin", "--file", str(users_file))
    assert code == 1
    assert reason in capsys.readouterr().err
    assert users_file.read_text() == EXISTING


def test_reset_password_changes_only_that_users_hash(
    monkeypatch: pytest.MonkeyPatch, users_file: Path
) -> None:
    argv = ("users", "add", "budi", "--office", "kukar", "--role", "warehouse")
    assert run(monkeypatch, STRONG, *argv, "--password-stdin", "--file", str(users_file)) == 0
    before = load_users(users_file)
    new_password = "sungai mahakam pasang 42"
    reset = ("users", "reset-password", "budi", "--password-stdin", "--file", str(users_file))
    assert run(monkeypatch, new_password, *reset) == 0
    after = load_users(users_file)
    assert password_matches(new_password, after["budi"].password_hash)
    assert not password_matches(STRONG, after["budi"].password_hash)
    assert after["sari"] == before["sari"]
    assert users_file.read_text().startswith(EXISTING)


def test_on_a_terminal_the_password_is_asked_twice_and_must_agree(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], users_file: Path
) -> None:
    answers = iter([STRONG, STRONG + "x"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))
    code = main(["users", "reset-password", "sari", "--file", str(users_file)])
    assert code == 1
    assert "differ" in capsys.readouterr().err
    assert users_file.read_text() == EXISTING


def test_without_a_users_file_the_command_says_where_to_name_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DINSOS_AUTH_USERS_FILE", raising=False)
    assert run(monkeypatch, STRONG, "users", "reset-password", "sari", "--password-stdin") == 1
    assert "DINSOS_AUTH_USERS_FILE" in capsys.readouterr().err


def test_the_users_commands_are_on_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shared.admin", "users", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "add" in result.stdout and "reset-password" in result.stdout
