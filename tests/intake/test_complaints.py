"""Complaints in intake: the rules (states, lookup codes, the guard against guessing), the
API on both databases and the real broker (every bad input refused in words, nothing
personal in events or on the public page), and office scoping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.intake import complaints
from services.intake.app import create_app
from services.intake.complaint_rules import (
    LOOKUP_ALPHABET,
    ComplaintStatus,
    check_answerable,
    check_closable,
    masked_contact,
    new_lookup_code,
    normalised_lookup_code,
    shown_lookup_code,
    status_after_note,
)
from services.intake.complaints import LookupGuard
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.contracts.envelope import CaseType
from shared.contracts.intake import (
    ComplaintAnswered,
    ComplaintClosed,
    ComplaintHandlingStarted,
    ComplaintReceived,
)
from shared.errors import Conflict
from shared.tansu import TansuBroker
from tests.intake.test_api import events_of, report
from tests.support.access import signed_in, token_for
from tests.support.services import ready_client, settings_for
from tests.support.signed import queued_events

PHONE = "081234567890"
NAME = "Siti Aminah"
WORDS = "Paket permakanan bulan ini tidak sampai ke rumah ibu saya di RT 05."
ANSWER = "Paket diantar ulang tanggal 3; petugas sudah memastikan diterima."

# --- rules -------------------------------------------------------------------------------


def test_a_lookup_code_is_ten_unambiguous_symbols_and_fresh_each_time() -> None:
    codes = {new_lookup_code() for _ in range(5000)}
    assert len(codes) == 5000
    assert all(len(code) == 10 and set(code) <= set(LOOKUP_ALPHABET) for code in codes)
    assert not set("01OILU") & set(LOOKUP_ALPHABET)


def test_a_typed_code_is_read_in_any_case_with_spaces_or_a_dash() -> None:
    code = "K7QM2XR9TD"
    assert shown_lookup_code(code) == "K7QM2-XR9TD"
    for typed in ("K7QM2-XR9TD", " k7qm2 xr9td ", "k7qm2.xr9td", "K7QM2XR9TD"):
        assert normalised_lookup_code(typed) == code


@pytest.mark.parametrize("typed", ["K7QM2-XR9T", "K7QM2-XR9TDD", "K7QM2-XR9T0", "K7QO2-XR9TD", ""])
def test_a_code_of_the_wrong_length_or_with_a_left_out_symbol_is_no_code(typed: str) -> None:
    assert normalised_lookup_code(typed) is None


def test_a_note_takes_a_received_complaint_into_handling_and_a_closed_one_takes_none() -> None:
    assert status_after_note(ComplaintStatus.RECEIVED) is ComplaintStatus.IN_HANDLING
    assert status_after_note(ComplaintStatus.IN_HANDLING) is ComplaintStatus.IN_HANDLING
    assert status_after_note(ComplaintStatus.ANSWERED) is ComplaintStatus.ANSWERED
    with pytest.raises(Conflict) as refused:
        status_after_note(ComplaintStatus.CLOSED)
    assert refused.value.error_code == "complaint_closed"


@pytest.mark.parametrize("status", [ComplaintStatus.RECEIVED, ComplaintStatus.IN_HANDLING])
def test_only_an_answered_complaint_can_be_closed(status: ComplaintStatus) -> None:
    with pytest.raises(Conflict) as refused:
        check_closable(status)
    assert refused.value.error_code == "complaint_not_answered"
    check_closable(ComplaintStatus.ANSWERED)


def test_a_complaint_is_answered_once_and_never_after_closing() -> None:
    check_answerable(ComplaintStatus.RECEIVED)
    check_answerable(ComplaintStatus.IN_HANDLING)
    with pytest.raises(Conflict, match="answered already"):
        check_answerable(ComplaintStatus.ANSWERED)
    with pytest.raises(Conflict, match="closed"):
        check_answerable(ComplaintStatus.CLOSED)


def test_a_contact_is_masked_as_a_phone_an_e_mail_or_a_handle() -> None:
    assert masked_contact(PHONE) == "0812******90"
    assert masked_contact("budi.santoso@mail.com") == "bu**********@mail.com"
    assert masked_contact("@linjamsos_blg") == "@li***********"


def test_ten_wrong_codes_lock_an_address_for_a_quarter_of_an_hour() -> None:
    guard = LookupGuard()
    start = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    for minute in range(9):
        guard.failed("10.0.0.7", start + timedelta(minutes=minute))
    assert guard.retry_after("10.0.0.7", start + timedelta(minutes=9)) is None
    guard.failed("10.0.0.7", start + timedelta(minutes=9))
    assert guard.retry_after("10.0.0.7", start + timedelta(minutes=9)) == 15 * 60
    assert guard.retry_after("10.0.0.8", start + timedelta(minutes=9)) is None
    assert guard.retry_after("10.0.0.7", start + timedelta(minutes=24, seconds=1)) is None


# --- the API -------------------------------------------------------------------------------


@pytest.fixture
def client(broker: TansuBroker, database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(IntakeSettings, broker, database_url, photo_dir=tmp_path / "photos")
    with ready_client(create_app(settings)) as test_client:
        yield test_client


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "whatsapp",
        "complainant": {"name": NAME, "contact": PHONE},
        "about_reference": "PMK-2026-R3",
        "text": WORDS,
    }
    body.update(overrides)
    return body


def record(client: TestClient, **overrides: Any) -> dict[str, Any]:
    answer = client.post("/complaints", json=complaint(**overrides))
    assert answer.status_code == 201, answer.text
    recorded: dict[str, Any] = answer.json()
    return recorded


async def test_each_step_from_received_to_closed_is_announced_without_personal_data(
    client: TestClient, broker: TansuBroker
) -> None:
    incident = client.post("/reports", json=report()).json()["id"]
    received_at = datetime.now(UTC) - timedelta(hours=20)
    recorded = record(client, about_incident_id=incident, received_at=received_at.isoformat())
    assert recorded["status"] == "received"
    assert recorded["complainant_contact"] == "0812******90"
    assert len(recorded["lookup_code"]) == 11 and recorded["lookup_code"][5] == "-"
    complaint_id = recorded["id"]

    noted = client.post(f"/complaints/{complaint_id}/notes", json={"text": "Cek ke kurir"})
    assert noted.json()["status"] == "in_handling"
    again = client.post(f"/complaints/{complaint_id}/notes", json={"text": "Kurir salah alamat"})
    assert [note["text"] for note in again.json()["notes"]] == [
        "Cek ke kurir",
        "Kurir salah alamat",
    ]
    answered = client.post(f"/complaints/{complaint_id}/answer", json={"text": ANSWER})
    assert (answered.json()["status"], answered.json()["answer"]) == ("answered", ANSWER)
    (listed,) = client.get("/complaints", params={"view": "answered"}).json()
    assert [note["text"] for note in listed["notes"]] == ["Cek ke kurir", "Kurir salah alamat"]
    closed = client.post(f"/complaints/{complaint_id}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert client.get(f"/complaints/{complaint_id}").json()["closed_at"] is not None

    events = await events_of(broker, complaint_id, 4)
    assert [type(event) for event in events] == [
        ComplaintReceived,
        ComplaintHandlingStarted,
        ComplaintAnswered,
        ComplaintClosed,
    ]
    assert all(event.case_type is CaseType.COMPLAINT for event in events)
    first = events[0]
    assert isinstance(first, ComplaintReceived)
    assert first.occurred_at == received_at
    assert (first.channel, str(first.about_incident_id)) == ("whatsapp", incident)
    wire = "".join(event.model_dump_json() for event in events)
    for private in (NAME, PHONE, WORDS, ANSWER, recorded["lookup_code"].replace("-", "")):
        assert private not in wire


def test_a_lookup_code_drawn_twice_is_drawn_again_for_the_second_complaint(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = iter(["AAAAA22222", "AAAAA22222", "BBBBB33333"])
    monkeypatch.setattr(complaints, "new_lookup_code", lambda: next(drawn))
    first, second = record(client), record(client)
    assert (first["lookup_code"], second["lookup_code"]) == ("AAAAA-22222", "BBBBB-33333")


def test_the_contact_and_the_code_are_stored_encrypted(client: TestClient) -> None:
    recorded = record(client)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]  # the test app's state
    with runtime.engine.connect() as connection:
        stored = connection.execute(text("SELECT * FROM complaint")).mappings().one()
    code = recorded["lookup_code"].replace("-", "")
    assert PHONE not in str(dict(stored)) and code not in str(dict(stored))
    assert stored["complainant_contact"].startswith("gAAAAA")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"text": ""}, "invalid_request"),
        ({"text": "   "}, "invalid_request"),
        ({"text": "x" * 4001}, "invalid_request"),
        ({"channel": "telegram"}, "invalid_request"),
        ({"complainant": {"name": NAME, "contact": "call me maybe"}}, "invalid_request"),
        ({"complainant": {"name": ""}}, "invalid_request"),
        ({"received_at": "2020-01-01T08:00:00+08:00"}, "received_too_long_ago"),
        ({"received_at": "2999-01-01T08:00:00+08:00"}, "received_in_future"),
        ({"about_incident_id": "4b1f2a0c-0000-4000-8000-000000000000"}, "unknown_incident"),
    ],
)
def test_a_bad_complaint_is_refused_in_words_and_nothing_is_kept(
    client: TestClient, change: dict[str, Any], error: str
) -> None:
    refused = client.post("/complaints", json=complaint(**change))
    assert (refused.status_code, refused.json()["error"]) == (422, error)
    assert client.get("/complaints", params={"view": "all"}).json() == []


def test_closing_an_unanswered_complaint_is_refused_and_changes_nothing(
    client: TestClient,
) -> None:
    complaint_id = record(client)["id"]
    refused = client.post(f"/complaints/{complaint_id}/close")
    assert (refused.status_code, refused.json()["error"]) == (409, "complaint_not_answered")
    assert client.get(f"/complaints/{complaint_id}").json()["status"] == "received"


def test_a_second_answer_and_a_note_on_a_closed_complaint_are_refused(client: TestClient) -> None:
    complaint_id = record(client)["id"]
    client.post(f"/complaints/{complaint_id}/answer", json={"text": ANSWER})
    second = client.post(f"/complaints/{complaint_id}/answer", json={"text": "Jawaban lain"})
    assert (second.status_code, second.json()["error"]) == (409, "complaint_already_answered")
    client.post(f"/complaints/{complaint_id}/close")
    late_note = client.post(f"/complaints/{complaint_id}/notes", json={"text": "lagi"})
    assert (late_note.status_code, late_note.json()["error"]) == (409, "complaint_closed")
    assert client.get(f"/complaints/{complaint_id}").json()["answer"] == ANSWER


def test_an_unknown_complaint_is_not_found(client: TestClient) -> None:
    missing = client.get("/complaints/4b1f2a0c-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.json()["error"]) == (404, "complaint_not_found")


# --- the public lookup ----------------------------------------------------------------------


def test_the_public_lookup_shows_the_state_the_dates_and_the_answer_and_nothing_personal(
    client: TestClient,
) -> None:
    mine = record(client)
    other = record(client, complainant={"name": "Rudi Hartono", "contact": "rudi@mail.com"})
    client.post(f"/complaints/{mine['id']}/notes", json={"text": "Dicek oleh Pak Budi, 0811223344"})
    client.post(f"/complaints/{mine['id']}/answer", json={"text": ANSWER})

    found = client.post("/complaints/lookup", json={"code": mine["lookup_code"].lower()})
    assert found.status_code == 200, found.text
    shown = found.json()
    assert shown["status"] == "answered"
    assert shown["answer"] == ANSWER
    assert shown["received_at"] and shown["handling_started_at"] and shown["answered_at"]
    assert set(shown) == {
        "status",
        "channel",
        "received_at",
        "handling_started_at",
        "answered_at",
        "answer",
        "closed_at",
    }

    page = client.post("/pengaduan", data={"code": mine["lookup_code"]})
    assert page.status_code == 200
    assert ANSWER in page.text and "Sudah dijawab" in page.text
    for private in (
        NAME,
        PHONE,
        "0812******90",
        WORDS,
        "Pak Budi",
        "0811223344",
        mine["id"],
        other["id"],
        "Rudi Hartono",
        other["lookup_code"],
    ):
        assert private not in found.text
        assert private not in page.text


def test_an_unknown_or_malformed_code_opens_nothing(client: TestClient) -> None:
    record(client)
    for code in ("K7QM2-XR9TD", "not a code", ""):
        refused = client.post("/complaints/lookup", json={"code": code})
        assert (refused.status_code, refused.json()["error"]) == (404, "complaint_not_found")
    page = client.post("/pengaduan?lang=en", data={"code": "K7QM2-XR9TD"})
    assert page.status_code == 404
    assert "No complaint has this code" in page.text


def test_ten_wrong_codes_lock_the_lookup_even_for_a_right_code(client: TestClient) -> None:
    code = record(client)["lookup_code"]
    for _ in range(10):
        assert client.post("/complaints/lookup", json={"code": "K7QM2-XR9TD"}).status_code == 404
    locked = client.post("/complaints/lookup", json={"code": code})
    assert (locked.status_code, locked.json()["error"]) == (429, "too_many_attempts")
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    page = client.post("/pengaduan", data={"code": code})
    assert page.status_code == 429
    assert "Terlalu banyak kode salah" in page.text


# --- offices -----------------------------------------------------------------------------------


def test_another_offices_complaint_is_answered_as_unknown_and_left_unchanged(
    tmp_path: Path,
) -> None:
    settings = signed_in(IntakeSettings, tmp_path)
    app = create_app(settings)
    runtime = app.state.runtime
    runtime.create_tables()
    client = TestClient(app)  # no lifespan: the outbox keeps the events, no broker needed
    kukar = {"Authorization": f"Bearer {token_for(settings.auth, Role.COORDINATOR)}"}
    balangan = {
        "Authorization": f"Bearer {token_for(settings.auth, Role.COORDINATOR, office='balangan')}"
    }
    field = {"Authorization": f"Bearer {token_for(settings.auth, Role.FIELD_TEAM)}"}
    incident = client.post("/reports", json=report(), headers=field).json()["id"]
    recorded = client.post("/complaints", json=complaint(), headers=kukar).json()
    complaint_id = recorded["id"]

    assert client.get(f"/complaints/{complaint_id}", headers=balangan).status_code == 404
    assert client.get("/complaints", headers=balangan).json() == []
    for step, body in (("notes", {"text": "x" * 5}), ("answer", {"text": ANSWER})):
        refused = client.post(f"/complaints/{complaint_id}/{step}", json=body, headers=balangan)
        assert (refused.status_code, refused.json()["error"]) == (404, "complaint_not_found")
    about_theirs = client.post(
        "/complaints", json=complaint(about_incident_id=incident), headers=balangan
    )
    assert (about_theirs.status_code, about_theirs.json()["error"]) == (422, "unknown_incident")
    assert client.get(f"/complaints/{complaint_id}", headers=kukar).json()["status"] == "received"
    assert [type(event) for event in queued_events(runtime)][-1] is ComplaintReceived
    # The code is the complainant's key, whoever's browser types it.
    found = client.post(
        "/complaints/lookup", json={"code": recorded["lookup_code"]}, headers=balangan
    )
    assert found.json()["status"] == "received"
