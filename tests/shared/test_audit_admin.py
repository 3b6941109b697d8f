"""`dinsos-admin audit key|anchor|verify`, run as an inspector would: an anchor taken one
day holds while the chain only grows, and stops holding once entries are removed."""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, delete

from shared.admin.__main__ import main
from shared.contracts.intake import IncidentRejected
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings, ServiceSettings
from shared.unit_of_work import UnitOfWork


def reject(uow: UnitOfWork) -> None:
    uow.emit(
        IncidentRejected.first(
            office_id="kukar",
            case_id=uuid.uuid4(),
            producer="intake",
            occurred_at=uow.now(),
            rejected_by="Kabid",
            reason="duplicate report",
        )
    )


@pytest.fixture
def intake(database_url: str, monkeypatch: pytest.MonkeyPatch) -> ServiceRuntime:
    """Intake's audit trail on `database_url`, and the environment the command reads."""
    key = secrets.token_urlsafe(48)
    monkeypatch.setenv("DINSOS_ENVIRONMENT", "test")
    monkeypatch.setenv("INTAKE_DATABASE_URL", database_url)
    monkeypatch.setenv("DINSOS_AUDIT_KEY", key)
    settings = ServiceSettings(database_url=database_url, common=CommonSettings(environment="test"))
    runtime = ServiceRuntime(name="intake", settings=settings, metadata=MetaData())
    runtime.create_tables()
    return runtime


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_an_anchor_kept_outside_holds_until_entries_are_removed(
    intake: ServiceRuntime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for _ in range(3):
        intake.run(reject)
    code, out = run(capsys, "audit", "key", "--service", "intake")
    assert code == 0
    public_key = json.loads(out)["public_key"]
    code, out = run(capsys, "audit", "anchor", "--service", "intake")
    assert code == 0
    assert json.loads(out)["anchor"]["entries"] == 3
    kept = tmp_path / "intake-anchors.jsonl"
    kept.write_text(out)
    intake.run(reject)

    verify = ("audit", "verify", "--service", "intake", "--anchor", str(kept))
    code, out = run(capsys, *verify, "--public-key", public_key)
    assert code == 0, out
    assert "chain intact, 4 entries" in out
    assert "(3 entries): holds" in out

    entries = intake.audit_trail.entries
    intake.run(lambda uow: uow.session.execute(delete(entries).where(entries.c.sequence >= 3)))
    code, out = run(capsys, *verify, "--public-key", public_key)
    assert code == 1
    assert "chain BROKEN" in out
    assert "DOES NOT HOLD" in out


def test_an_anchor_under_another_public_key_is_refused(
    intake: ServiceRuntime, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    intake.run(reject)
    _, out = run(capsys, "audit", "anchor", "--service", "intake")
    kept = tmp_path / "anchor.json"
    kept.write_text(out)
    stranger = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    code, out = run(
        capsys,
        "audit",
        "verify",
        "--service",
        "intake",
        "--anchor",
        str(kept),
        "--public-key",
        stranger,
    )
    assert code == 1
    assert "refused: the signature does not hold under this public key" in out


def test_a_database_without_an_audit_trail_is_named_not_traced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DINSOS_ENVIRONMENT", "test")
    monkeypatch.setenv("INTAKE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(SystemExit, match="intake: cannot read its audit trail"):
        main(["audit", "verify", "--service", "intake"])
