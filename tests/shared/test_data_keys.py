"""Rotating a data key: records written under the old key stay readable while the setting
lists both (newest first), `dinsos-admin data rewrap` re-encrypts them under the newest
so the old key can go, a second rewrap finds nothing to do, a value no key opens is named
and left alone, the NIK lookup keeps finding recipients through the whole rotation, and a
malformed key list is refused before start. Real services' apps and databases (SQLite
and PostgreSQL), the command line as an office's IT person runs it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, text

from services.distribution.app import create_app as create_distribution
from services.distribution.privacy import LOOKUP_CONTEXT as NIK_LOOKUP
from services.distribution.settings import DistributionSettings
from services.intake.app import create_app as create_intake
from services.intake.privacy import LOOKUP_CONTEXT as PHONE_LOOKUP
from services.intake.privacy import SEALED as SEALED_PHONES
from services.intake.settings import IntakeSettings
from shared.admin.__main__ import main
from shared.admin.data import rewrap as rewrap_stored
from shared.auth import AuthSettings
from shared.db import create_db_engine
from shared.privacy import PersonalDataVault
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.distribution.programs_support import person
from tests.intake.test_privacy import MASKED, PHONE, reported_twice_and_followed_up, stored_phones
from tests.support.apps import runtime_of

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))


@contextmanager
def _api(
    create: Callable[[Any], FastAPI],
    settings_class: type[Any],
    database_url: str,
    tmp_path: Path,
    keys: str,
) -> Iterator[TestClient]:
    settings = settings_class(
        database_url=database_url,
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=AuthSettings(required=False),
        data_key=keys,
    )
    app = create(settings)
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    try:
        yield TestClient(app)
    finally:
        runtime.engine.dispose()


def intake(database_url: str, tmp_path: Path, keys: str) -> ContextManager[TestClient]:
    """intake's API on `database_url` with INTAKE_DATA_KEY=`keys` (no broker: events
    wait in the outbox)."""
    return _api(create_intake, IntakeSettings, database_url, tmp_path, keys)


def distribution(database_url: str, tmp_path: Path, keys: str) -> ContextManager[TestClient]:
    """distribution's API on `database_url` with DISTRIBUTION_DATA_KEY=`keys`."""
    return _api(create_distribution, DistributionSettings, database_url, tmp_path, keys)


def all_phones(client: TestClient) -> list[str]:
    return sorted(value for values in stored_phones(client).values() for value in values)


def rewrap(
    service: str,
    database_url: str,
    keys: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *options: str,
) -> tuple[int, str, str]:
    """`dinsos-admin data rewrap` with the service's key setting `keys`."""
    monkeypatch.setenv(f"{service.upper()}_DATA_KEY", keys)
    code = main(["data", "rewrap", "--service", service, "--database-url", database_url, *options])
    out, err = capsys.readouterr()
    return code, out, err


def test_records_written_under_the_old_key_are_read_once_the_setting_lists_new_then_old(
    database_url: str, tmp_path: Path
) -> None:
    with intake(database_url, tmp_path, OLD) as before:
        incident = reported_twice_and_followed_up(before)
    with intake(database_url, tmp_path, f"{NEW},{OLD}") as during:
        assert during.get(f"/incidents/{incident}").json()["reporter"]["phone"] == MASKED
        follow_up = {"reporter": {"name": "Tim", "role": "tagana", "phone": PHONE}, "note": "surut"}
        later = during.post(f"/incidents/{incident}/updates", json=follow_up)
        assert later.status_code == 201, later.text
        stored = all_phones(during)
    newest_only = PersonalDataVault(NEW.encode())
    # The new follow-up went under the newest key; the four older values did not.
    assert sum(newest_only.is_current(value) for value in stored) == 1
    assert len(stored) == 5


