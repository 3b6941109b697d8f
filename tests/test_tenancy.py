"""Offices are tenants, on every route of every service: a user of office B calling any
route with an id of office A's record (in the path, a query or the body) gets 404 (403
for a role that may not call the route, 422 `unknown_*` for an id in a body), never A's
data, and no row changes. The routes come from each app (`tests/support/tenancy.py`), so a
new route is walked as soon as it exists, and one taking an id the registry below cannot
make a record for fails the walk until a maker is added.

Each service's app runs with sign-in required, without its lifespan (no broker: events
wait in the outbox), on SQLite and on PostgreSQL. Records only events create are made by
calling the service's handlers, as its consumer would.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlmodel import select

from services.distribution import deliveries
from services.distribution.app import create_app as create_distribution
from services.intake.app import create_app as create_intake
from services.intake.models import IncidentRow
from services.intake.settings import IntakeSettings
from services.logistics import allocation as logistics_allocation
from services.logistics.app import create_app as create_logistics
from services.logistics.settings import LogisticsSettings
from services.notify import alerting as notify_alerting
from services.notify import case_clocks as notify_case_clocks
from services.notify.app import create_app as create_notify
from services.notify.models import AlertRow
from services.notify.settings import NotifySettings
from shared.auth import Access, AuthSettings, Role
from shared.clock import office_today
from shared.contracts.envelope import CaseType, GeoPoint, NeedLine
from shared.contracts.intake import IncidentVerified
from shared.errors import NotFound
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.distribution.programs_support import (
    HUB,
    make_settings,
    person,
    png_bytes,
    release_for,
    signature,
)
from tests.distribution.programs_support import institution as institution_body
from tests.distribution.test_api import AT_THE_POSKO, released
from tests.notify.test_cases import reported as notify_reported
from tests.support.access import SECRET, token_for
from tests.support.case_records import DISPOSITION, LETTER_PDF
from tests.support.tenancy import (
    OFFICE_A,
    OFFICE_B,
    Registry,
    TenancyWalker,
    failures_text,
)

Body = dict[str, Any]
SIGNED_IN = AuthSettings(required=True, secret=SECRET)


def common(tmp_path: Path) -> CommonSettings:
    return CommonSettings(environment="test", data_dir=tmp_path)


class Office:
    """Calls a service as a user of one office holding every role."""

    def __init__(self, client: TestClient, office: str) -> None:
        self.client = client
        self.office = office
        self.headers = {"Authorization": f"Bearer {token_for(SIGNED_IN, *Role, office=office)}"}

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, headers=self.headers, **kwargs)
        assert 200 <= response.status_code < 300, f"{method} {url}: {response.text}"
        return response.json() if response.content else None


def started(app: FastAPI) -> TestClient:
    app.state.runtime.create_tables()
    return TestClient(app, raise_server_exceptions=False)


# --- intake ---------------------------------------------------------------------------


def intake(database_url: str, tmp_path: Path) -> tuple[FastAPI, Registry]:
    settings = IntakeSettings(
        database_url=database_url,
        common=common(tmp_path),
        auth=SIGNED_IN,
        photo_dir=tmp_path / "photos",
        document_dir=tmp_path / "documents",
        duplicate_radius_m=0,  # each report opens its own incident
    )
    app = create_intake(settings)
    client = started(app)
    offices = {office: Office(client, office) for office in (OFFICE_A, OFFICE_B)}

    def report(office_id: str) -> Body:
        return {
            "client_report_id": f"phone-{uuid.uuid4().hex}",
            "office_id": office_id,
            "reporter": {"name": "Tim Tagana", "role": "tagana", "phone": "+62812345678"},
            "hazard": "flood",
            "happened_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "location": {"lat": -0.4230, "lon": 116.9860},
            "address": {
                "district": "Tenggarong",
                "village": "Sukarame",
                "regency": "Kutai Kartanegara",
                "province": "Kalimantan Timur",
            },
            "households_affected": 30,
            "people_affected": 110,
            "stated_needs": [{"item_code": "RICE-5KG", "quantity": 70}],
        }

    def incident(office: str) -> str:
        answer = offices[office].call("POST", "/reports", json=report(office))
        return str(answer["id"])

    def client_report_id(office: str) -> str:
        """The phone's own id of a report already sent (a resend answers with it)."""
        body = report(office)
        offices[office].call("POST", "/reports", json=body)
        return str(body["client_report_id"])

    def client_update_id(office: str) -> str:
        body = update(f"update-{uuid.uuid4().hex}")
        offices[office].call("POST", f"/incidents/{incident(office)}/updates", json=body)
        return str(body["client_update_id"])

    def update(client_update_id: str) -> Body:
        return {
            "client_update_id": client_update_id,
            "reporter": {"name": "Tim Tagana", "role": "tagana"},
            "households_affected": 35,
        }

    def client_assessment_id(office: str) -> str:
        body = rapid_assessment(str(uuid.uuid4()))
        offices[office].call("POST", f"/incidents/{incident(office)}/assessments", json=body)
        return str(body["client_assessment_id"])

    def rapid_assessment(client_assessment_id: str) -> Body:
        return {
            "client_assessment_id": client_assessment_id,
            "team": "Tagana Tenggarong",
            "affected": {"people": 120, "households": 35, "displaced": 40},
            "needs": [{"item_code": "RICE-5KG", "quantity": 24}],
        }

    def photo(office: str) -> str:
        files = {"photo": ("banjir.png", png_bytes(), "image/png")}
        url = f"/incidents/{incident(office)}/photos"
        return str(offices[office].call("POST", url, files=files)["id"])

    def complaint(about_incident_id: str | None = None) -> Body:
        return {
            "channel": "whatsapp",
            "complainant": {"name": "Siti Aminah", "contact": "081234567890"},
            "about_incident_id": about_incident_id,
            "text": "Bantuan belum sampai ke rumah kami.",
        }

    def complaint_id(office: str) -> str:
        return str(offices[office].call("POST", "/complaints", json=complaint())["id"])

    def document(office: str) -> str:
        url = f"/incidents/{incident(office)}/documents"
        return str(offices[office].call("POST", url, **letter())["id"])

    def letter() -> dict[str, Any]:
        return {
            "data": {"kind": "request_letter", "title": "Surat permohonan 140/27"},
            "files": {"document": ("surat.pdf", LETTER_PDF, "application/pdf")},
        }

    serials = itertools.count(1001)

    def affected_family() -> Body:
        # A KK of Tenggarong (64.02.06) with a serial of its own: one per listing.
        return {
            "head_name": "Rusdi bin Hasan",
            "kk": f"640206120315{next(serials):04d}",
            "head_nik": "6402060101700003",
            "members": 4,
            "address": "RT 05",
            "shelter": "own_home",
        }

    def family_id(office: str) -> str:
        url = f"/incidents/{incident(office)}/families"
        return str(offices[office].call("POST", url, json=affected_family())["id"])

    def application_id(office: str) -> str:
        body = {"family_id": family_id(office), "kind": "disaster_aid_proposal"}
        return str(offices[office].call("POST", "/aid-applications", json=body)["id"])

    return app, Registry(
        kinds={
            "incident_id": incident,
            "about_incident_id": incident,
            "family_id": family_id,
            "application_id": application_id,
            "complaint_id": complaint_id,
            "photo_id": photo,
            "document_id": document,
            "client_report_id": client_report_id,
            "client_update_id": client_update_id,
            "client_assessment_id": client_assessment_id,
            "office_id": lambda office: office,
            "entity_id": incident,
        },
        office_keys={
            "client_report_id": "a phone's id for resending its report",
            "client_update_id": "a phone's id for resending its follow-up",
            "client_assessment_id": "a phone's id for resending its rapid assessment",
        },
        requests={
            "POST /reports": lambda id_: {
                "json": report(id_("office_id")) | {"client_report_id": id_("client_report_id")}
            },
            "POST /incidents/{incident_id}/updates": lambda id_: {
                "json": update(id_("client_update_id"))
            },
            "POST /incidents/{incident_id}/assessments": lambda id_: {
                "json": rapid_assessment(id_("client_assessment_id"))
            },
            "POST /incidents/{incident_id}/photos": lambda _: {
                "files": {"photo": ("banjir.png", png_bytes(), "image/png")}
            },
            "POST /incidents/{incident_id}/verification": lambda _: {
                "json": {
                    "verified_by": "Kabid",
                    "assessed_needs": [{"item_code": "RICE-5KG", "quantity": 70}],
                }
            },
            "POST /incidents/{incident_id}/rejection": lambda _: {
                "json": {"rejected_by": "Kabid", "reason": "Laporan ganda"}
            },
            "POST /complaints": lambda id_: {"json": complaint(id_("about_incident_id"))},
            "POST /complaints/{complaint_id}/notes": lambda _: {"json": {"text": "Cek kurir"}},
            "POST /complaints/{complaint_id}/answer": lambda _: {"json": {"text": "Diantar ulang"}},
            # The complainant's public page: a code, no office's record id.
            "POST /pengaduan": lambda _: {"data": {"code": "K7QM2-XR9TD"}},
            "POST /incidents/{incident_id}/documents": lambda _: letter(),
            "POST /incidents/{incident_id}/families": lambda _: {"json": affected_family()},
            "PATCH /families/{family_id}": lambda _: {"json": {"members": 5}},
            "POST /aid-applications": lambda id_: {
                "json": {"family_id": id_("family_id"), "kind": "disaster_aid_proposal"}
            },
            "POST /aid-applications/{application_id}/documents-complete": lambda _: {"json": {}},
            "POST /aid-applications/{application_id}/settlement": lambda _: {
                "json": {"outcome": "proposed", "decided_by": "Kabid"}
            },
            "POST /aid-applications/{application_id}/withdrawal": lambda _: {
                "json": {"reason": "Ditarik pemohon"}
            },
            "POST /incidents/{incident_id}/dispositions": lambda _: {"json": DISPOSITION},
            "POST /incidents/{incident_id}/emergency-statuses": lambda _: {
                "json": {
                    "phase": "response",
                    "level": "regency",
                    "declared_by": "Bupati",
                    "decree_number": "188.45/212/2026",
                    "starts_on": "2026-11-29",
                    "ends_on": "2026-12-12",
                }
            },
        },
        shared={
            "item_code": "the item catalogue is shared by every office",
            "postal_code": "a kode pos is a place, not a record",
        },
    )


