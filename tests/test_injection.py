"""Injection strings in every text field of every service: each JSON request body the
services declare is walked through its OpenAPI schema, and each string in it (nested
objects and arrays too, enums, dates and ids included) is replaced in turn by each
payload of `tests.support.injection.PAYLOADS`. Every answer must be a 2xx that stores the
text verbatim as data, or a 4xx in the shared error shape that changed no row; never a
5xx. String query parameters of the list endpoints get the same payloads, and the screens
that show stored text must show a stored `<script>` escaped.

Each service's app runs without its lifespan (no broker: events wait in the outbox), on
SQLite and on PostgreSQL (`TEST_POSTGRES_URL`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from services.distribution import deliveries
from services.distribution.app import create_app as create_distribution
from services.intake.app import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.logistics import allocation as logistics_allocation
from services.logistics.app import create_app as create_logistics
from services.logistics.settings import LogisticsSettings
from services.notify import alerting as notify_alerting
from services.notify import case_clocks as notify_case_clocks
from services.notify.app import create_app as create_notify
from services.notify.models import AlertRow
from services.notify.settings import NotifySettings
from shared.auth import AuthSettings, Role
from shared.clock import office_today
from shared.contracts.envelope import Address, GeoPoint, NeedLine
from shared.contracts.intake import IncidentVerified
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.distribution.programs_support import HUB, make_settings, person, signature
from tests.distribution.test_api import AT_THE_POSKO, released
from tests.notify.test_cases import reported as notify_reported
from tests.support.case_records import DISPOSITION, record_disposition
from tests.support.injection import (
    ESCAPED_SCRIPT,
    PAYLOADS,
    SCRIPT,
    Prepare,
    Prober,
    Report,
    code_of,
    screen_shows_escaped,
    unique_suffix,
)
from tests.support.signed import signed_in_as

Body = dict[str, Any]


def common(tmp_path: Path) -> CommonSettings:
    return CommonSettings(environment="test", data_dir=tmp_path)


NO_SIGN_IN = AuthSettings(required=False)


@dataclass
class Service:
    """One service's app, its client, and how to make valid requests for it."""

    app: FastAPI
    client: TestClient
    preparers: dict[str, list[Prepare]]
    query_defaults: dict[str, dict[str, str]]
    skip_queries: set[str]
    screens: Callable[[Service, Report], None] | None = None

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime


def started(app: FastAPI) -> TestClient:
    """The app with its tables, without its lifespan: no broker, events stay in the outbox.
    Server errors come back as 500 answers so that the walk can name every one."""
    app.state.runtime.create_tables()
    return TestClient(app, raise_server_exceptions=False)


def created(response: Any) -> Body:
    assert 200 <= response.status_code < 300, response.text
    body: Body = response.json()
    return body


# --- intake -----------------------------------------------------------------------------

INTAKE_ADDRESS = {
    "street": "Jl. Mulawarman RT 05",
    "village": "Sukarame",
    "district": "Tenggarong",
    "regency": "Kutai Kartanegara",
    "province": "Kalimantan Timur",
    "postal_code": "75511",
}
NIK_TENGGARONG = "6402065507850003"


