"""Pick lists and handover records (BAST), signed off and printable; buffer stock, reorder
suggestions and near-expiry alerts. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.logistics import alerts, allocation, catalogue, documents, pdfs, queries, workbooks
from services.logistics.app import create_app
from services.logistics.models.catalogue import ItemUpdate, MinimumLevelIn, WarehouseRow
from services.logistics.models.dispatch import HandoverIn, PickSignIn
from services.logistics.models.stock import LotPlacement
from services.logistics.settings import LogisticsSettings, OfficeHead
from services.logistics.ui.common import pages
from shared.auth import Role
from shared.clock import FixedClock
from shared.contracts.logistics import (
    DispatchPlanned,
    LotNearExpiry,
    LotQuarantined,
    StockBelowMinimum,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.exports import XLSX_MEDIA_TYPE
from shared.runtime import ServiceRuntime
from tests.logistics.support import (
    NOW,
    SITE,
    TODAY,
    allocate,
    clock,
    emitted_by,
    lot_state,
    receive,
    settings,
    verified,
)
from tests.support.access import signed_in, token_for
from tests.support.documents import pdf_text


def test_pick_list_signed_then_released_then_handed_over_with_printable_papers(
    runtime: ServiceRuntime,
) -> None:
    oldest = receive(runtime, 5, date(2026, 1, 1), item="FAMILY-KIT")
    newer = receive(runtime, 50, date(2026, 5, 1), item="FAMILY-KIT")
    (planned,) = allocate(runtime, verified(("FAMILY-KIT", 8)))
    assert isinstance(planned, DispatchPlanned)
    dispatch_id = planned.dispatch_id
    runtime.run(lambda uow: catalogue.place_lot(uow, newer, LotPlacement(bin_location="R2-B3")))
    pick = runtime.run(lambda uow: documents.pick_list(uow, dispatch_id))
    assert [line.bin_location for line in pick.lines] == [None, "R2-B3"]
    assert [(line.lot_id, line.quantity) for line in pick.lines] == [(oldest, 5), (newer, 3)]
    early = HandoverIn(
        handed_over_by="Rina", received_by="Pak Lurah", receiver_organisation="Desa X"
    )
    with pytest.raises(Conflict) as not_yet:
        runtime.run(lambda uow: documents.record_handover(uow, dispatch_id, early))
    assert not_yet.value.error_code == "dispatch_not_released"

    signed = runtime.run(
        lambda uow: documents.sign_pick_list(uow, dispatch_id, PickSignIn(picked_by="Budi"))
    )
    assert signed.picked_by == "Budi" and signed.picked_at is not None
    with pytest.raises(Conflict):
        runtime.run(
            lambda uow: documents.sign_pick_list(uow, dispatch_id, PickSignIn(picked_by="Budi"))
        )
    pdf = pdfs.pick_list_pdf(signed, settings(runtime).zone())
    assert pdf.startswith(b"%PDF") and len(pdf) > 800

    runtime.run(
        lambda uow: allocation.release_dispatch(uow, dispatch_id, "Rina", settings(runtime))
    )
    handover = runtime.run(lambda uow: documents.record_handover(uow, dispatch_id, early))
    assert handover.number.startswith("BAST/")
    assert [(line.item_code, line.quantity) for line in handover.lines] == [("FAMILY-KIT", 8)]
    with pytest.raises(Conflict) as twice:
        runtime.run(lambda uow: documents.record_handover(uow, dispatch_id, early))
    assert twice.value.error_code == "handover_exists"
    warehouse = runtime.run(lambda uow: uow.session.get(WarehouseRow, "GDG-TGR"))
    assert warehouse is not None
    bast = pdfs.handover_pdf(handover, warehouse, settings(runtime).zone())
    assert bast.startswith(b"%PDF")
    with pytest.raises(NotFound):
        runtime.run(lambda uow: documents.get_handover(uow, newer))


def test_falling_below_the_buffer_level_is_announced_once_and_suggests_an_order(
    runtime: ServiceRuntime,
) -> None:
    receive(runtime, 100, date(2026, 5, 1))
    level = MinimumLevelIn(
        item_code="RICE-5KG", warehouse_code="GDG-TGR", households=20, per_household_per_day=1
    )
    row = runtime.run(lambda uow: alerts.set_minimum(uow, level))
    assert (row.minimum, row.basis) == (60, "20 households x 1/day x 3 days")
    first = emitted_by(
        runtime,
        lambda uow: allocation.allocate_for_incident(
            uow, verified(("RICE-5KG", 30)), settings(runtime)
        ),
    )
    assert not any(isinstance(e, StockBelowMinimum) for e in first)  # 70 free >= 60
    second = emitted_by(
        runtime,
        lambda uow: allocation.allocate_for_incident(
            uow, verified(("RICE-5KG", 25)), settings(runtime)
        ),
    )
    (below,) = [e for e in second if isinstance(e, StockBelowMinimum)]
    assert (below.available, below.minimum, below.suggested_order) == (45, 60, 15)
    third = emitted_by(
        runtime,
        lambda uow: allocation.allocate_for_incident(
            uow, verified(("RICE-5KG", 5)), settings(runtime)
        ),
    )
    assert not any(isinstance(e, StockBelowMinimum) for e in third)  # already below
    (suggestion,) = runtime.run(alerts.reorder_suggestions)
    assert (suggestion.free, suggestion.suggested_order) == (40, 20)
    with pytest.raises(Unprocessable):
        runtime.run(
            lambda uow: alerts.set_minimum(
                uow, MinimumLevelIn(item_code="RICE-5KG", warehouse_code="GDG-TGR")
            )
        )


def test_sweep_warns_once_before_expiry_and_quarantines_what_expired(
    runtime: ServiceRuntime,
) -> None:
    soon = receive(runtime, 10, date(2026, 6, 1), expires_on=TODAY + timedelta(days=10))
    # A short window for rice: 10 days left is not "near" yet, then it is.
    runtime.run(lambda uow: catalogue.update_item(uow, "RICE-5KG", ItemUpdate(near_expiry_days=7)))
    assert runtime.run(lambda uow: alerts.alerts(uow, settings(runtime))).near_expiry == []
    runtime.run(lambda uow: catalogue.update_item(uow, "RICE-5KG", ItemUpdate(near_expiry_days=14)))
    receive(runtime, 10, date(2026, 6, 1), expires_on=TODAY + timedelta(days=90))
    current = runtime.run(lambda uow: alerts.alerts(uow, settings(runtime)))
    assert [(a.lot_id, a.days_left) for a in current.near_expiry] == [(soon, 10)]
    events = emitted_by(runtime, lambda uow: alerts.scan(uow, settings(runtime)))
    assert [type(e) for e in events] == [LotNearExpiry]
    assert emitted_by(runtime, lambda uow: alerts.scan(uow, settings(runtime))) == []

    clock(runtime).advance(timedelta(days=10))
    expired = emitted_by(runtime, lambda uow: alerts.scan(uow, settings(runtime)))
    assert [e.quantity for e in expired if isinstance(e, LotQuarantined)] == [10]
    assert lot_state(runtime, soon) == (0, 0)
    later = runtime.run(lambda uow: alerts.alerts(uow, settings(runtime)))
    assert later.expired == []


# --- BAST as the decree wants it (004) -------------------------------------------------
# Balangan's decree (seed 004) is signed "Kepala Dinas Sosial Kabupaten Balangan, H.
# RIBOWO, S.Pd, M.AP, Pembina Utama Muda, NIP. 19661002 199001 1 002", and its service
# guarantee reads: documents are signed and stamped so that they are authentic.
BALANGAN_HEAD = OfficeHead(
    name="H. RIBOWO, S.Pd, M.AP",
    nip="19661002 199001 1 002",
    title="Kepala Dinas Sosial Kabupaten Balangan",
    rank="Pembina Utama Muda",
    place="Paringin",
)
GIVER, GIVER_NIP = "Ṭuan Ñoman Đặng", "198507142010012003"


def words(content: bytes) -> str:
    """The PDF's text with line breaks and runs of spaces as one space (a wrapped line)."""
    return " ".join(pdf_text(content).split())