# --- notify -----------------------------------------------------------------------------


def notify(database_url: str, tmp_path: Path) -> tuple[FastAPI, Registry]:
    settings = NotifySettings(database_url=database_url, common=common(tmp_path), auth=SIGNED_IN)
    app = create_notify(settings)
    client = started(app)
    runtime: ServiceRuntime = app.state.runtime
    standards = app.state.standards
    offices = {office: Office(client, office) for office in (OFFICE_A, OFFICE_B)}

    def clock(office: str) -> str:
        """A case's response clock, 20 hours after the report (warned already)."""
        case_id = uuid.uuid4()
        event = notify_reported(case_id, datetime.now(UTC) - timedelta(hours=20))
        event = event.model_copy(update={"office_id": office})
        runtime.run(lambda uow: notify_case_clocks.apply_event(uow, event, standards))
        runtime.run(lambda uow: notify_alerting.tick(uow, standards))
        return str(case_id)

    def alert(office: str) -> str:
        case_id = uuid.UUID(clock(office))
        query = select(AlertRow.id).where(AlertRow.case_id == case_id).limit(1)
        return str(runtime.run(lambda uow: uow.session.exec(query).one()))

    def subscription(office: str) -> str:
        body = {
            "channel": "email",
            "email": "kabid@dinsos.example.go.id",
            "event_types": ["ResponseDeadlineBreached"],
        }
        return str(offices[office].call("POST", "/subscriptions", json=body)["id"])

    return app, Registry(
        kinds={
            "case_id": clock,
            "alert_id": alert,
            "subscription_id": subscription,
            "office_id": lambda office: office,
            "entity_id": subscription,
        },
        requests={
            "POST /subscriptions": lambda id_: {
                "json": {
                    "channel": "email",
                    "email": "kabid@dinsos.example.go.id",
                    "office_id": id_("office_id"),
                    "event_types": ["ResponseDeadlineBreached"],
                }
            },
            "POST /alerts/{alert_id}/ack": lambda _: {"json": {"by": "Kabid Linjamsos"}},
            # Sent once, never followed: a live feed would never end.
            "GET /feed": lambda _: {"params": {"follow": "false"}},
        },
    )