def intake_service(database_url: str, tmp_path: Path) -> Service:
    settings = IntakeSettings(
        database_url=database_url,
        common=common(tmp_path),
        auth=NO_SIGN_IN,
        photo_dir=tmp_path / "photos",
        # Each valid report must open its own incident, not be linked to the last one.
        duplicate_radius_m=0,
    )
    app = create_intake(settings)
    client = started(app)
    serial = unique_suffix()

    def reporter(n: int) -> Body:
        return {
            "name": f"Tim Tagana {n}",
            "role": "tagana",
            "phone": "+62812345678",
            "nik": NIK_TENGGARONG,
        }

    def report() -> tuple[str, Body]:
        n = next(serial)
        return "/reports", {
            "client_report_id": f"phone-{uuid.uuid4().hex}",
            "office_id": "kukar",
            "reporter": reporter(n),
            "hazard": "flood",
            "happened_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "location": {"lat": -0.4230, "lon": 116.9860},
            "address": {**INTAKE_ADDRESS, "street": f"Jl. Mulawarman RT {n}"},
            "households_affected": 30,
            "people_affected": 110,
            "stated_needs": [{"item_code": "RICE-5KG", "quantity": 70}],
            "description": f"Banjir setinggi 1 m, laporan {n}",
        }

    def incident() -> str:
        url, body = report()
        return str(created(client.post(url, json=body))["id"])

    def follow_up() -> tuple[str, Body]:
        n = next(serial)
        return f"/incidents/{incident()}/updates", {
            "client_update_id": f"update-{uuid.uuid4().hex}",
            "reporter": reporter(n),
            "households_affected": 35,
            "people_affected": 120,
            "added_needs": [{"item_code": "FAMILY-KIT", "quantity": 5}],
            "note": f"Air naik lagi {n}",
        }

    def verification() -> tuple[str, Body]:
        # Kukar verifies after the leadership's disposition (000).
        decided = incident()
        record_disposition(client, decided)
        return f"/incidents/{decided}/verification", {
            "verified_by": f"Kabid Linjamsos {next(serial)}",
            "assessed_needs": [{"item_code": "RICE-5KG", "quantity": 70}],
            "location": {"lat": -0.4231, "lon": 116.9861},
        }

    def disposition() -> tuple[str, Body]:
        return f"/incidents/{incident()}/dispositions", DISPOSITION | {
            "instruction": f"Kabid Linjamsos: validasi {next(serial)}"
        }

    def rapid_assessment() -> tuple[str, Body]:
        return f"/incidents/{incident()}/assessments", {
            "client_assessment_id": str(uuid.uuid4()),
            "team": f"Tagana Tenggarong {next(serial)}",
            "assessed_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
            "damage": {
                "houses_heavy": 3,
                "public_facilities": 1,
                "public_facilities_note": "SDN 2",
            },
            "affected": {"people": 120, "households": 35, "displaced": 40},
            "shelters": [{"name": "Balai Desa", "capacity": 60, "location": "RT 03"}],
            "resources_on_site": "Dapur umum",
            "site_conditions": "Jalan tergenang",
            "needs": [{"item_code": "RICE-5KG", "quantity": 24}],
        }

    def emergency_status() -> tuple[str, Body]:
        return f"/incidents/{incident()}/emergency-statuses", {
            "phase": "response",
            "level": "regency",
            "declared_by": f"Bupati Kutai Kartanegara {next(serial)}",
            "decree_number": "188.45/212/KUM/2026",
            "starts_on": "2026-11-29",
            "ends_on": "2026-12-12",
        }

    def rejection() -> tuple[str, Body]:
        n = next(serial)
        return f"/incidents/{incident()}/rejection", {
            "rejected_by": f"Kabid Linjamsos {n}",
            "reason": f"Laporan ganda {n}",
        }

    def complaint() -> tuple[str, Body]:
        n = next(serial)
        return "/complaints", {
            "channel": "whatsapp",
            "received_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
            "complainant": {"name": f"Siti Aminah {n}", "contact": "081234567890"},
            "about_incident_id": incident(),
            "about_reference": f"PMK-2026-R{n}",
            "text": f"Paket belum sampai, pengaduan {n}",
        }

    def recorded() -> dict[str, Any]:
        url, body = complaint()
        return created(client.post(url, json=body))

    def note() -> tuple[str, Body]:
        return f"/complaints/{recorded()['id']}/notes", {"text": f"Cek kurir {next(serial)}"}

    def answer() -> tuple[str, Body]:
        return f"/complaints/{recorded()['id']}/answer", {"text": f"Diantar {next(serial)}"}

    def lookup() -> tuple[str, Body]:
        return "/complaints/lookup", {"code": recorded()["lookup_code"]}

    def affected_family() -> tuple[str, Body]:
        n = next(serial)
        # A KK of Tenggarong (64.02.06) with a serial of its own: one per listing.
        return f"/incidents/{incident()}/families", {
            "head_name": f"Rusdi bin Hasan {n}",
            "kk": f"640206120315{n % 10000:04d}",
            "head_nik": NIK_TENGGARONG,
            "members": 4,
            "address": f"RT {n}",
            "shelter": "own_home",
        }

    def family() -> str:
        url, body = affected_family()
        return str(created(client.post(url, json=body))["id"])

    def family_correction() -> tuple[str, Body]:
        return f"/families/{family()}", {"members": 5, "address": f"RT {next(serial)}"}

    def aid_application() -> tuple[str, Body]:
        return "/aid-applications", {"family_id": family(), "kind": "disaster_aid_proposal"}

    def filed() -> str:
        url, body = aid_application()
        return str(created(client.post(url, json=body))["id"])

    def documents_complete() -> tuple[str, Body]:
        return f"/aid-applications/{filed()}/documents-complete", {}

    def settlement() -> tuple[str, Body]:
        filed_id = filed()
        created(client.post(f"/aid-applications/{filed_id}/documents-complete", json={}))
        return f"/aid-applications/{filed_id}/settlement", {
            "outcome": "proposed",
            "decided_by": f"Kabid Linjamsos {next(serial)}",
        }

    def withdrawal() -> tuple[str, Body]:
        return f"/aid-applications/{filed()}/withdrawal", {
            "reason": f"Ditarik pemohon {next(serial)}"
        }

    return Service(
        app=app,
        client=client,
        preparers={
            "POST /complaints": [complaint],
            "POST /complaints/{complaint_id}/notes": [note],
            "POST /complaints/{complaint_id}/answer": [answer],
            "POST /complaints/lookup": [lookup],
            "POST /reports": [report],
            "POST /incidents/{incident_id}/updates": [follow_up],
            "POST /incidents/{incident_id}/verification": [verification],
            "POST /incidents/{incident_id}/rejection": [rejection],
            "POST /incidents/{incident_id}/dispositions": [disposition],
            "POST /incidents/{incident_id}/emergency-statuses": [emergency_status],
            "POST /incidents/{incident_id}/assessments": [rapid_assessment],
            "POST /incidents/{incident_id}/families": [affected_family],
            "PATCH /families/{family_id}": [family_correction],
            "POST /aid-applications": [aid_application],
            "POST /aid-applications/{application_id}/documents-complete": [documents_complete],
            "POST /aid-applications/{application_id}/settlement": [settlement],
            "POST /aid-applications/{application_id}/withdrawal": [withdrawal],
        },
        query_defaults={},
        skip_queries=set(),
    )