def released_dispatch(runtime: ServiceRuntime) -> Any:
    receive(runtime, 20, date(2026, 6, 1), item="FAMILY-KIT")
    (planned,) = allocate(runtime, verified(("FAMILY-KIT", 8)))
    assert isinstance(planned, DispatchPlanned)
    runtime.run(
        lambda uow: allocation.release_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )
    return planned.dispatch_id


def test_bast_is_signed_by_both_parties_with_nip_and_known_by_the_head_over_the_stamp_004(
    runtime: ServiceRuntime,
) -> None:
    """004: "ditandatangani dan distempel": the BAST carries the names and NIP of the
    officers handing over and receiving, "Mengetahui" with the head of office's name and
    NIP, a place for the stamp, place and date in words, and the goods."""
    dispatch_id = released_dispatch(runtime)
    body = HandoverIn(
        handed_over_by=GIVER,
        handed_over_by_nip=GIVER_NIP,
        received_by="Drs. Ḥasan Basri",
        received_by_nip="19700101 199503 1 004",
        receiver_organisation="Kecamatan Paringin Selatan",
        place="Desa Batu Piring",
    )
    row = runtime.run(
        lambda uow: documents.record_handover(uow, dispatch_id, body, {"kukar": BALANGAN_HEAD})
    )
    assert (row.head_name, row.head_nip, row.place) == (
        "H. RIBOWO, S.Pd, M.AP", "196610021990011002", "Desa Batu Piring"
    )  # fmt: skip
    warehouse = runtime.run(lambda uow: uow.session.get(WarehouseRow, "GDG-TGR"))
    assert warehouse is not None
    text = words(pdfs.handover_pdf(row, warehouse, settings(runtime).zone("kukar")))
    # NOW is Monday 23 November 2026, 10.00 in Tenggarong (WITA).
    assert (
        "Pada hari ini Senin tanggal dua puluh tiga bulan November tahun dua ribu dua puluh "
        "enam (23-11-2026), pukul 10.00 WITA, bertempat di Desa Batu Piring"
    ) in text
    assert f"Nama : {GIVER} NIP : 19850714 201001 2 003" in text
    assert "Nama : Drs. Ḥasan Basri NIP : 19700101 199503 1 004" in text
    assert "Instansi : Kecamatan Paringin Selatan" in text
    assert "1 Family-Kit FAMILY-KIT 8 pcs" in text
    assert "Desa Batu Piring, 23 November 2026" in text
    assert "PIHAK KEDUA Yang menerima," in text and "PIHAK PERTAMA Yang menyerahkan," in text
    assert (
        "Mengetahui, Kepala Dinas Sosial Kabupaten Balangan H. RIBOWO, S.Pd, M.AP "
        "Pembina Utama Muda NIP. 19661002 199001 1 002"
    ) in text
    assert "tempat stempel" in text and "?" not in text


