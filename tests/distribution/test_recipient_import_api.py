"""The recipient list over HTTP, on both databases: the office's spreadsheet imported
(every accepted row in one transaction, refused rows reported with their row number and
reason, a dry run keeping nothing), files that cannot be read refused, enrolment in
permakanan refused to a person who does not meet the decree's requirements, and the
office's decision on the list enrolling everyone it names or no one."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlmodel import Session, select

from services.distribution.app import create_app
from services.distribution.models.permakanan import EnrolmentRow
from services.distribution.models.registry import RecipientRow
from shared.clock import office_today
from tests.distribution.programs_support import create_program, make_settings, nik, person

HEADER = "NIK;Nama;Tanggal Lahir;Alamat;Desa/Kelurahan;Kecamatan;Lintang;Bujur;ID DTKS;PKH"


def line(serial: int, **cells: str) -> str:
    values = {
        "nik": nik(serial),
        "name": f"Lansia {serial}",
        "born": "01/01/1950",
        "street": f"Jl. Mulawarman RT {serial:02d}",
        "village": "Sukarame",
        "district": "Tenggarong",
        "lat": "-0,428",
        "lon": "116,985",
        "dtks": f"DTKS-{serial:05d}",
        "pkh": "Tidak",
        **cells,
    }
    return ";".join(values.values())


def csv_file(*lines: str, bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join([HEADER, *lines]) + "\n").encode()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, max_import_rows=20, max_import_bytes=20_000))
    app.state.runtime.create_tables()
    try:
        yield TestClient(app)
    finally:
        app.state.runtime.engine.dispose()


def upload(client: TestClient, data: bytes, *, dry_run: bool = False, name: str = "x.csv") -> Any:
    return client.post(
        "/recipients/imports",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (name, data, "text/csv")},
    )


def stored(client: TestClient) -> list[RecipientRow]:
    with Session(client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]  # the app under test is FastAPI
        return list(session.exec(select(RecipientRow)).all())


def test_an_import_registers_every_valid_row_encrypted_and_reports_each_refused_row(
    client: TestClient,
) -> None:
    registered = client.post("/recipients", json=person(9).model_dump(mode="json"))
    assert registered.status_code == 201, registered.text
    data = csv_file(
        line(1),
        line(2, pkh="Ya"),
        line(3, nik="640206010150001"),  # 15 digits
        line(4, nik="9999990101500004"),  # no such district
        line(1, name="Lansia 1 lagi"),  # the same NIK as row 2
        line(9),  # already registered (through the API, above)
        line(6, village="Sukamaju"),  # not a village of Tenggarong
        line(7, born="31/02/1950"),
        line(8, born="01/01/2090"),
        line(10, pkh="mungkin"),
    )
    response = upload(client, data)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["accepted"], report["dry_run"]) == (10, 2, False)
    refused = {row["row"]: row["error"] for row in report["refused"]}
    assert refused == {
        4: "invalid_nik",
        5: "invalid_nik",
        6: "duplicate_in_file",
        7: "duplicate_nik",
        8: "address_not_in_regency",
        9: "invalid_birth_date",
        10: "implausible_birth_date",
        11: "invalid_flag",
    }
    assert "row 2" in next(r["detail"] for r in report["refused"] if r["row"] == 6)
    by_row = {row["row"]: row for row in report["imported"]}
    assert by_row[2]["permakanan_ineligible"] == []
    assert by_row[3]["permakanan_ineligible"] == ["receives_pkh"]

    rows = {row.name: row for row in stored(client)}
    assert set(rows) == {"Penerima 009", "Lansia 1", "Lansia 2"}
    imported = rows["Lansia 1"]
    assert nik(1) not in (imported.nik_token or "")
    assert "DTKS-00001" not in (imported.social_register_id_token or "")
    assert (imported.birth_date, imported.social_register, imported.verified) == (
        date(1950, 1, 1),
        "dtks",
        False,
    )
    shown = client.get(f"/recipients/{imported.id}").json()
    assert (shown["nik"], shown["social_register_id"]) == ("64020601******01", "DT******01")


def test_a_dry_run_reports_the_same_and_keeps_nothing(client: TestClient) -> None:
    data = csv_file(line(1), line(2, nik="123"), bom=False)
    checked = upload(client, data, dry_run=True).json()
    assert (checked["dry_run"], checked["accepted"], len(checked["refused"])) == (True, 1, 1)
    assert stored(client) == []
    assert upload(client, data).json()["accepted"] == 1
    assert len(stored(client)) == 1


def test_an_xlsx_export_is_imported_and_a_nik_the_sheet_kept_as_a_number_is_refused(
    client: TestClient,
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["NIK", "Nama", "Tanggal Lahir", "Desa/Kelurahan", "Kecamatan", "Lintang", "Bujur"]
    )
    sheet.append([nik(1), "Lansia 1", date(1950, 1, 1), "Sukarame", "Tenggarong", -0.428, 116.985])
    sheet.append([int(nik(2)), "Lansia 2", date(1950, 1, 1), "Melayu", "Tenggarong", -0.43, 116.98])
    out = io.BytesIO()
    book.save(out)
    report = upload(client, out.getvalue(), name="dtks.xlsx").json()
    assert report["accepted"] == 1
    assert [(r["row"], r["error"]) for r in report["refused"]] == [(3, "nik_not_text")]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422, "unsupported_file"),
        (b"PK\x03\x04garbage", 422, "malformed_file"),
        (b"NIK;Nama\n1;a\n", 422, "missing_columns"),
        (csv_file(line(1)).decode().encode("utf-16"), 422, "unsupported_file"),
        (csv_file(line(1)).replace(b"Lansia", b"Lans\xefa"), 422, "not_utf8"),
        (csv_file(*[line(n) for n in range(1, 22)]), 413, "too_many_rows"),
        (csv_file(line(1)) + b" " * 20_001, 413, "file_too_large"),
    ],
    ids=["png", "broken xlsx", "missing headers", "utf-16", "latin-1", "rows", "bytes"],
)
def test_a_file_that_cannot_be_imported_is_refused_whole_and_nothing_is_saved(
    client: TestClient, data: bytes, status: int, code: str
) -> None:
    response = upload(client, data)
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert stored(client) == []


def test_an_upload_without_a_file_is_refused(client: TestClient) -> None:
    response = client.post("/recipients/imports", data={"x": "y"})
    assert response.status_code == 422


def register(client: TestClient, serial: int, **eligibility: Any) -> str:
    body = person(serial).model_dump(mode="json")
    body["eligibility"].update(eligibility)
    created = client.post("/recipients", json=body)
    assert created.status_code == 201, created.text
    recipient_id: str = created.json()["id"]
    return recipient_id


def test_enrolment_of_a_pkh_recipient_not_in_any_register_is_refused_with_each_reason(
    client: TestClient,
) -> None:
    program_id = create_program(client)["id"]
    someone = register(client, 1, social_register=None, social_register_id=None, receives_pkh=True)
    refused = client.post(
        f"/permakanan/programs/{program_id}/enrolments", json={"recipient_id": someone}
    )
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] == "not_eligible"
    assert "not_in_social_register" in body["detail"]
    assert "Bukan penerima bantuan Program Keluarga Harapan (PKH)" in body["detail"]
    standing = client.get(f"/recipients/{someone}/eligibility").json()
    assert [r["reason"] for r in standing["reasons"]] == ["not_in_social_register", "receives_pkh"]

    recorded = client.put(
        f"/recipients/{someone}/eligibility",
        json={"social_register": "dtsen", "social_register_id": "DTSEN-1", "receives_pkh": False},
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["birth_date"] == "1950-01-01"  # kept from before
    enrolled = client.post(
        f"/permakanan/programs/{program_id}/enrolments", json={"recipient_id": someone}
    )
    assert enrolled.status_code == 200, enrolled.text


def test_a_birth_date_in_the_future_is_refused_at_registration(client: TestClient) -> None:
    body = person(1).model_dump(mode="json")
    body["eligibility"]["birth_date"] = (office_today() + timedelta(days=2)).isoformat()
    refused = client.post("/recipients", json=body)
    assert (refused.status_code, refused.json()["error"]) == (422, "implausible_birth_date")


def test_the_offices_decision_enrols_everyone_it_lists_naming_the_decision(
    client: TestClient,
) -> None:
    program_id = create_program(client)["id"]
    people = [register(client, serial) for serial in (1, 2, 3)]
    decision = {
        "number": "B-123/DINSOS/LJS/01/2026",
        "decided_on": "2026-01-02",
        "decided_by": "Kepala Dinas Sosial",
        "recipient_ids": people,
    }
    recorded = client.post(f"/permakanan/programs/{program_id}/decisions", json=decision)
    assert recorded.status_code == 201, recorded.text
    decision_id = recorded.json()["id"]
    enrolments = client.get(f"/permakanan/programs/{program_id}/enrolments").json()
    assert {e["recipient_id"] for e in enrolments} == set(people)
    assert {e["decision_id"] for e in enrolments} == {decision_id}
    listed = client.get(f"/permakanan/programs/{program_id}/decisions").json()
    assert [(d["number"], d["recipients"]) for d in listed] == [(decision["number"], 3)]

    again = client.post(f"/permakanan/programs/{program_id}/decisions", json=decision)
    assert (again.status_code, again.json()["error"]) == (409, "decision_recorded")


def test_a_decision_listing_one_ineligible_person_records_nothing(client: TestClient) -> None:
    program_id = create_program(client)["id"]
    fine = register(client, 1)
    in_sembako = register(client, 2, receives_sembako=True)
    refused = client.post(
        f"/permakanan/programs/{program_id}/decisions",
        json={
            "number": "B-124/DINSOS/LJS/01/2026",
            "decided_on": "2026-01-02",
            "decided_by": "Kepala Dinas Sosial",
            "recipient_ids": [fine, in_sembako],
        },
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "decision_recipients_refused")
    assert in_sembako in refused.json()["detail"]
    assert client.get(f"/permakanan/programs/{program_id}/decisions").json() == []
    with Session(client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]  # the app under test is FastAPI
        assert session.exec(select(EnrolmentRow)).all() == []


def test_a_decision_dated_in_the_future_is_refused(client: TestClient) -> None:
    program_id = create_program(client)["id"]
    refused = client.post(
        f"/permakanan/programs/{program_id}/decisions",
        json={
            "number": "B-125/DINSOS/LJS/01/2026",
            "decided_on": (office_today() + timedelta(days=3)).isoformat(),
            "decided_by": "Kepala Dinas Sosial",
            "recipient_ids": [register(client, 1)],
        },
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "decided_in_future")


def test_an_empty_register_id_cell_imports_the_person_as_not_in_any_register(
    client: TestClient,
) -> None:
    report = upload(client, csv_file(line(1, dtks=""))).json()
    assert report["accepted"] == 1, report
    assert report["imported"][0]["permakanan_ineligible"] == ["not_in_social_register"]
    [row] = stored(client)
    assert (row.social_register, row.social_register_id_token) == (None, None)


def test_the_decision_screen_records_the_ticked_people_and_shows_a_refusal_in_place(
    client: TestClient,
) -> None:
    program_id = create_program(client)["id"]
    fine, in_pkh = register(client, 1), register(client, 2, receives_pkh=True)
    page = client.get("/ui/permakanan/decisions", params={"lang": "en"})
    assert page.status_code == 200
    assert "receives PKH" in page.text
    form = {
        "program_id": program_id,
        "number": "B-200/DINSOS/LJS/01/2026",
        "decided_on": "2026-01-02",
        "decided_by": "Kepala Dinas Sosial",
    }
    refused = client.post(
        "/ui/permakanan/decisions?lang=id", data={**form, "recipient_id": [fine, in_pkh]}
    )
    assert refused.status_code == 422
    assert 'data-refused="decision_recipients_refused"' in refused.text
    # The page's words for the code; the service's English detail is not shown beside them.
    assert "Sebagian penerima yang ditetapkan tidak dapat didaftarkan" in refused.text
    assert "cannot be enrolled" not in refused.text
    assert "B-200/DINSOS/LJS/01/2026" in refused.text  # the form as typed
    done = client.post(
        "/ui/permakanan/decisions", data={**form, "recipient_id": [fine]}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    [enrolment] = client.get(f"/permakanan/programs/{program_id}/enrolments").json()
    assert enrolment["recipient_id"] == fine
    assert enrolment["decision_id"] is not None


def test_the_list_screen_finds_people_by_a_part_of_their_name_or_their_whole_nik_a_page_at_a_time(
    client: TestClient,
) -> None:
    for serials in (range(1, 14), range(14, 27)):  # the fixture takes 20 rows a file
        report = upload(client, csv_file(*[line(serial) for serial in serials])).json()
        assert report["accepted"] == 13, report
    first = client.get("/ui/recipients", params={"q": "lansia", "lang": "en"})
    assert first.status_code == 200
    assert first.text.count("<tr data-recipient=") == 25
    assert "26 recipients" in first.text
    assert nik(1) not in first.text and "64020601******01" in first.text
    next_page = re.search(r'id="next-page" href="([^"]+)"', first.text)
    assert next_page is not None
    second = client.get(next_page.group(1).replace("&amp;", "&"))
    assert second.text.count("<tr data-recipient=") == 1
    by_nik = client.get("/ui/recipients", params={"q": nik(7)})
    assert by_nik.text.count("<tr data-recipient=") == 1
    assert "Lansia 7<" in by_nik.text
    # What is typed is searched as typed: % is not a wildcard.
    wildcard = client.get("/ui/recipients", params={"q": "%"})
    assert 'id="none"' in wildcard.text