# --- logistics --------------------------------------------------------------------------

SITE = {"lat": -0.4100, "lon": 116.9900}


def logistics_service(database_url: str, tmp_path: Path) -> Service:
    settings = LogisticsSettings(
        database_url=database_url, common=common(tmp_path), auth=NO_SIGN_IN
    )
    app = create_logistics(settings)
    client = started(app)
    runtime: ServiceRuntime = app.state.runtime
    serial = unique_suffix()
    today = datetime.now(ZoneInfo(settings.office_timezone)).date()
    for code, name, lat, lon in (
        ("GDG-TGR", "Gudang Tenggarong", -0.42, 116.98),
        ("GDG-SMD", "Gudang Samarinda", -0.50, 117.15),
    ):
        created(
            client.post(
                "/warehouses",
                json={"code": code, "name": name, "location": {"lat": lat, "lon": lon}},
            )
        )
    created(client.post("/items", json={"code": "RICE-5KG", "name": "Beras 5 kg", "unit": "sak"}))

    def lot_body(n: int, quantity: int = 500) -> Body:
        return {
            "item_code": "RICE-5KG",
            "warehouse_code": "GDG-TGR",
            "quantity": quantity,
            "received_on": today.isoformat(),
            "expires_on": (today + timedelta(days=400)).isoformat(),
            "source": f"PO-2026-{n}",
            "received_by": f"Pak Gudang {n}",
            "bin_location": f"RAK-{n}",
        }

    def lot() -> str:
        return str(created(client.post("/lots", json=lot_body(next(serial))))["id"])

    def dispatch(*, released: bool = False) -> str:
        """A planned dispatch, as logistics plans one for a verified incident."""
        lot()
        now = datetime.now(UTC)
        event = IncidentVerified.first(
            office_id="kukar",
            case_id=uuid.uuid4(),
            producer="intake",
            occurred_at=now,
            reported_at=now - timedelta(minutes=5),
            destination=GeoPoint(**SITE),
            verified_by="Kabid",
            assessed_needs=(NeedLine(item_code="RICE-5KG", quantity=2),),
        )
        runtime.run(lambda uow: logistics_allocation.allocate_for_incident(uow, event, settings))
        (planned,) = client.get("/dispatches", params={"case_id": str(event.case_id)}).json()
        dispatch_id = str(planned["id"])
        if released:
            url = f"/dispatches/{dispatch_id}/release"
            created(client.post(url, json={"released_by": "Rina"}))
        return dispatch_id

    def purchase_request() -> str:
        body = {
            "source": "shortage",
            "lines": [{"item_code": "RICE-5KG", "quantity": 1000}],
            "requested_by": "Kabid",
        }
        return str(created(client.post("/purchase-requests", json=body))["id"])

    def order_body(n: int) -> Body:
        return {
            "request_id": purchase_request(),
            "number": f"PO-{n}/2026",
            "supplier": f"CV Beras Kaltim {n}",
            "warehouse_code": "GDG-TGR",
            "expected_on": today.isoformat(),
            "lines": [{"item_code": "RICE-5KG", "quantity": 1000}],
        }

    def warehouse() -> tuple[str, Body]:
        n = next(serial)
        return "/warehouses", {
            "code": code_of(n, "GDG"),
            "name": f"Gudang {n}",
            "location": {"lat": -0.43, "lon": 116.97},
            "office_id": "kukar",
        }

    def item() -> tuple[str, Body]:
        n = next(serial)
        return "/items", {
            "code": code_of(n, "KIT"),
            "name": f"Paket {n}",
            "unit": f"paket {n}",
            "near_expiry_days": 30,
        }

    def item_update() -> tuple[str, Body]:
        return "/items/RICE-5KG", {"near_expiry_days": 45}

    def placement() -> tuple[str, Body]:
        return f"/lots/{lot()}", {"bin_location": f"RAK-B{next(serial)}"}

    def receipt() -> tuple[str, Body]:
        return "/lots", lot_body(next(serial))

    def adjustment() -> tuple[str, Body]:
        n = next(serial)
        return f"/lots/{lot()}/adjustments", {
            "delta": -1,
            "reason": f"sak sobek {n}",
            "approved_by": f"Kabid {n}",
            "effective_on": today.isoformat(),
            "reference": f"BA-{n}",
        }

    def quarantine() -> tuple[str, Body]:
        n = next(serial)
        return f"/lots/{lot()}/quarantine", {
            "quantity": 1,
            "reason": "damaged",
            "note": f"basah {n}",
            "actor": f"Pak Gudang {n}",
        }

    def reversal() -> tuple[str, Body]:
        n = next(serial)
        lot_id = lot()
        (movement,) = client.get("/movements", params={"lot_id": lot_id}).json()
        return f"/movements/{movement['id']}/reverse", {
            "reason": f"salah catat {n}",
            "reversed_by": f"Kabid {n}",
            "effective_on": today.isoformat(),
        }

    def transfer() -> tuple[str, Body]:
        lot()
        return "/transfers", {
            "from_warehouse": "GDG-TGR",
            "to_warehouse": "GDG-SMD",
            "item_code": "RICE-5KG",
            "quantity": 1,
            "moved_by": f"Pak Budi {next(serial)}",
        }

    def count() -> tuple[str, Body]:
        n = next(serial)
        return "/counts", {
            "warehouse_code": "GDG-TGR",
            "counted_on": today.isoformat(),
            "counted_by": f"Pak Budi {n}",
            "approved_by": f"Kabid {n}",
            "reason": f"opname bulanan {n}",
            "lines": [{"lot_id": lot(), "counted": 499}],
        }

    def release() -> tuple[str, Body]:
        return f"/dispatches/{dispatch()}/release", {"released_by": f"Rina {next(serial)}"}

    def cancel() -> tuple[str, Body]:
        return f"/dispatches/{dispatch()}/cancel", {"cancelled_by": f"Rina {next(serial)}"}

    def sign() -> tuple[str, Body]:
        return f"/dispatches/{dispatch()}/pick-list/sign", {"picked_by": f"Budi {next(serial)}"}

    def handover() -> tuple[str, Body]:
        n = next(serial)
        return f"/dispatches/{dispatch(released=True)}/handover", {
            "handed_over_by": f"Rina {n}",
            "received_by": f"Pak Camat {n}",
            "receiver_organisation": f"Posko Tenggarong {n}",
        }

    def new_request() -> tuple[str, Body]:
        return "/purchase-requests", {
            "source": "shortage",
            "source_case_id": str(uuid.uuid4()),
            "lines": [{"item_code": "RICE-5KG", "quantity": 10}],
            "needed_by": (today + timedelta(days=7)).isoformat(),
            "requested_by": f"Kabid {next(serial)}",
        }

    def new_order() -> tuple[str, Body]:
        return "/purchase-orders", order_body(next(serial))

    def goods_receipt() -> tuple[str, Body]:
        n = next(serial)
        order = created(client.post("/purchase-orders", json=order_body(n)))
        return f"/purchase-orders/{order['id']}/receipts", {
            "received_on": today.isoformat(),
            "received_by": f"Pak Budi {n}",
            "lines": [
                {
                    "item_code": "RICE-5KG",
                    "delivered": 2,
                    "accepted": 1,
                    "expires_on": (today + timedelta(days=400)).isoformat(),
                    "reject_reason": "damaged",
                    "bin_location": f"RAK-C{n}",
                }
            ],
        }

    def minimum_level() -> tuple[str, Body]:
        return "/minimum-levels", {
            "item_code": "RICE-5KG",
            "warehouse_code": "GDG-TGR",
            "households": 100,
            "per_household_per_day": 1,
            "days": 3,
            "basis": f"SK Kadis {next(serial)}",
        }

    return Service(
        app=app,
        client=client,
        preparers={
            "POST /warehouses": [warehouse],
            "POST /items": [item],
            "PATCH /items/{item_code}": [item_update],
            "PATCH /lots/{lot_id}": [placement],
            "POST /lots": [receipt],
            "POST /lots/{lot_id}/adjustments": [adjustment],
            "POST /lots/{lot_id}/quarantine": [quarantine],
            "POST /movements/{movement_id}/reverse": [reversal],
            "POST /transfers": [transfer],
            "POST /counts": [count],
            "POST /dispatches/{dispatch_id}/release": [release],
            "POST /dispatches/{dispatch_id}/cancel": [cancel],
            "POST /dispatches/{dispatch_id}/pick-list/sign": [sign],
            "POST /dispatches/{dispatch_id}/handover": [handover],
            "POST /purchase-requests": [new_request],
            "POST /purchase-orders": [new_order],
            "POST /purchase-orders/{order_id}/receipts": [goods_receipt],
            "PUT /minimum-levels": [minimum_level],
        },
        query_defaults={
            "/stock-card": {"item_code": "RICE-5KG", "warehouse_code": "GDG-TGR"},
        },
        skip_queries=set(),
        screens=lambda service, report: logistics_screens(service, report, dispatch),
    )