def test_bast_without_a_configured_head_or_nip_leaves_lines_to_write_on(
    runtime: ServiceRuntime,
) -> None:
    """004: signed and stamped, even where the office has not set its head in the
    system yet: the paper leaves the name and NIP to be written by hand."""
    dispatch_id = released_dispatch(runtime)
    body = HandoverIn(handed_over_by="Rina", received_by="Kades", receiver_organisation="Desa")
    row = runtime.run(lambda uow: documents.record_handover(uow, dispatch_id, body))
    assert (row.head_name, row.head_nip, row.place, row.handed_over_by_nip) == (None,) * 4
    warehouse = runtime.run(lambda uow: uow.session.get(WarehouseRow, "GDG-TGR"))
    assert warehouse is not None
    text = words(pdfs.handover_pdf(row, warehouse, settings(runtime).zone("kukar")))
    blank = "...................................."
    assert f"bertempat di {blank}" in text
    assert f"Nama : Rina NIP : {blank}" in text
    assert f"Mengetahui, Kepala Dinas Sosial {blank} NIP. {blank}" in text


def test_a_bast_stores_the_head_of_office_of_its_day_on_the_record(
    runtime: ServiceRuntime,
) -> None:
    """004: a signed paper is authentic as signed: the "Mengetahui" is stored with the
    BAST and printed from it, so a new head in the settings later reprints the same."""
    dispatch_id = released_dispatch(runtime)
    body = HandoverIn(handed_over_by="Rina", received_by="Kades", receiver_organisation="Desa")
    runtime.run(
        lambda uow: documents.record_handover(uow, dispatch_id, body, {"kukar": BALANGAN_HEAD})
    )
    row = runtime.run(lambda uow: documents.handover_of(uow, dispatch_id))  # read back
    assert (row.head_name, row.head_nip, row.head_title, row.head_rank, row.place) == (
        "H. RIBOWO, S.Pd, M.AP",
        "196610021990011002",
        "Kepala Dinas Sosial Kabupaten Balangan",
        "Pembina Utama Muda",
        "Paringin",  # no place typed: the office's seat
    )


def test_the_pick_list_prints_names_outside_latin_1_as_typed(runtime: ServiceRuntime) -> None:
    # Issue 15 item 16: fpdf2's core fonts printed "?" for "Đ", "ặ", "Ṭ".
    dispatch_id = released_dispatch(runtime)
    pick = runtime.run(lambda uow: documents.pick_list(uow, dispatch_id))
    pick = pick.model_copy(update={"warehouse_name": "Gudang Đặng Ṭenggarong"})
    text = words(pdfs.pick_list_pdf(pick, settings(runtime).zone(), "Banjir · Ŋgurah"))
    assert "GDG-TGR - Gudang Đặng Ṭenggarong" in text and "Kasus: Banjir · Ŋgurah" in text