# --- logistics --------------------------------------------------------------------------

SITE = {"lat": -0.4100, "lon": 116.9900}
WAREHOUSES = {OFFICE_A: "GDG-A", OFFICE_B: "GDG-B"}
SECOND_WAREHOUSES = {OFFICE_A: "GDG-A2", OFFICE_B: "GDG-B2"}


def logistics(database_url: str, tmp_path: Path) -> tuple[FastAPI, Registry]:
    settings = LogisticsSettings(database_url=database_url, common=common(tmp_path), auth=SIGNED_IN)
    app = create_logistics(settings)
    client = started(app)
    runtime: ServiceRuntime = app.state.runtime
    today = datetime.now(ZoneInfo(settings.office_timezone)).date()
    offices = {office: Office(client, office) for office in (OFFICE_A, OFFICE_B)}
    for office, code in [*WAREHOUSES.items(), *SECOND_WAREHOUSES.items()]:
        body = {"code": code, "name": f"Gudang {office}", "location": SITE}
        offices[office].call("POST", "/warehouses", json=body)
    offices[OFFICE_A].call(
        "POST", "/items", json={"code": "RICE-5KG", "name": "Beras 5 kg", "unit": "sak"}
    )

    def lot(office: str) -> str:
        body = {
            "item_code": "RICE-5KG",
            "warehouse_code": WAREHOUSES[office],
            "quantity": 500,
            "received_on": today.isoformat(),
            "expires_on": (today + timedelta(days=400)).isoformat(),
            "source": "PO-2026-1",
            "received_by": "Pak Gudang",
        }
        return str(offices[office].call("POST", "/lots", json=body)["id"])

    def movement(office: str) -> str:
        lot_id = lot(office)
        (entry,) = offices[office].call("GET", "/movements", params={"lot_id": lot_id})
        return str(entry["id"])

    def planned(office: str) -> dict[str, Any]:
        """A dispatch logistics planned for a verified incident of `office`."""
        lot(office)
        now = datetime.now(UTC)
        event = IncidentVerified.first(
            office_id=office,
            case_id=uuid.uuid4(),
            producer="intake",
            occurred_at=now,
            reported_at=now - timedelta(minutes=5),
            destination=GeoPoint(**SITE),
            verified_by="Kabid",
            assessed_needs=(NeedLine(item_code="RICE-5KG", quantity=2),),
        )
        runtime.run(lambda uow: logistics_allocation.allocate_for_incident(uow, event, settings))
        params = {"case_id": str(event.case_id)}
        (dispatch,) = offices[office].call("GET", "/dispatches", params=params)
        return dict(dispatch)

    def handed_over(office: str) -> tuple[str, str]:
        """(dispatch id, handover id) of a dispatch picked, released and handed over: the
        richest dispatch, so that every route about one finds what it looks for."""
        dispatch_id = planned(office)["id"]
        call = offices[office].call
        call("POST", f"/dispatches/{dispatch_id}/pick-list/sign", json={"picked_by": "Budi"})
        call("POST", f"/dispatches/{dispatch_id}/release", json={"released_by": "Rina"})
        handover = call(
            "POST",
            f"/dispatches/{dispatch_id}/handover",
            json={
                "handed_over_by": "Rina",
                "received_by": "Pak Camat",
                "receiver_organisation": "Posko",
            },
        )
        return str(dispatch_id), str(handover["id"])

    def purchase_request(office: str) -> str:
        body = {
            "source": "shortage",
            "lines": [{"item_code": "RICE-5KG", "quantity": 1000}],
            "requested_by": "Kabid",
        }
        return str(offices[office].call("POST", "/purchase-requests", json=body)["id"])

    def purchase_order(office: str) -> str:
        body = {
            "request_id": purchase_request(office),
            "number": f"PO-{uuid.uuid4().hex[:6]}/2026",
            "supplier": "CV Beras Kaltim",
            "warehouse_code": WAREHOUSES[office],
            "expected_on": today.isoformat(),
            "lines": [{"item_code": "RICE-5KG", "quantity": 1000}],
        }
        return str(offices[office].call("POST", "/purchase-orders", json=body)["id"])

    kinds: dict[str, Callable[[str], str]] = {
        "lot_id": lot,
        "movement_id": movement,
        "dispatch_id": lambda office: handed_over(office)[0],
        "handover_id": lambda office: handed_over(office)[1],
        "case_id": lambda office: str(planned(office)["case_id"]),
        "source_case_id": lambda office: str(planned(office)["case_id"]),
        "request_id": purchase_request,
        "order_id": purchase_order,
        "warehouse_code": WAREHOUSES.__getitem__,
        "from_warehouse": WAREHOUSES.__getitem__,
        "to_warehouse": SECOND_WAREHOUSES.__getitem__,
        "office_id": lambda office: office,
        # An audit entry's entity is the record it is about.
        "entity_id": lot,
    }

    def receipt_lines() -> list[Body]:
        return [
            {
                "item_code": "RICE-5KG",
                "delivered": 2,
                "accepted": 2,
                "expires_on": (today + timedelta(days=400)).isoformat(),
            }
        ]

    requests: dict[str, Callable[[Callable[[str], str]], dict[str, Any]]] = {
        "POST /warehouses": lambda id_: {
            "json": {
                "code": f"GDG-{uuid.uuid4().hex[:6].upper()}",
                "name": "Gudang baru",
                "location": SITE,
                "office_id": id_("office_id"),
            }
        },
        "GET /stock-card": lambda _: {"params": {"item_code": "RICE-5KG"}},
        "GET /stock-card.xlsx": lambda _: {"params": {"item_code": "RICE-5KG"}},
        "PATCH /lots/{lot_id}": lambda _: {"json": {"bin_location": "RAK-B1"}},
        "POST /lots": lambda id_: {
            "json": {
                "item_code": "RICE-5KG",
                "warehouse_code": id_("warehouse_code"),
                "quantity": 5,
                "received_on": today.isoformat(),
                "expires_on": (today + timedelta(days=400)).isoformat(),
                "source": "PO-2026-9",
                "received_by": "Pak Gudang",
            }
        },
        "POST /lots/{lot_id}/adjustments": lambda _: {
            "json": {
                "delta": -1,
                "reason": "sak sobek",
                "approved_by": "Kabid",
                "effective_on": today.isoformat(),
            }
        },
        "POST /lots/{lot_id}/quarantine": lambda _: {
            "json": {"quantity": 1, "reason": "damaged", "actor": "Pak Gudang"}
        },
        "POST /movements/{movement_id}/reverse": lambda _: {
            "json": {
                "reason": "salah catat",
                "reversed_by": "Kabid",
                "effective_on": today.isoformat(),
            }
        },
        "POST /transfers": lambda id_: {
            "json": {
                "from_warehouse": id_("from_warehouse"),
                "to_warehouse": id_("to_warehouse"),
                "item_code": "RICE-5KG",
                "quantity": 1,
                "moved_by": "Pak Budi",
            }
        },
        "POST /counts": lambda id_: {
            "json": {
                "warehouse_code": id_("warehouse_code"),
                "counted_on": today.isoformat(),
                "counted_by": "Pak Budi",
                "approved_by": "Kabid",
                "reason": "opname",
                "lines": [{"lot_id": id_("lot_id"), "counted": 499}],
            }
        },
        "POST /dispatches/{dispatch_id}/release": lambda _: {"json": {"released_by": "Rina"}},
        "POST /dispatches/{dispatch_id}/cancel": lambda _: {"json": {"cancelled_by": "Rina"}},
        "POST /dispatches/{dispatch_id}/pick-list/sign": lambda _: {"json": {"picked_by": "Budi"}},
        "POST /dispatches/{dispatch_id}/handover": lambda _: {
            "json": {
                "handed_over_by": "Rina",
                "received_by": "Pak Camat",
                "receiver_organisation": "Posko",
            }
        },
        "POST /purchase-requests": lambda id_: {
            "json": {
                "source": "shortage",
                "source_case_id": id_("source_case_id"),
                "lines": [{"item_code": "RICE-5KG", "quantity": 10}],
                "requested_by": "Kabid",
            }
        },
        "POST /purchase-orders": lambda id_: {
            "json": {
                "request_id": id_("request_id"),
                "number": f"PO-{uuid.uuid4().hex[:6]}/2026",
                "supplier": "CV Beras Kaltim",
                "warehouse_code": id_("warehouse_code"),
                "expected_on": today.isoformat(),
                "lines": [{"item_code": "RICE-5KG", "quantity": 1000}],
            }
        },
        "POST /purchase-orders/{order_id}/receipts": lambda _: {
            "json": {
                "received_on": today.isoformat(),
                "received_by": "Pak Budi",
                "lines": receipt_lines(),
            }
        },
        "PUT /minimum-levels": lambda id_: {
            "json": {
                "item_code": "RICE-5KG",
                "warehouse_code": id_("warehouse_code"),
                "households": 100,
                "per_household_per_day": 1,
                "days": 3,
                "basis": "SK Kadis",
            }
        },
        "POST /ui/picking/{dispatch_id}/sign": lambda _: {"data": {"name": "Budi"}},
        "POST /ui/picking/{dispatch_id}/release": lambda _: {"data": {"name": "Rina"}},
        "POST /ui/picking/{dispatch_id}/handover": lambda _: {
            "data": {"received_by": "Pak Camat", "receiver_organisation": "Posko"}
        },
        "POST /ui/receiving/{order_id}": lambda _: {
            "data": {
                "received_on": today.isoformat(),
                "received_by": "Pak Budi",
                **{key: str(value) for key, value in receipt_lines()[0].items()},
                "reject_reason": "",
                "bin": "",
            }
        },
        "POST /ui/lots/{lot_id}/bin": lambda _: {"data": {"bin_location": "RAK-C1", "q": ""}},
        "POST /ui/counts": lambda id_: {
            "data": {
                "warehouse_code": id_("warehouse_code"),
                "counted_by": "Pak Budi",
                "approved_by": "Kabid",
                "reason": "opname",
                "lot_id": id_("lot_id"),
                "counted": "499",
            }
        },
    }
    return app, Registry(
        kinds=kinds,
        requests=requests,
        shared={"item_code": "the item catalogue is shared by every office"},
    )