def logistics_screens(service: Service, report: Report, dispatch: Callable[[], str]) -> None:
    """Item, warehouse, supplier and picker names as the warehouse screens show them."""
    client = service.client
    today = datetime.now(ZoneInfo("Asia/Makassar")).date()
    signed = f"/dispatches/{dispatch()}/pick-list/sign"
    # The signer is the signed-in user: a hostile display name (from the users file or an
    # identity provider) is what reaches the screen now, not a typed one.
    hostile_user = signed_in_as(service.runtime.settings.auth, SCRIPT, "xss-user", Role.WAREHOUSE)
    created(client.post(signed, json={}, headers=hostile_user))
    created(client.post("/items", json={"code": "XSS-1", "name": SCRIPT, "unit": SCRIPT}))
    created(
        client.post(
            "/warehouses",
            json={"code": "GDG-XSS", "name": SCRIPT, "location": {"lat": -0.44, "lon": 116.9}},
        )
    )
    lot = {
        "item_code": "XSS-1",
        "warehouse_code": "GDG-XSS",
        "quantity": 5,
        "received_on": today.isoformat(),
        "source": SCRIPT,
        "received_by": SCRIPT,
        "bin_location": "RAK-1",
    }
    created(client.post("/lots", json=lot))
    request_body = {
        "source": "shortage",
        "lines": [{"item_code": "XSS-1", "quantity": 5}],
        "requested_by": SCRIPT,
    }
    request_id = created(client.post("/purchase-requests", json=request_body))["id"]
    order = {
        "request_id": request_id,
        "number": "PO-XSS/2026",
        "supplier": SCRIPT,
        "warehouse_code": "GDG-XSS",
        "expected_on": today.isoformat(),
        "lines": [{"item_code": "XSS-1", "quantity": 5}],
    }
    created(client.post("/purchase-orders", json=order))
    screens = {
        "/ui/picking": {},
        "/ui/stock-card": {"item_code": "XSS-1", "warehouse_code": "GDG-XSS"},
        "/ui/receiving": {},
        "/ui/counts": {"warehouse_code": "GDG-XSS"},
        "/ui/find": {"q": "XSS"},
        "/ui/stock": {},
    }
    for path, params in screens.items():
        page = client.get(path, params=params)
        if page.status_code != 200:
            report.fail(f"GET {path}: {page.status_code}")
            continue
        screen_shows_escaped(page.text, f"GET {path}", report)