def _balangan_app(
    tmp_path: Path,
) -> tuple[TestClient, ServiceRuntime, dict[str, str], dict[str, str]]:
    """logistics with sign-in, its clock at NOW, Balangan's head in the settings; headers
    of a balangan and a kukar user holding every role."""
    settings = signed_in(LogisticsSettings, tmp_path).model_copy(
        update={"office_heads": {"balangan": BALANGAN_HEAD}}
    )
    app = create_app(settings, clock=FixedClock(NOW))
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    client = TestClient(app, raise_server_exceptions=False)
    balangan, kukar = (
        {"Authorization": f"Bearer {token_for(settings.auth, *Role, office=office)}"}
        for office in ("balangan", "kukar")
    )
    return client, runtime, balangan, kukar


def test_a_mistyped_nip_is_refused_with_a_clear_422_and_records_nothing(tmp_path: Path) -> None:
    """004: signed papers name their signers by NIP: one that cannot be a NIP (not 18
    digits, no birth date in front, a sex digit other than 1 or 2) is refused where it
    is typed; the corrected one gives the BAST with the head of Balangan's office."""
    client, runtime, balangan, _kukar = _balangan_app(tmp_path)
    warehouse = {"code": "GDG-BLG", "name": "Gudang Paringin", "location": SITE.model_dump()}
    assert client.post("/warehouses", json=warehouse, headers=balangan).status_code == 201
    item = {"code": "TENT", "name": "Tenda pengungsi", "unit": "unit"}
    assert client.post("/items", json=item, headers=balangan).status_code == 201
    lot = {"item_code": "TENT", "warehouse_code": "GDG-BLG", "quantity": 5,
           "received_on": str(TODAY), "source": "PO-1", "received_by": "x"}  # fmt: skip
    assert client.post("/lots", json=lot, headers=balangan).status_code == 201
    incident = verified(("TENT", 2)).model_copy(
        update={"office_id": "balangan", "destination": SITE}
    )
    runtime.run(lambda uow: allocation.allocate_for_incident(uow, incident, settings(runtime)))
    (dispatch,) = client.get("/dispatches", headers=balangan).json()
    url = f"/dispatches/{dispatch['id']}"
    released = client.post(f"{url}/release", json={"released_by": "x"}, headers=balangan)
    assert released.status_code == 200, released.text
    bast = {"handed_over_by": "x", "received_by": "Kades Batu Piring",
            "receiver_organisation": "Desa Batu Piring"}  # fmt: skip
    for wrong, why in (
        ("19661002 199001 1 00", "18 digits"),  # a digit short
        ("19661302 199001 1 002", "birth date"),  # month 13
        ("19661002 199001 3 002", "1 (man) or 2 (woman)"),
        ("1966100219900110O2", "18 digits"),  # a letter O for a zero
    ):
        refused = client.post(
            f"{url}/handover", json=bast | {"handed_over_by_nip": wrong}, headers=balangan
        )
        assert (refused.status_code, refused.json()["error"]) == (422, "invalid_nip"), wrong
        (problem,) = refused.json()["detail"]
        assert problem["loc"] == ["body", "handed_over_by_nip"] and why in problem["msg"]
    assert client.get(f"{url}/handover", headers=balangan).status_code == 404
    receiver = client.post(
        f"{url}/handover", json=bast | {"received_by_nip": "123"}, headers=balangan
    )
    assert (receiver.status_code, receiver.json()["error"]) == (422, "invalid_nip")

    recorded = client.post(
        f"{url}/handover", json=bast | {"handed_over_by_nip": GIVER_NIP}, headers=balangan
    )
    assert recorded.status_code == 201, recorded.text
    answer = recorded.json()
    assert (answer["handed_over_by_nip"], answer["head_nip"], answer["place"]) == (
        GIVER_NIP, "196610021990011002", "Paringin"
    )  # fmt: skip
    pdf = client.get(f"/handovers/{answer['id']}.pdf", headers=balangan)
    assert pdf.headers["content-type"] == "application/pdf"
    text = words(pdf.content)
    assert "bertempat di Paringin" in text and "Paringin, 23 November 2026" in text
    assert "H. RIBOWO, S.Pd, M.AP Pembina Utama Muda NIP. 19661002 199001 1 002" in text
    runtime.engine.dispose()


def test_an_office_head_with_a_mistyped_nip_stops_the_service_from_starting() -> None:
    """004: the head's NIP is printed on every BAST: a typo in the settings is caught
    when the service starts, not on a signed paper."""
    with pytest.raises(ValueError, match="18 digits"):
        LogisticsSettings.model_validate(
            {"office_heads": {"balangan": BALANGAN_HEAD.model_dump() | {"nip": "1966100219900"}}}
        )