# --- distribution -----------------------------------------------------------------------


def recipient_sheet(serial: int) -> bytes:
    """The office's spreadsheet with one person (the import's form)."""
    nik = person(serial).nik
    header = "NIK;Nama;Desa/Kelurahan;Kecamatan;Lintang;Bujur"
    return f"{header}\n{nik};Lansia {serial};Sukarame;Tenggarong;-0,43;116,98\n".encode()


def distribution(database_url: str, tmp_path: Path) -> tuple[FastAPI, Registry]:
    settings = make_settings(database_url).model_copy(update={"auth": SIGNED_IN})
    app = create_distribution(settings)
    client = started(app)
    runtime: ServiceRuntime = app.state.runtime
    today = office_today()
    offices = {office: Office(client, office) for office in (OFFICE_A, OFFICE_B)}
    serial = iter(range(1, 10_000))

    def recipient(office: str) -> str:
        body = person(next(serial)).model_dump(mode="json")
        return str(offices[office].call("POST", "/recipients", json=body)["id"])

    def institution(office: str) -> str:
        body = institution_body(f"Panti {next(serial)}").model_dump(mode="json")
        return str(offices[office].call("POST", "/recipients", json=body)["id"])

    def program(office: str) -> dict[str, Any]:
        body = {
            "name": f"Permakanan {next(serial)}",
            "start_date": today.isoformat(),
            "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
            "hub": HUB.model_dump(),
        }
        created = offices[office].call("POST", "/permakanan/programs", json=body)
        enrolments = f"/permakanan/programs/{created['id']}/enrolments"
        offices[office].call("POST", enrolments, json={"recipient_id": recipient(office)})
        return dict(created)

    last_program: dict[str, str] = {}

    def program_id(office: str) -> str:
        last_program[office] = str(program(office)["id"])
        return last_program[office]

    def open_round(office: str) -> str:
        round_id = str(program(office)["rounds"][0]["id"])
        offices[office].call("POST", f"/permakanan/rounds/{round_id}/opening")
        return round_id

    def walk_delivery(office: str, delivery_id: str, position: dict[str, float]) -> None:
        """Assigned, on its way, arrived, photographed and handed over with a signature."""
        call = offices[office].call
        call("POST", f"/deliveries/{delivery_id}/assignment", json={"team": "Tagana 2"})
        call("POST", f"/deliveries/{delivery_id}/departure")
        call("POST", f"/deliveries/{delivery_id}/arrival", json={"position": position})
        photo = {"photo": ("serah.png", png_bytes(), "image/png")}
        call("POST", f"/deliveries/{delivery_id}/photo", files=photo)
        completion = {
            "received_by": "Kepala Desa",
            "relation": "kepala desa",
            "position": position,
            "signature_png_base64": signature(),
        }
        call("POST", f"/deliveries/{delivery_id}/completion", json=completion)

    def opened_delivery(office: str) -> dict[str, Any]:
        """An incident delivery, opened as the released dispatch arrives."""
        event = released(uuid.uuid4()).model_copy(update={"office_id": office})
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, event))
        params = {"case_id": str(event.case_id)}
        (opened,) = offices[office].call("GET", "/deliveries", params=params)
        return dict(opened)

    def delivered(office: str) -> str:
        """The richest delivery: handed over with photo and signature."""
        delivery_id = str(opened_delivery(office)["id"])
        walk_delivery(office, delivery_id, AT_THE_POSKO)
        return delivery_id

    def sandang_request(office: str) -> str:
        body = {
            "institution_id": institution(office),
            "lines": [{"item_code": "SARUNG", "quantity": 20}],
            "needed_by": (today + timedelta(days=30)).isoformat(),
            "budget_year": today.year + 1,
        }
        return str(offices[office].call("POST", "/sandang/requests", json=body)["id"])

    def sandang_handover(office: str) -> str:
        request_id = sandang_request(office)
        event = release_for(
            uuid.UUID(request_id), CaseType.SANDANG_REQUEST, [("SARUNG", 20)]
        ).model_copy(update={"office_id": office})
        runtime.run(lambda uow: deliveries.on_dispatch_released(uow, event))
        (opened,) = offices[office].call("GET", "/deliveries", params={"case_id": request_id})
        walk_delivery(office, str(opened["id"]), {"lat": -0.4301, "lon": 116.9822})
        request = offices[office].call("GET", f"/sandang/requests/{request_id}")
        return str(request["handover_id"])

    def run(office: str) -> str:
        body = {
            "team": "Tim 1",
            "vehicle": "KT 1 AB",
            "run_date": today.isoformat(),
            "start": HUB.model_dump(),
            "delivery_ids": [str(opened_delivery(office)["id"])],
        }
        return str(offices[office].call("POST", "/runs", json=body)["id"])

    def enrolled(program_id: str, recipient_id: str) -> str:
        """`recipient_id`, enrolled in the program with a candidate queued behind, when
        both are of one office (the office whose enrolment is accepted)."""
        url = f"/permakanan/programs/{program_id}/enrolments"
        for office, caller in offices.items():
            body = {"recipient_id": recipient_id}
            answer = client.post(url, json=body, headers=caller.headers)
            if answer.status_code == 201:
                candidate = {"recipient_id": recipient(office), "as_candidate": True}
                caller.call("POST", url, json=candidate)
        return recipient_id

    def decision(office: str) -> str:
        """The office's decision on the list of the program last made for it (the one an
        enrolment in the same request names), naming one eligible person."""
        program_id = last_program.get(office) or str(program(office)["id"])
        url = f"/permakanan/programs/{program_id}/decisions"
        return str(offices[office].call("POST", url, json=decision_body(recipient(office)))["id"])

    def decision_body(recipient_id: str) -> dict[str, Any]:
        return {
            "number": f"B-{next(serial)}/DINSOS/LJS/{today.year}",
            "decided_on": today.isoformat(),
            "decided_by": "Kepala Dinas Sosial",
            "recipient_ids": [recipient_id],
        }

    kinds: dict[str, Callable[[str], str]] = {
        "recipient_id": recipient,
        "institution_id": institution,
        "program_id": program_id,
        "round_id": open_round,
        "request_id": sandang_request,
        "handover_id": sandang_handover,
        "delivery_id": delivered,
        "delivery_ids": lambda office: str(opened_delivery(office)["id"]),
        "case_id": lambda office: str(opened_delivery(office)["case_id"]),
        "run_id": run,
        "entity_id": recipient,
        "recipient_ids": recipient,
        "decision_id": decision,
    }
    completion = {
        "received_by": "Kepala Desa",
        "position": AT_THE_POSKO,
        "signature_png_base64": signature(),
    }
    requests: dict[str, Callable[[Callable[[str], str]], dict[str, Any]]] = {
        "PATCH /recipients/{recipient_id}": lambda _: {
            "json": {"name": "Penerima Baru", "reason": "salah tulis"}
        },
        "GET /recipients/{recipient_id}/personal-data": lambda _: {
            "params": {"purpose": "verifikasi data"}
        },
        "POST /permakanan/programs/{program_id}/enrolments": lambda id_: {
            "json": {"recipient_id": id_("recipient_id"), "decision_id": id_("decision_id")}
        },
        "POST /permakanan/programs/{program_id}/replacements": lambda id_: {
            "json": {
                "recipient_id": enrolled(id_("program_id"), id_("recipient_id")),
                "reason": "pindah ke Samarinda",
            }
        },
        "POST /sandang/requests": lambda id_: {
            "json": {
                "institution_id": id_("institution_id"),
                "lines": [{"item_code": "SARUNG", "quantity": 20}],
                "needed_by": (today + timedelta(days=30)).isoformat(),
                "budget_year": today.year + 1,
            }
        },
        "POST /permakanan/rounds/{round_id}/opening": lambda _: {
            "json": {"override": {"by": "Kepala Dinas", "reason": "anggaran cair"}}
        },
        "POST /sandang/requests/{request_id}/procurement": lambda _: {
            "json": {"started_by": "Kabid Linjamsos"}
        },
        "POST /deliveries/{delivery_id}/assignment": lambda _: {"json": {"team": "Tim B"}},
        "POST /deliveries/{delivery_id}/arrival": lambda _: {"json": {"position": AT_THE_POSKO}},
        "POST /deliveries/{delivery_id}/completion": lambda _: {"json": completion},
        "POST /deliveries/{delivery_id}/photo": lambda _: {
            "files": {"photo": ("serah.png", png_bytes(), "image/png")}
        },
        "POST /deliveries/{delivery_id}/failure": lambda _: {
            "json": {"reason_code": "refused", "reason": "ditolak warga"}
        },
        "POST /deliveries/{delivery_id}/return": lambda _: {"json": {"condition": "good"}},
        "POST /permakanan/programs/{program_id}/decisions": lambda id_: {
            "json": decision_body(id_("recipient_ids"))
        },
        "PUT /recipients/{recipient_id}/eligibility": lambda _: {
            "json": {"social_register": "dtsen", "social_register_id": "DTSEN-1"}
        },
        "POST /ui/recipients/new": lambda _: {
            "data": {
                **{
                    key: str(value)
                    for key, value in person(next(serial)).model_dump(mode="json").items()
                    if key in {"name", "nik", "kk", "phone"}
                },
                "district": "Tenggarong",
                "village": "Sukarame",
                "lat": "-0.43",
                "lon": "116.98",
            }
        },
        "POST /ui/recipients/import": lambda _: {
            "files": {"file": ("dtks.csv", recipient_sheet(next(serial)), "text/csv")}
        },
        "POST /ui/permakanan/decisions": lambda id_: {
            "data": {
                **{
                    key: value
                    for key, value in decision_body(id_("recipient_id")).items()
                    if key != "recipient_ids"
                },
                # The refused page shows the number as typed: a token-like one reads alike.
                "number": f"SK-{uuid.uuid4().hex}",
                "program_id": id_("program_id"),
                "recipient_id": id_("recipient_id"),
            }
        },
        "POST /runs": lambda id_: {
            "json": {
                "team": "Tim 2",
                "vehicle": "KT 2 AB",
                "run_date": today.isoformat(),
                "start": HUB.model_dump(),
                "delivery_ids": [id_("delivery_ids")],
            }
        },
    }
    return app, Registry(
        kinds=kinds,
        requests=requests,
        # The route serves the handover photo or the recipient's signature.
        constants={"purpose": "photo"},
        shared={
            "item_code": "the item catalogue is shared by every office",
            "postal_code": "a kode pos is a place, not a record",
            "reason_code": "a fixed list of failure reasons",
            "social_register_id": "a person's id in the national register, not our record",
        },
    )


