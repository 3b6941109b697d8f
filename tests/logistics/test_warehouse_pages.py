"""The warehouse screens served by logistics, read as a keeper reads them (server-side,
both languages): a dispatch named by hazard and place, its lines in bin order, an item or
a lot found in one search, long lists a page at a time, refusals shown in place with what
was typed, and no raw code or ISO date in the Indonesian text."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from services.logistics import allocation, catalogue, procurement, queries
from services.logistics.models.procurement import (
    ProcurementLineIn,
    PurchaseOrderIn,
    PurchaseRequestIn,
)
from services.logistics.models.stock import LotPlacement
from services.logistics.ui import common
from shared.contracts.envelope import Address, HazardType
from shared.contracts.intake import IncidentReported, Reporter, ReporterRole
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork
from tests.logistics.support import (
    NOW,
    SITE,
    TODAY,
    allocate,
    receive,
    settings,
    unsigned_client,
    verified,
)
from tests.support.documents import pdf_text


class _Text(HTMLParser):
    """The words a reader sees: the text of the page's main part, without its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._in_main = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self._in_main = True
        if tag in {"script", "style"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main = False
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._in_main and not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    reader = _Text()
    reader.feed(html)
    return " ".join(reader.parts)


@pytest.fixture
def client(runtime: ServiceRuntime) -> Iterator[TestClient]:
    """logistics' API and screens on `runtime`, without sign-in."""
    with unsigned_client(runtime) as test_client:
        yield test_client


def reported(case_id: uuid.UUID, village: str = "Sukarame") -> IncidentReported:
    """The report intake published for `case_id`: a flood in Tenggarong, 30 households."""
    return IncidentReported.first(
        office_id="kukar",
        case_id=case_id,
        producer="intake",
        occurred_at=NOW - timedelta(hours=1),
        hazard=HazardType.FLOOD,
        happened_at=NOW - timedelta(hours=3),
        reporter=Reporter(name="Pak RT", role=ReporterRole.RT),
        location=SITE,
        address=Address(village=village, district="Tenggarong"),
        households_affected=30,
        people_affected=110,
        stated_needs=(),
    )


def hear(runtime: ServiceRuntime, event: IncidentReported) -> None:
    runtime.run(lambda uow: allocation.on_incident_event(uow, event, settings(runtime)))


def place(runtime: ServiceRuntime, lot_id: uuid.UUID, bin_location: str) -> None:
    runtime.run(
        lambda uow: catalogue.place_lot(uow, lot_id, LotPlacement(bin_location=bin_location))
    )


@pytest.fixture
def flood_dispatch(runtime: ServiceRuntime) -> uuid.UUID:
    """A verified flood in Sukarame, its rice taken from three lots on bins A-10, A-2 and
    (a lot without a bin) nowhere yet, and family kits from B-1; the case id."""
    on_a10 = receive(runtime, 10, date(2026, 3, 1), expires_on=TODAY + timedelta(days=12))
    on_a2 = receive(runtime, 10, date(2026, 4, 1), expires_on=TODAY + timedelta(days=40))
    receive(runtime, 10, date(2026, 5, 1), expires_on=TODAY + timedelta(days=60))
    kits = receive(runtime, 5, date(2026, 6, 1), item="FAMILY-KIT")
    place(runtime, on_a10, "A-10")
    place(runtime, on_a2, "A-2")
    place(runtime, kits, "B-1")
    incident = verified(("RICE-5KG", 30), ("FAMILY-KIT", 5))
    hear(runtime, reported(incident.case_id))
    allocate(runtime, incident)
    return incident.case_id


def test_a_picking_list_names_its_dispatch_by_hazard_place_and_households_in_indonesian(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    html = client.get("/ui/picking").text
    assert "Banjir · Sukarame, Tenggarong · 30 KK" in html
    assert str(flood_dispatch)[:8] not in visible_text(html)


def test_a_picking_list_names_its_dispatch_by_hazard_place_and_households_in_english(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    html = client.get("/ui/picking?lang=en").text
    assert "Flood · Sukarame, Tenggarong · 30 households" in html
    assert "Sign pick list" in html


def test_the_lines_of_a_pick_list_follow_the_bins_in_walk_order_lots_without_a_bin_last(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    html = client.get("/ui/picking").text
    bins = re.findall(r'<td class="bin"[^>]*>([^<]*)</td>', html)
    assert bins == ["A-2", "A-10", "B-1", "belum ada rak"]


def test_the_indonesian_picking_list_shows_no_raw_code_and_no_iso_date(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    text = visible_text(client.get("/ui/picking").text)
    assert "incident" not in text
    assert re.search(r"\d{4}-\d{2}-\d{2}", text) is None
    assert "5 Des 2026" in text  # the A-10 lot's expiry, in the office's words (12 days on)


def test_a_dispatch_whose_report_logistics_never_heard_is_named_by_its_kind_and_day(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    receive(runtime, 10, date(2026, 3, 1))
    allocate(runtime, verified(("RICE-5KG", 4)))
    text = visible_text(client.get("/ui/picking").text)
    assert "Tanggap darurat bencana · direncanakan 23 Nov 2026" in text


def test_a_report_heard_twice_keeps_its_first_place(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    receive(runtime, 10, date(2026, 3, 1))
    incident = verified(("RICE-5KG", 4))
    hear(runtime, reported(incident.case_id))
    hear(runtime, reported(incident.case_id, village="Loa Ipuh"))
    allocate(runtime, incident)
    assert "Sukarame" in client.get("/ui/picking").text


def test_the_pick_list_prints_one_page_per_dispatch_with_signature_lines(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    html = client.get("/ui/picking").text
    assert "@media print" in html and "break-after: page" in html
    assert "Diambil oleh" in html and "Diperiksa oleh" in html
    assert re.search(r'href="/dispatches/[0-9a-f-]{36}/pick-list.pdf"', html)


def test_the_pick_list_pdf_names_the_incident_by_place_and_lists_lines_by_bin(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    (dispatch,) = client.get("/dispatches", params={"case_id": str(flood_dispatch)}).json()
    pdf = client.get(f"/dispatches/{dispatch['id']}/pick-list.pdf")
    assert pdf.status_code == 200
    text = " ".join(pdf_text(pdf.content).split())
    assert "Sukarame, Tenggarong" in text and "30 KK" in text
    assert str(flood_dispatch) not in text
    assert re.findall(r"\b(A-2|A-10|B-1)\b", text) == ["A-2", "A-10", "B-1"]


def released(client: TestClient, case_id: uuid.UUID) -> str:
    """The case's dispatch, signed and released from the picking screen; its id."""
    (dispatch,) = client.get("/dispatches", params={"case_id": str(case_id)}).json()
    for step in ("sign", "release"):
        answer = client.post(f"/ui/picking/{dispatch['id']}/{step}", follow_redirects=False)
        assert answer.status_code == 303, answer.text
    return str(dispatch["id"])


HANDED_TO = {
    "received_by": "Rahmat Hidayat",
    "receiver_organisation": "Tagana Tenggarong 2",
    "place": "Gudang Tenggarong",
    "received_by_nip": "",
    "handed_over_by_nip": "",
}


def test_a_keeper_records_the_handover_of_a_released_dispatch_and_its_bast_opens(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    dispatch_id = released(client, flood_dispatch)
    before = visible_text(client.get("/ui/picking").text)
    assert "belum ada BAST" in before and "Catat serah terima (BAST)" in before

    answer = client.post(f"/ui/picking/{dispatch_id}/handover", data=HANDED_TO)
    assert answer.status_code == 200
    assert "Serah terima dicatat: BAST siap dicetak." in visible_text(answer.text)
    handover = client.get(f"/dispatches/{dispatch_id}/handover").json()
    assert (handover["received_by"], handover["receiver_organisation"], handover["place"]) == (
        "Rahmat Hidayat",
        "Tagana Tenggarong 2",
        "Gudang Tenggarong",
    )
    assert handover["handed_over_by"] == "anonymous"  # the signed-in user; nobody here
    assert f'href="/handovers/{handover["id"]}.pdf"' in answer.text
    bast = client.get(f"/handovers/{handover['id']}.pdf")
    assert "Rahmat Hidayat" in pdf_text(bast.content)
    again = client.post(f"/ui/picking/{dispatch_id}/handover", data=HANDED_TO)
    assert "Serah terima pengiriman ini sudah dicatat." in visible_text(again.text)


def test_a_handover_without_its_receiver_or_with_a_wrong_nip_is_refused_with_what_was_typed(
    client: TestClient, flood_dispatch: uuid.UUID
) -> None:
    dispatch_id = released(client, flood_dispatch)
    nameless = client.post(
        f"/ui/picking/{dispatch_id}/handover?lang=en", data=HANDED_TO | {"received_by": " "}
    )
    assert nameless.status_code == 422
    assert "Write who received the goods and for which organisation." in nameless.text
    assert 'value="Tagana Tenggarong 2"' in nameless.text
    wrong_nip = client.post(
        f"/ui/picking/{dispatch_id}/handover?lang=en", data=HANDED_TO | {"received_by_nip": "1234"}
    )
    assert wrong_nip.status_code == 422
    assert "A NIP is 18 digits" in wrong_nip.text and 'value="1234"' in wrong_nip.text
    missing = client.get(f"/dispatches/{dispatch_id}/handover")
    assert missing.status_code == 404  # nothing was recorded


def test_a_search_finds_an_item_by_name_with_its_stock_by_warehouse_and_its_card(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    receive(runtime, 30, date(2026, 3, 1), expires_on=TODAY + timedelta(days=12))
    receive(runtime, 8, date(2026, 3, 1), warehouse="GDG-SMD")
    html = client.get("/ui/find", params={"q": "rice"}).text
    text = visible_text(html)
    assert "Rice-5Kg" in text and "Gudang Tenggarong" in text and "Gudang Samarinda" in text
    assert "kedaluwarsa dalam 12 hari" in text
    assert "/ui/stock-card?item_code=RICE-5KG&amp;warehouse_code=GDG-TGR" in html


def test_a_search_finds_a_lot_by_the_start_of_its_id_and_by_its_batch_in_english(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    lot = receive(runtime, 30, date(2026, 3, 1), expires_on=TODAY + timedelta(days=1))
    receive(runtime, 5, date(2026, 3, 1), item="FAMILY-KIT")
    by_id = client.get("/ui/find", params={"q": str(lot)[:6].upper(), "lang": "en"}).text
    assert f'data-lot="{lot}"' in by_id and "expires tomorrow" in by_id
    by_batch = client.get("/ui/find", params={"q": "po-2026-001", "lang": "en"}).text
    assert f'data-lot="{lot}"' in by_batch and "Family-Kit" in by_batch


def test_a_search_that_finds_nothing_says_so(client: TestClient) -> None:
    assert "Tidak ada yang cocok dengan “semen”." in client.get("/ui/find?q=semen").text


def test_a_keeper_moves_a_lot_to_another_bin_from_the_search(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    lot = receive(runtime, 30, date(2026, 3, 1))
    answer = client.post(f"/ui/lots/{lot}/bin", data={"bin_location": "C-04", "q": "rice"})
    assert answer.status_code == 200  # followed the redirect
    assert answer.url.path == "/ui/find" and "Rak disimpan." in answer.text
    assert runtime.run(lambda uow: queries.get_lot(uow, lot)).bin_location == "C-04"


def test_a_bin_name_too_long_is_refused_in_words_and_the_lot_stays_where_it_was(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    lot = receive(runtime, 30, date(2026, 3, 1))
    place(runtime, lot, "A-01")
    answer = client.post(f"/ui/lots/{lot}/bin", data={"bin_location": "R" * 41, "q": ""})
    assert answer.url.path == "/ui/find"
    assert "Nama rak paling banyak 40 huruf." in answer.text
    assert runtime.run(lambda uow: queries.get_lot(uow, lot)).bin_location == "A-01"


def test_the_stock_list_pages_with_a_cursor(client: TestClient, runtime: ServiceRuntime) -> None:
    for warehouse in ("GDG-SMD", "GDG-TGR"):
        for item in ("FAMILY-KIT", "RICE-5KG"):
            receive(runtime, 3, date(2026, 3, 1), warehouse=warehouse, item=item)
    first = client.get("/ui/stock?limit=3").text
    rows = re.findall(r'<tr data-warehouse="([^"]+)" data-item="([^"]+)">', first)
    assert rows == [("GDG-SMD", "FAMILY-KIT"), ("GDG-SMD", "RICE-5KG"), ("GDG-TGR", "FAMILY-KIT")]
    (next_link,) = re.findall(r'id="next-page" href="([^"]+)"', first)
    second = client.get(next_link.replace("&amp;", "&")).text
    rows = re.findall(r'<tr data-warehouse="([^"]+)" data-item="([^"]+)">', second)
    assert rows == [("GDG-TGR", "RICE-5KG")]
    assert 'id="next-page"' not in second and 'id="first-page"' in second


def test_the_stock_card_pages_and_keeps_the_running_balance(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    for quantity in (1000, 200, 30):
        receive(runtime, quantity, date(2026, 3, 1))
    first = client.get(
        "/ui/stock-card?item_code=RICE-5KG&warehouse_code=GDG-TGR&limit=2&lang=en"
    ).text
    (next_link,) = re.findall(r'id="next-page" href="([^"]+)"', first)
    assert "limit=2" in next_link and "item_code=RICE-5KG" in next_link
    second = client.get(next_link.replace("&amp;", "&")).text
    balances = re.findall(r'<td class="num">([\d,.]+)</td>\s*</tr>', second)
    assert balances == ["1,230"]
    assert "1.230" in client.get(next_link.replace("&amp;", "&") + "&lang=id").text


def test_the_stock_and_card_pages_link_to_their_excel_workbooks(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    receive(runtime, 1230, date(2026, 3, 1))
    stock = client.get("/ui/stock").text
    assert 'id="stock-xlsx" href="/stock.xlsx"' in stock and "Stok untuk Excel (XLSX)" in stock
    card = client.get("/ui/stock-card?item_code=RICE-5KG&warehouse_code=GDG-TGR").text
    (link,) = re.findall(r'id="card-xlsx" href="([^"]+)"', card)
    assert (
        link
        == "/stock-card.xlsx?item_code=RICE-5KG&amp;warehouse_code=GDG-TGR&amp;as_of=2026-11-23"
    )
    for path in ("/stock.xlsx", link.replace("&amp;", "&")):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.content[:2] == b"PK", path  # a zip: XLSX


def test_the_alerts_page_lots_about_to_expire_a_page_at_a_time(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    for days in (5, 9, 14):
        receive(runtime, 3, date(2026, 3, 1), expires_on=TODAY + timedelta(days=days))
    first = visible_text(client.get("/ui/alerts?limit=2").text)
    assert "kedaluwarsa dalam 5 hari" in first and "kedaluwarsa dalam 9 hari" in first
    assert "dalam 14 hari" not in first
    html = client.get("/ui/alerts?limit=2").text
    (next_link,) = re.findall(r'id="next-page" href="([^"]+)"', html)
    second = visible_text(client.get(next_link.replace("&amp;", "&")).text)
    assert "kedaluwarsa dalam 14 hari" in second and "dalam 5 hari" not in second


@pytest.fixture
def open_order(runtime: ServiceRuntime) -> uuid.UUID:
    """An open purchase order for 50 family kits into GDG-TGR; its id."""

    def work(uow: UnitOfWork) -> uuid.UUID:
        request = procurement.request_by_hand(
            uow,
            PurchaseRequestIn(
                source="buffer_stock",
                lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=50)],
                requested_by="Kabid",
            ),
            settings(runtime),
        )
        order = procurement.place_order(
            uow,
            PurchaseOrderIn(
                request_id=request.id,
                number="PO-088/DINSOS/2026",
                supplier="CV Kutai Sandang",
                warehouse_code="GDG-TGR",
                expected_on=TODAY + timedelta(days=3),
                lines=[ProcurementLineIn(item_code="FAMILY-KIT", quantity=50)],
            ),
            settings(runtime),
        )
        return order.id

    return runtime.run(work)


def receipt_form(**changes: str) -> dict[str, str]:
    form = {
        "item_code": "FAMILY-KIT",
        "delivered": "50",
        "accepted": "45",
        "reject_reason": "",
        "expires_on": "",
        "bin": "B-07",
        "received_on": TODAY.isoformat(),
    }
    return form | changes


def test_a_refused_delivery_is_shown_in_place_in_words_with_what_was_typed(
    client: TestClient, open_order: uuid.UUID
) -> None:
    answer = client.post(f"/ui/receiving/{open_order}", data=receipt_form())
    assert answer.status_code == 422
    text = visible_text(answer.text)
    assert "Barang belum diterima." in text
    assert 'id="delivered-0" value="50"' in answer.text
    assert 'id="accepted-0" value="45"' in answer.text
    assert 'id="bin-0" maxlength="40" value="B-07"' in answer.text


def test_a_refused_delivery_line_is_worded_by_its_code_in_the_pages_language_not_in_english(
    client: TestClient, open_order: uuid.UUID
) -> None:
    in_indonesian = client.post(f"/ui/receiving/{open_order}", data=receipt_form())
    assert "FAMILY-KIT: 5 tidak diterima baik; pilih alasan sisanya." in in_indonesian.text
    assert "give a reason" not in in_indonesian.text  # the rule's English detail
    too_many = receipt_form(delivered="60", accepted="55")
    in_english = client.post(f"/ui/receiving/{open_order}?lang=en", data=too_many)
    assert "FAMILY-KIT: 55 accepted but only 50 still on order; ask the supplier." in (
        in_english.text
    )
    assert 'data-refused="accepted_over_order"' in in_english.text


def test_a_refusal_is_explained_from_its_code_and_facts_whatever_its_english_says() -> None:
    facts = {"item": "RICE-5KG", "rejected": 3}
    assert common.explain("id", "rejection_reason_missing", facts) == (
        "RICE-5KG: 3 tidak diterima baik; pilih alasan sisanya."
    )
    assert common.explain("id", "rejection_reason_missing", None) is None  # no facts
    assert common.explain("en", "order_closed", {}) is None  # its headline says it all


def test_a_received_delivery_goes_to_its_bin_and_the_order_shows_what_came(
    client: TestClient, runtime: ServiceRuntime, open_order: uuid.UUID
) -> None:
    answer = client.post(f"/ui/receiving/{open_order}", data=receipt_form(reject_reason="damaged"))
    assert answer.status_code == 200 and "Barang diterima masuk stok." in answer.text
    assert "45 dari 50 diterima" in answer.text
    (lot,) = runtime.run(
        lambda uow: queries.list_lots(
            uow, item_code="FAMILY-KIT", warehouse_code="GDG-TGR", include_empty=False
        )
    )
    assert (lot.on_hand, lot.bin_location) == (45, "B-07")


def test_a_delivery_form_with_a_word_for_a_number_is_refused_in_place(
    client: TestClient, open_order: uuid.UUID
) -> None:
    answer = client.post(f"/ui/receiving/{open_order}", data=receipt_form(delivered="lima"))
    assert answer.status_code == 422
    assert "Ada kotak yang isinya bukan angka atau tanggal." in answer.text
    assert 'id="delivered-0" value="lima"' in answer.text


def test_a_refused_count_keeps_the_counted_numbers_and_says_why(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    lot = receive(runtime, 30, date(2026, 3, 1))
    answer = client.post(
        "/ui/counts?lang=en",
        data={
            "warehouse_code": "GDG-TGR",
            "lot_id": str(lot),
            "counted": "27",
            "counted_by": "Rina",
            "reason": "x",
        },
    )
    assert answer.status_code == 422
    assert 'value="27"' in answer.text and 'value="Rina"' in answer.text
    assert "Write the reason of the count (at least 3 letters)." in answer.text
    assert "Rule:" not in answer.text  # the rule's English only for a code without words
    assert runtime.run(lambda uow: queries.get_lot(uow, lot)).on_hand == 30


def test_a_count_posts_and_shows_the_sheet_again(
    client: TestClient, runtime: ServiceRuntime
) -> None:
    lot = receive(runtime, 30, date(2026, 3, 1))
    answer = client.post(
        "/ui/counts",
        data={
            "warehouse_code": "GDG-TGR",
            "lot_id": str(lot),
            "counted": "27",
            "counted_by": "Rina",
            "reason": "opname bulanan",
        },
    )
    assert answer.status_code == 200 and "Hasil opname disimpan." in answer.text
    assert runtime.run(lambda uow: queries.get_lot(uow, lot)).on_hand == 27


@pytest.mark.parametrize("path", ["/ui/stock", "/ui/stock-card", "/ui/receiving", "/ui/counts"])
def test_every_warehouse_page_speaks_indonesian_without_an_iso_date(
    client: TestClient, runtime: ServiceRuntime, open_order: uuid.UUID, path: str
) -> None:
    receive(runtime, 30, date(2026, 3, 1), expires_on=TODAY + timedelta(days=12))
    query = "?item_code=RICE-5KG&warehouse_code=GDG-TGR" if path != "/ui/receiving" else ""
    html = client.get(path + query).text
    assert '<html lang="id">' in html
    assert re.search(r"\d{4}-\d{2}-\d{2}", visible_text(html)) is None