# --- the keeper's spreadsheet ------------------------------------------------------------


def wall_clock(text: str) -> datetime:
    """A time as a sheet holds it: the office's wall clock, no zone."""
    return datetime.fromisoformat(text)


def sheet_of(content: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(content)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def test_the_stock_card_workbook_has_the_opening_balance_and_every_movement_typed(
    runtime: ServiceRuntime,
) -> None:
    receive(runtime, 1200, date(2026, 6, 1), item="FAMILY-KIT")
    dispatch_id = released_dispatch(runtime)  # 20 more received, then 8 issued
    assert dispatch_id is not None
    card = runtime.run(
        lambda uow: queries.stock_card(
            uow, item_code="FAMILY-KIT", warehouse_code="GDG-TGR", as_of=TODAY,
            since=date(2026, 6, 1),
        )
    )  # fmt: skip
    content = workbooks.stock_card_xlsx(
        card, "Gudang Tenggarong", settings(runtime).zone("kukar"),
        lambda kind: pages.word("id", "movement", kind),
    )  # fmt: skip
    sheet = sheet_of(content)
    assert sheet["A1"].value == "KARTU STOK: Family-Kit (FAMILY-KIT), satuan pcs"
    assert sheet["A2"].value == "Gudang: Gudang Tenggarong (GDG-TGR)"
    assert sheet.freeze_panes == "A6"
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    assert rows[0][:7] == ("Tanggal", "Uraian", "Referensi", "Lot", "Masuk", "Keluar", "Saldo")
    assert rows[1][:7] == (wall_clock("2026-06-01"), "Saldo awal", None, None, None, None, 0)
    assert [(row[1], row[4], row[5], row[6]) for row in rows[2:]] == [
        ("Penerimaan", 1200, None, 1200),
        ("Penerimaan", 20, None, 1220),
        ("Pengeluaran", None, 8, 1212),
    ]
    (issued,) = sheet.iter_rows(min_row=9, max_row=9)
    assert issued[6].number_format == "#,##0" and issued[6].data_type == "n"
    assert issued[0].number_format == "dd/mm/yyyy"
    # Recorded at NOW, 02:00 UTC: 10:00 on the office's (WITA) clock.
    assert issued[9].value == wall_clock("2026-11-23T10:00")


def test_stock_workbooks_answer_only_the_callers_office(tmp_path: Path) -> None:
    client, _runtime, balangan, kukar = _balangan_app(tmp_path)
    for code, headers in (("GDG-BLG", balangan), ("GDG-TGR", kukar)):
        body = {"code": code, "name": f"Gudang {code}", "location": SITE.model_dump()}
        assert client.post("/warehouses", json=body, headers=headers).status_code == 201
    item = {"code": "TENT", "name": "Tenda pengungsi", "unit": "unit"}
    assert client.post("/items", json=item, headers=balangan).status_code == 201
    for code, headers, quantity in (("GDG-BLG", balangan, 1500), ("GDG-TGR", kukar, 7)):
        lot = {"item_code": "TENT", "warehouse_code": code, "quantity": quantity,
               "received_on": str(TODAY), "source": "PO-1", "received_by": "x"}  # fmt: skip
        assert client.post("/lots", json=lot, headers=headers).status_code == 201
    stock = client.get("/stock.xlsx", headers=balangan)
    assert stock.headers["content-type"] == XLSX_MEDIA_TYPE
    rows = list(sheet_of(stock.content).iter_rows(values_only=True))
    assert rows[1:] == [
        ("GDG-BLG", "Gudang GDG-BLG", "TENT", "Tenda pengungsi", "unit", 1500, 0, 0, 1500, 1)
    ]
    query = {"item_code": "TENT", "warehouse_code": "GDG-TGR"}
    # As GET /stock-card answers another office's warehouse: as if unknown.
    for path in ("/stock-card", "/stock-card.xlsx"):
        other = client.get(path, params=query, headers=balangan)
        assert (other.status_code, other.json()["error"]) == (422, "unknown_warehouse")
    own = client.get("/stock-card.xlsx", params=query, headers=kukar)
    assert own.status_code == 200
    assert "kartu-stok-TENT-GDG-TGR-2026-11-23.xlsx" in own.headers["content-disposition"]
    assert [row[6] for row in sheet_of(own.content).iter_rows(min_row=6, values_only=True)] == [
        0, 7
    ]  # fmt: skip