# --- the walk ---------------------------------------------------------------------------

SERVICES: dict[str, Callable[[str, Path], tuple[FastAPI, Registry]]] = {
    "intake": intake,
    "logistics": logistics,
    "distribution": distribution,
    "notify": notify,
}


@pytest.mark.parametrize("service_name", sorted(SERVICES))
def test_another_offices_ids_answer_as_unknown_on_every_route(
    service_name: str, database_url: str, tmp_path: Path
) -> None:
    started_at = time.monotonic()
    app, registry = SERVICES[service_name](database_url, tmp_path)
    try:
        report = TenancyWalker(app, SIGNED_IN, registry).walk()
    finally:
        app.state.runtime.engine.dispose()
    # The walk's cost, shown with -s: the suite must stay quick.
    print(
        f"{service_name}: {len(report.walked)} routes, {report.calls} calls, "
        f"{time.monotonic() - started_at:.1f} s"
    )
    assert report.walked, "the walk found no route taking an id"
    assert report.failures == [], failures_text(service_name, report)


def test_the_walk_fails_for_a_leak_an_oracle_and_an_id_it_cannot_make(tmp_path: Path) -> None:
    """What keeps the walk honest: a route added without an office check is reported, so
    is one refusing another office's id unlike an unknown one, and so is a route taking an
    id nobody taught the walk to make."""
    app, registry = intake(f"sqlite:///{tmp_path / 'intake.sqlite3'}", tmp_path)

    def office_of(request: Request, incident_id: uuid.UUID) -> str | None:
        runtime: ServiceRuntime = request.app.state.runtime
        row = runtime.run(lambda uow: uow.session.get(IncidentRow, incident_id))
        return None if row is None else row.office_id

    def leak(incident_id: uuid.UUID, request: Request) -> dict[str, str]:
        return {"id": str(incident_id), "office": office_of(request, incident_id) or "none"}

    def oracle(incident_id: uuid.UUID, request: Request) -> dict[str, str]:
        if office_of(request, incident_id) is None:
            raise NotFound(f"no incident {incident_id}", code="incident_not_found")
        raise NotFound("that incident is another office's", code="incident_not_found")

    def widget(widget_id: uuid.UUID) -> dict[str, str]:
        return {"id": str(widget_id)}

    added: dict[str, Callable[..., dict[str, str]]] = {
        "GET /incidents/{incident_id}/summary": leak,
        "GET /incidents/{incident_id}/oracle": oracle,
        "GET /widgets/{widget_id}": widget,
    }
    for key, endpoint in added.items():
        method, path = key.split(" ")
        app.add_api_route(path, endpoint, methods=[method])
        app.state.access_policy[key] = Access.of(Role.COORDINATOR)
    app.openapi_schema = None
    try:
        report = TenancyWalker(app, SIGNED_IN, registry).walk()
    finally:
        for key in added:
            del app.state.access_policy[key]
        app.state.runtime.engine.dispose()
    problems = "\n".join(report.failures)
    as_coordinator = "with office A's path `incident_id` as B's coordinator"
    assert f"GET /incidents/{{incident_id}}/summary {as_coordinator}: 200" in problems
    assert (
        f"GET /incidents/{{incident_id}}/oracle {as_coordinator}: answered unlike an unknown id"
        in problems
    )
    assert "GET /widgets/{widget_id}: takes `widget_id`" in problems
    assert "add `widget_id` to the registry's kinds" in problems
    assert all(
        failure.startswith(
            (
                "GET /incidents/{incident_id}/summary",
                "GET /incidents/{incident_id}/oracle",
                "GET /widgets/",
            )
        )
        for failure in report.failures
    ), problems