# --- distribution -----------------------------------------------------------------------


def distribution_service(database_url: str, tmp_path: Path) -> Service:
    app = create_distribution(make_settings(database_url))
    client = started(app)
    runtime: ServiceRuntime = app.state.runtime
    serial = unique_suffix()
    today = office_today()

    def person_body(n: int) -> Body:
        body: Body = person(1000 + n).model_dump(mode="json")
        body["name"] = f"Penerima {n}"
        # A person may also have a contact and an institution type: every field is sent.
        body["institution_type"] = f"rumah {n}"
        body["contact_person"] = f"Anak {n}"
        return body

    def recipient() -> str:
        return str(created(client.post("/recipients", json=person_body(next(serial))))["id"])

    def institution() -> str:
        n = next(serial)
        body = {
            "kind": "institution",
            "name": f"Panti Asuhan {n}",
            "institution_type": "panti asuhan",
            "contact_person": f"Ibu Kepala {n}",
            "phone": "0541661234",
            "address": {"district": "Tenggarong", "village": "Melayu"},
            "position": {"lat": -0.4301, "lon": 116.9822},
            "verified": True,
        }
        return str(created(client.post("/recipients", json=body))["id"])

    def program() -> str:
        body = {
            "name": f"Permakanan {next(serial)}",
            "start_date": today.isoformat(),
            "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
            "hub": HUB.model_dump(),
        }
        return str(created(client.post("/permakanan/programs", json=body))["id"])

    def delivery(*steps: str) -> str:
        """An incident delivery opened from a released dispatch, walked through `steps`."""
        event = released(uuid.uuid4())
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, event))
        params = {"case_id": str(event.case_id)}
        (opened,) = client.get("/deliveries", params=params).json()
        bodies: dict[str, Body | None] = {
            "assignment": {"team": "Tagana Tenggarong 2"},
            "departure": None,
            "arrival": {"position": AT_THE_POSKO},
            "failure": {"reason": "jalan putus"},
        }
        for step in steps:
            created(client.post(f"/deliveries/{opened['id']}/{step}", json=bodies[step]))
        return str(opened["id"])

    def registration() -> tuple[str, Body]:
        return "/recipients", person_body(next(serial))

    def correction() -> tuple[str, Body]:
        n = next(serial)
        return f"/recipients/{recipient()}", {
            "name": f"Penerima Baru {n}",
            "nik": person(5000 + n).nik,
            "kk": f"640206{5000 + n:010d}",
            "phone": "081234567890",
            "address": {
                "street": f"Jl. Baru {n}",
                "district": "Tenggarong",
                "village": "Sukarame",
                "postal_code": "75511",
            },
            "position": {"lat": -0.421, "lon": 116.985},
            "reason": f"salah tulis {n}",
        }

    def new_program() -> tuple[str, Body]:
        return "/permakanan/programs", {
            "name": f"Permakanan {next(serial)}",
            "start_date": today.isoformat(),
            "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
            "hub": HUB.model_dump(),
        }

    def enrolment() -> tuple[str, Body]:
        return f"/permakanan/programs/{program()}/enrolments", {
            "recipient_id": recipient(),
            "as_candidate": False,
        }

    def standing() -> tuple[str, Body]:
        return f"/recipients/{recipient()}/eligibility", {
            "social_register": "dtsen",
            "social_register_id": f"DTSEN-{next(serial)}",
            "birth_date": "1950-01-01",
            "disability": True,
        }

    def decision() -> tuple[str, Body]:
        n = next(serial)
        return f"/permakanan/programs/{program()}/decisions", {
            "number": f"B-{n}/DINSOS/LJS/{today.year}",
            "decided_on": today.isoformat(),
            "decided_by": f"Kepala Dinas Sosial {n}",
            "recipient_ids": [recipient()],
        }

    def replacement() -> tuple[str, Body]:
        program_id = program()
        enrolments = f"/permakanan/programs/{program_id}/enrolments"
        leaving = recipient()
        created(client.post(enrolments, json={"recipient_id": leaving}))
        candidate = {"recipient_id": recipient(), "as_candidate": True}
        created(client.post(enrolments, json=candidate))
        return f"/permakanan/programs/{program_id}/replacements", {
            "recipient_id": leaving,
            "reason": f"pindah ke Samarinda {next(serial)}",
        }

    def sandang() -> tuple[str, Body]:
        return "/sandang/requests", {
            "institution_id": institution(),
            "lines": [{"item_code": "SARUNG", "quantity": 20}],
            "needed_by": (today + timedelta(days=30)).isoformat(),
            "budget_year": today.year + 1,
        }

    def procurement() -> tuple[str, Body]:
        path, body = sandang()
        request = created(client.post(path, json=body))
        return f"/sandang/requests/{request['id']}/procurement", {"started_by": "Kabid"}

    def round_opening() -> tuple[str, Body]:
        """Round 2 of a program started today: outside its window, so the override is
        kept."""
        program_id = program()
        enrolments = f"/permakanan/programs/{program_id}/enrolments"
        created(client.post(enrolments, json={"recipient_id": recipient()}))
        rounds = client.get(f"/permakanan/programs/{program_id}").json()["rounds"]
        created(client.post(f"/permakanan/rounds/{rounds[0]['id']}/opening"))
        override = {"by": "Kepala Dinas", "reason": f"anggaran cair {next(serial)}"}
        return f"/permakanan/rounds/{rounds[1]['id']}/opening", {"override": override}

    def assignment() -> tuple[str, Body]:
        return f"/deliveries/{delivery()}/assignment", {"team": f"Tim {next(serial)}"}

    def arrival() -> tuple[str, Body]:
        return f"/deliveries/{delivery('assignment', 'departure')}/arrival", {
            "position": AT_THE_POSKO
        }

    def completion() -> tuple[str, Body]:
        n = next(serial)
        url = f"/deliveries/{delivery('assignment', 'departure', 'arrival')}/completion"
        return url, {
            "received_by": f"Kepala Desa {n}",
            "relation": f"kepala desa {n}",
            "position": AT_THE_POSKO,
            "signature_png_base64": signature(),
        }

    def failure() -> tuple[str, Body]:
        return f"/deliveries/{delivery('assignment', 'departure')}/failure", {
            "reason_code": "refused",
            "reason": f"ditolak warga {next(serial)}",
        }

    def goods_return() -> tuple[str, Body]:
        steps = ("assignment", "departure", "failure")
        return f"/deliveries/{delivery(*steps)}/return", {"condition": "good"}

    def run() -> tuple[str, Body]:
        n = next(serial)
        return "/runs", {
            "team": f"Tim {n}",
            "vehicle": f"KT {n} AB",
            "run_date": today.isoformat(),
            "start": HUB.model_dump(),
            "delivery_ids": [delivery()],
        }

    def screens(service: Service, report: Report) -> None:
        """A run's team and vehicle as the field team's screen shows them."""
        body = {
            "team": SCRIPT,
            "vehicle": SCRIPT,
            "run_date": today.isoformat(),
            "start": HUB.model_dump(),
            "delivery_ids": [delivery()],
        }
        created(service.client.post("/runs", json=body))
        for params in ({"team": SCRIPT}, {}):
            page = service.client.get("/field", params=params)
            screen_shows_escaped(page.text, f"GET /field {params}", report)

    return Service(
        app=app,
        client=client,
        preparers={
            "POST /recipients": [registration],
            "PATCH /recipients/{recipient_id}": [correction],
            "POST /permakanan/programs": [new_program],
            "POST /permakanan/programs/{program_id}/enrolments": [enrolment],
            "POST /permakanan/programs/{program_id}/replacements": [replacement],
            "PUT /recipients/{recipient_id}/eligibility": [standing],
            "POST /permakanan/programs/{program_id}/decisions": [decision],
            "POST /sandang/requests": [sandang],
            "POST /sandang/requests/{request_id}/procurement": [procurement],
            "POST /permakanan/rounds/{round_id}/opening": [round_opening],
            "POST /deliveries/{delivery_id}/assignment": [assignment],
            "POST /deliveries/{delivery_id}/arrival": [arrival],
            "POST /deliveries/{delivery_id}/completion": [completion],
            "POST /deliveries/{delivery_id}/failure": [failure],
            "POST /deliveries/{delivery_id}/return": [goods_return],
            "POST /runs": [run],
        },
        query_defaults={"/runs": {"on": today.isoformat()}},
        skip_queries=set(),
        screens=screens,
    )