def test_after_rewrap_the_newest_key_alone_reads_everything(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with intake(database_url, tmp_path, OLD) as before:
        incident = reported_twice_and_followed_up(before)
    # One row per transaction: the batches walk each table to its end.
    code, out, err = rewrap(
        "intake", database_url, f"{NEW},{OLD}", monkeypatch, capsys, "--batch-size", "1"
    )
    assert (code, err) == (0, "")
    assert "intake: rewrapped 4 values in 4 rows under the newest of 2 keys" in out
    with intake(database_url, tmp_path, NEW) as after:
        assert after.get(f"/incidents/{incident}").json()["reporter"]["phone"] == MASKED
        linked = after.get(f"/incidents/{incident}/reports").json()
        assert [r["reporter"]["phone"] for r in linked] == [MASKED]
        stored = all_phones(after)
    vault = PersonalDataVault(NEW.encode(), lookup_context=PHONE_LOOKUP)
    assert [vault.decrypt(value) for value in stored] == [PHONE] * 4


def test_a_second_rewrap_changes_nothing(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with intake(database_url, tmp_path, OLD) as before:
        reported_twice_and_followed_up(before)
    assert rewrap("intake", database_url, f"{NEW},{OLD}", monkeypatch, capsys)[0] == 0
    with intake(database_url, tmp_path, NEW) as client:
        once = all_phones(client)
    code, out, _ = rewrap("intake", database_url, f"{NEW},{OLD}", monkeypatch, capsys)
    assert code == 0
    assert "rewrapped 0 values in 0 rows under the newest of 2 keys; 4 already under it" in out
    with intake(database_url, tmp_path, NEW) as client:
        assert all_phones(client) == once


def test_rewrap_names_a_value_no_key_opens_leaves_its_row_and_exits_non_zero(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with intake(database_url, tmp_path, OLD) as before:
        incident = reported_twice_and_followed_up(before)
    lost = PersonalDataVault(LOST.encode()).encrypt(PHONE)
    with intake(database_url, tmp_path, OLD) as client:
        engine = runtime_of(client).engine
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE incident SET reporter_phone = :lost WHERE reporter_phone IS NOT NULL"),
                {"lost": lost},
            )
    code, out, err = rewrap("intake", database_url, f"{NEW},{OLD}", monkeypatch, capsys)
    assert code == 1
    assert "rewrapped 3 values in 3 rows" in out
    assert err.strip() == (
        f"intake: incident row {incident}: reporter_phone cannot be decrypted with any of "
        "the 2 configured keys; row left unchanged"
    )
    with intake(database_url, tmp_path, NEW) as client:
        assert stored_phones(client)["incident"] == [lost]


def test_the_nik_lookup_finds_a_recipient_before_during_and_after_the_rotation(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    someone = person(7).model_dump(mode="json")
    with distribution(database_url, tmp_path, OLD) as before:
        created = before.post("/recipients", json=someone)
        assert created.status_code == 201, created.text
    url = f"/recipients/{created.json()['id']}"
    with distribution(database_url, tmp_path, f"{NEW},{OLD}") as during:
        again = during.post("/recipients", json=someone)
        assert (again.status_code, again.json()["error"]) == (409, "duplicate_nik")
    code, out, _ = rewrap("distribution", database_url, f"{NEW},{OLD}", monkeypatch, capsys)
    assert code == 0
    # NIK, KK, phone and the person's id in the social register (DTKS/DTSEN).
    assert "distribution: rewrapped 4 values in 1 rows" in out
    with distribution(database_url, tmp_path, NEW) as after:
        again = after.post("/recipients", json=someone)
        assert (again.status_code, again.json()["error"]) == (409, "duplicate_nik")
        shown = after.get(url, params={"reveal": "true", "purpose": "uji rotasi kunci"}).json()
        engine = runtime_of(after).engine
        with engine.connect() as connection:
            stored_hash = connection.execute(text("SELECT nik_hash FROM recipient")).scalar_one()
    assert (shown["nik"], shown["kk"], shown["phone"], shown["social_register_id"]) == (
        someone["nik"],
        someone["kk"],
        someone["phone"],
        someone["eligibility"]["social_register_id"],
    )
    newest = PersonalDataVault(NEW.encode(), lookup_context=NIK_LOOKUP)
    assert stored_hash == newest.fingerprint(someone["nik"])


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        (f"{NEW},not-a-key", "INTAKE_DATA_KEY entry 2 of 2 is not a Fernet key"),
        (f"{NEW},,{OLD}", "INTAKE_DATA_KEY entry 2 of 3 is empty"),
        (f"{NEW},{NEW}", "INTAKE_DATA_KEY entry 2 of 2 repeats an earlier key"),
        ("", "INTAKE_DATA_KEY entry 1 of 1 is empty"),
    ],
    # The keys are drawn at import: ids without them are the same in every xdist worker.
    ids=["not-a-key", "empty-between", "repeated", "empty"],
)
def test_a_malformed_data_key_list_is_refused_saying_which_entry(keys: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as refused:
        IntakeSettings(common=CommonSettings(environment="test"), data_key=keys)
    assert NEW not in str(refused.value)


def production_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "generate"]) == 0
    for line in capsys.readouterr().out.splitlines():
        name, value = line.split("=", 1)
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DINSOS_ENVIRONMENT", "production")
    monkeypatch.setenv("DINSOS_AUTH_REQUIRED", "true")


