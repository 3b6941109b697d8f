"""`dinsos-admin keys generate` and `settings check`, run as an office's IT person would."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from shared.admin.__main__ import main
from shared.auth import secret_weakness


def generated_keys(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["keys", "generate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_generated_keys_are_fresh_and_pass_every_services_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = generated_keys(capsys), generated_keys(capsys)
    assert set(first) == {
        "DINSOS_AUTH_SECRET",
        "DINSOS_AUDIT_KEY",
        "INTAKE_NIK_HASH_KEY",
        "INTAKE_DATA_KEY",
        "DISTRIBUTION_DATA_KEY",
        "POSTGRES_PASSWORD",
        "INTAKE_DB_PASSWORD",
        "LOGISTICS_DB_PASSWORD",
        "DISTRIBUTION_DB_PASSWORD",
        "NOTIFY_DB_PASSWORD",
    }
    assert all(first[name] != second[name] for name in first)
    assert secret_weakness(first["DINSOS_AUTH_SECRET"]) is None
    Fernet(first["DISTRIBUTION_DATA_KEY"].encode())
    Fernet(first["INTAKE_DATA_KEY"].encode())


def test_settings_check_names_each_refused_service_and_hides_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    weak = "dinsosdinsosdinsosdinsosdinsos-kukar"
    monkeypatch.setenv("DINSOS_ENVIRONMENT", "production")
    monkeypatch.setenv("DINSOS_AUTH_REQUIRED", "true")
    monkeypatch.setenv("DINSOS_AUTH_SECRET", weak)
    assert main(["settings", "check"]) == 1
    out = capsys.readouterr().out
    for service in ("intake", "logistics", "distribution", "notify"):
        assert f"{service}: refused" in out
    assert "guessable" in out
    assert weak[:8] not in out


def test_settings_check_passes_a_production_environment_with_generated_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in generated_keys(capsys).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DINSOS_ENVIRONMENT", "production")
    monkeypatch.setenv("DINSOS_AUTH_REQUIRED", "true")
    code = main(["settings", "check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count(": ok") == 4


def test_the_command_line_answers_an_unknown_command_with_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shared.admin", "nonsense"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