# --- notify -----------------------------------------------------------------------------


def notify_service(database_url: str, tmp_path: Path) -> Service:
    settings = NotifySettings(database_url=database_url, common=common(tmp_path), auth=NO_SIGN_IN)
    app = create_notify(settings)
    client = started(app)
    runtime: ServiceRuntime = app.state.runtime
    standards = app.state.standards

    def alert() -> str:
        """A warning on an incident reported 20 hours ago (looked up by its case: the
        /alerts page holds the newest 100, and each tick raises more on older cases)."""
        case_id = uuid.uuid4()
        event = notify_reported(case_id, datetime.now(UTC) - timedelta(hours=20))
        # Straight to the use case: the inbox's at-most-once is not what this test is about.
        runtime.run(lambda uow: notify_case_clocks.apply_event(uow, event, standards))
        runtime.run(lambda uow: notify_alerting.tick(uow, standards))
        query = select(AlertRow.id).where(AlertRow.case_id == case_id).limit(1)
        return str(runtime.run(lambda uow: uow.session.exec(query).one()))

    def webhook() -> tuple[str, Body]:
        return "/subscriptions", {
            "channel": "webhook",
            "url": "https://posko.example.org/hook",
            "role": "kabid_linjamsos",
            "office_id": "kukar",
            "event_types": ["ResponseDeadlineAtRisk"],
        }

    def email() -> tuple[str, Body]:
        return "/subscriptions", {
            "channel": "email",
            "email": "kabid@dinsos.example.go.id",
            "office_id": "kukar",
            "event_types": ["ResponseDeadlineBreached"],
        }

    def acknowledgement() -> tuple[str, Body]:
        return f"/alerts/{alert()}/ack", {"by": f"Kabid Linjamsos {uuid.uuid4().hex[:6]}"}

    def screens(service: Service, report: Report) -> None:
        """Text that reached notify in an event (a village as a report named it, an
        institution's name) as the dashboard and the case's timeline show it; what notify
        itself takes over HTTP (subscriptions, who acknowledged) is on no screen."""
        case_id = uuid.uuid4()
        event = notify_reported(case_id, datetime.now(UTC) - timedelta(hours=20), SCRIPT)
        event = event.model_copy(update={"address": Address(district=SCRIPT, village=SCRIPT)})
        # Straight to the use case: the inbox's at-most-once is not what this test is about.
        runtime.run(lambda uow: notify_case_clocks.apply_event(uow, event, standards))
        runtime.run(lambda uow: notify_alerting.tick(uow, standards))
        for path in ("/", f"/cases/{case_id}"):
            page = service.client.get(path)
            if page.status_code != 200:
                report.fail(f"GET {path}: {page.status_code}")
                continue
            screen_shows_escaped(page.text, f"GET {path}", report)

    return Service(
        app=app,
        client=client,
        preparers={
            "POST /subscriptions": [webhook, email],
            "POST /alerts/{alert_id}/ack": [acknowledgement],
        },
        query_defaults={},
        # A live feed never ends; its filters are those of /alerts, walked there.
        skip_queries={"/feed"},
        screens=screens,
    )