def test_settings_check_accepts_a_key_list_and_refuses_a_malformed_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    production_environment(monkeypatch, capsys)
    monkeypatch.setenv("DISTRIBUTION_DATA_KEY", f"{NEW},{OLD}")
    assert main(["settings", "check"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    monkeypatch.setenv("DISTRIBUTION_DATA_KEY", f"{NEW};{OLD}")
    assert main(["settings", "check"]) == 1
    out = capsys.readouterr().out
    assert "distribution: refused" in out and "intake: ok" in out
    assert "DISTRIBUTION_DATA_KEY entry 1 of 1 is not a Fernet key" in out
    assert NEW not in out


def test_keys_rotate_puts_a_fresh_key_in_front_of_the_current_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INTAKE_DATA_KEY", f"{NEW},{OLD}")
    assert main(["keys", "rotate", "--service", "intake"]) == 0
    name, value = capsys.readouterr().out.strip().split("=", 1)
    fresh, *kept = value.split(",")
    assert (name, kept) == ("INTAKE_DATA_KEY", [NEW, OLD])
    Fernet(fresh.encode())
    assert fresh not in (NEW, OLD)


def test_rewrap_refuses_a_malformed_key_list_before_touching_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "never-opened.sqlite3"
    with pytest.raises(SystemExit, match="INTAKE_DATA_KEY entry 2 of 2 is not a Fernet key"):
        rewrap("intake", f"sqlite:///{database}", f"{NEW},oops", monkeypatch, capsys)
    assert not database.exists()


class ChangedWhileRewrapping(PersonalDataVault):
    """A vault that, as rewrap reads the first old value, has the running service (a
    second connection) correct that row's phone under the newest key and commit."""

    def __init__(self, keys: list[bytes], engine: Engine, corrected: str) -> None:
        super().__init__(keys, lookup_context=PHONE_LOOKUP)
        self.engine, self.corrected, self.done = engine, corrected, False

    def decrypt(self, token: str) -> str:
        if not self.done:
            self.done = True
            with self.engine.begin() as connection:
                connection.execute(
                    text("UPDATE incident SET reporter_phone = :new WHERE reporter_phone = :old"),
                    {"new": self.corrected, "old": token},
                )
        return super().decrypt(token)


def test_a_value_the_service_rewrites_during_rewrap_is_not_overwritten_with_the_old_one(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite lets one writer in at a time: no write can come in between")
    with intake(database_url, tmp_path, OLD) as before:
        reported_twice_and_followed_up(before)
    newest = PersonalDataVault(NEW.encode())
    corrected = newest.encrypt("+62811111111")
    engine = create_db_engine(database_url)
    try:
        vault = ChangedWhileRewrapping([NEW.encode(), OLD.encode()], engine, corrected)
        outcome = rewrap_stored(engine, vault, SEALED_PHONES)
    finally:
        engine.dispose()
    assert (outcome.rewrapped, outcome.changed_meanwhile, outcome.unreadable) == (3, 1, [])
    with intake(database_url, tmp_path, NEW) as after:
        assert stored_phones(after)["incident"] == [corrected]


def test_a_complaints_lookup_code_and_contact_survive_a_rotation_and_rewrap(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = {
        "channel": "whatsapp",
        "complainant": {"name": "Siti Aminah", "contact": PHONE},
        "text": "Paket belum sampai ke rumah.",
    }
    with intake(database_url, tmp_path, OLD) as before:
        recorded = before.post("/complaints", json=body).json()
    with intake(database_url, tmp_path, f"{NEW},{OLD}") as during:
        # Before rewrap the code's hash is the old key's: the lookup tries every key's.
        found = during.post("/complaints/lookup", json={"code": recorded["lookup_code"]})
        assert found.status_code == 200, found.text
    code, out, err = rewrap("intake", database_url, f"{NEW},{OLD}", monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert "rewrapped 2 values in 1 rows" in out
    with intake(database_url, tmp_path, NEW) as after:
        found = after.post("/complaints/lookup", json={"code": recorded["lookup_code"]})
        assert found.status_code == 200, found.text
        shown = after.get(f"/complaints/{recorded['id']}").json()
    assert (shown["complainant_contact"], shown["lookup_code"]) == (MASKED, recorded["lookup_code"])