# --- the walk ---------------------------------------------------------------------------

SERVICES: dict[str, Callable[[str, Path], Service]] = {
    "intake": intake_service,
    "logistics": logistics_service,
    "distribution": distribution_service,
    "notify": notify_service,
}


@pytest.mark.parametrize("service_name", sorted(SERVICES))
def test_injection_strings_are_stored_as_data_or_refused_clearly(
    service_name: str, database_url: str, tmp_path: Path
) -> None:
    service = SERVICES[service_name](database_url, tmp_path)
    report = Report()
    prober = Prober(service.app, service.client, report)
    try:
        prober.probe_bodies(service.preparers)
        prober.probe_queries(service.query_defaults, service.skip_queries)
        if service.screens is not None:
            service.screens(service, report)
    finally:
        service.runtime.engine.dispose()
    probed = sum(report.fields.values())
    assert probed > 0 and report.attempts >= probed * len(PAYLOADS)
    assert report.failures == [], (
        f"{service_name}: {len(report.failures)} problems in {report.attempts} attempts:\n"
        + "\n".join(report.failures[:80])
    )


def test_the_payloads_include_what_the_issue_names() -> None:
    assert SCRIPT in PAYLOADS.values() and "a\u0000b" in PAYLOADS.values()
    assert ESCAPED_SCRIPT.startswith("&lt;script&gt;")
