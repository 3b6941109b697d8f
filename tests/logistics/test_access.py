"""Who may call what in logistics: every route has an access rule, and every route answers
every role (and no token at all) as its rule says; and a user of one office sees and changes
only that office's warehouses, stock, dispatches and purchases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from services.logistics import allocation
from services.logistics.app import create_app
from services.logistics.settings import LogisticsSettings
from shared.auth import Role
from shared.clock import FixedClock
from shared.contracts.envelope import GeoPoint
from shared.contracts.logistics import DispatchReleased
from shared.runtime import ServiceRuntime
from tests.logistics.support import NOW, TODAY, verified
from tests.logistics.support import settings as app_settings
from tests.support.access import matrix_problems, signed_in, token_for
from tests.support.signed import audit_entries, queued_events, signed_in_as


def test_every_route_answers_every_role_as_its_rule_says(tmp_path: Path) -> None:
    settings = signed_in(LogisticsSettings, tmp_path)
    auth = settings.auth
    missing, disagreements = matrix_problems(create_app(settings), auth)
    assert missing == []
    assert disagreements == []


SITE = {"lat": -0.42, "lon": 116.98}


def _two_offices(
    tmp_path: Path,
) -> tuple[TestClient, ServiceRuntime, dict[str, str], dict[str, str]]:
    """logistics with sign-in required, its clock at NOW, warehouse GDG-TGR of kukar and
    GDG-BLG of balangan, items RICE-5KG and TENT; headers of a kukar and a balangan user
    holding every role."""
    settings = signed_in(LogisticsSettings, tmp_path)
    auth = settings.auth
    app = create_app(settings, clock=FixedClock(NOW))
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    client = TestClient(app, raise_server_exceptions=False)
    kukar = {"Authorization": f"Bearer {token_for(auth, *Role, office='kukar')}"}
    balangan = {"Authorization": f"Bearer {token_for(auth, *Role, office='balangan')}"}
    for code, headers in (("GDG-TGR", kukar), ("GDG-BLG", balangan)):
        warehouse = {"code": code, "name": f"Gudang {code}", "location": SITE}
        _ok(client.post("/warehouses", json=warehouse, headers=headers), 201)
    for code, name in (("RICE-5KG", "Beras 5 kg"), ("TENT", "Tenda")):
        item = {"code": code, "name": name, "unit": "unit"}
        _ok(client.post("/items", json=item, headers=kukar), 201)
    return client, runtime, kukar, balangan


def _ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _refused(response: Response, status: int, error: str) -> None:
    assert (response.status_code, response.json()["error"]) == (status, error), response.text


def test_an_office_sees_and_changes_only_its_own_warehouses_stock_and_papers(
    tmp_path: Path,
) -> None:
    client, runtime, kukar, balangan = _two_offices(tmp_path)
    stray = {"code": "GDG-X", "name": "X", "location": SITE, "office_id": "kukar"}
    _refused(client.post("/warehouses", json=stray, headers=balangan), 403, "other_office")
    offices = {w["code"]: w["office_id"] for w in _ok(client.get("/warehouses", headers=kukar))}
    assert offices == {"GDG-TGR": "kukar"}
    lot = {
        "item_code": "RICE-5KG",
        "quantity": 40,
        "received_on": str(TODAY),
        "expires_on": str(TODAY + timedelta(days=10)),
        "source": "PO-1",
        "received_by": "Pak Gudang",
    }
    kukar_lot = _ok(
        client.post("/lots", json=lot | {"warehouse_code": "GDG-TGR"}, headers=kukar), 201
    )
    _ok(client.post("/lots", json=lot | {"warehouse_code": "GDG-BLG"}, headers=balangan), 201)
    ledger_before = _ok(client.get("/movements", headers=kukar))

    # Reads: another office's warehouse, lots, ledger, counts and alerts are not there.
    assert [w["code"] for w in client.get("/warehouses", headers=balangan).json()] == ["GDG-BLG"]
    assert {row["warehouse_code"] for row in client.get("/lots", headers=balangan).json()} == {
        "GDG-BLG"
    }
    assert {row["warehouse_code"] for row in client.get("/stock", headers=balangan).json()} == {
        "GDG-BLG"
    }
    assert {m["warehouse_code"] for m in client.get("/movements", headers=balangan).json()} == {
        "GDG-BLG"
    }
    near = client.get("/alerts", headers=balangan).json()["near_expiry"]
    assert {a["warehouse_code"] for a in near} == {"GDG-BLG"}
    lot_url = f"/lots/{kukar_lot['id']}"
    _refused(client.get(lot_url, headers=balangan), 404, "lot_not_found")
    _refused(
        client.get(
            "/stock-card",
            params={"item_code": "RICE-5KG", "warehouse_code": "GDG-TGR"},
            headers=balangan,
        ),
        422,
        "unknown_warehouse",
    )

    # Writes: refused as unknown, and the ledger is untouched.
    _refused(
        client.post("/lots", json=lot | {"warehouse_code": "GDG-TGR"}, headers=balangan),
        422,
        "unknown_warehouse",
    )
    _refused(
        client.patch(lot_url, json={"bin_location": "A-1"}, headers=balangan), 404, "lot_not_found"
    )
    adjustment = {"delta": -5, "reason": "hilang dicuri", "approved_by": "Kabid"}
    _refused(
        client.post(f"{lot_url}/adjustments", json=adjustment, headers=balangan),
        404,
        "lot_not_found",
    )
    held = {"quantity": 1, "reason": "damaged", "actor": "Pak Gudang"}
    _refused(
        client.post(f"{lot_url}/quarantine", json=held, headers=balangan), 404, "lot_not_found"
    )
    receipt = ledger_before[0]["id"]
    reversal = {"reason": "salah input", "reversed_by": "Kabid"}
    _refused(
        client.post(f"/movements/{receipt}/reverse", json=reversal, headers=balangan),
        404,
        "movement_not_found",
    )
    transfer = {
        "from_warehouse": "GDG-TGR",
        "to_warehouse": "GDG-BLG",
        "item_code": "RICE-5KG",
        "quantity": 5,
        "moved_by": "x",
    }
    _refused(client.post("/transfers", json=transfer, headers=balangan), 422, "unknown_warehouse")
    count = {
        "warehouse_code": "GDG-BLG",
        "counted_by": "a",
        "approved_by": "b",
        "reason": "opname bulanan",
        "lines": [{"lot_id": kukar_lot["id"], "counted": 0}],
    }
    _refused(client.post("/counts", json=count, headers=balangan), 404, "lot_not_found")
    minimum = {"item_code": "RICE-5KG", "warehouse_code": "GDG-TGR", "minimum": 10}
    _refused(
        client.put("/minimum-levels", json=minimum, headers=balangan), 422, "unknown_warehouse"
    )
    _refused(
        client.patch("/items/RICE-5KG", json={"near_expiry_days": 5}, headers=balangan),
        403,
        "shared_catalogue",
    )
    assert _ok(client.get("/movements", headers=kukar)) == ledger_before
    assert _ok(client.get(lot_url, headers=kukar))["on_hand"] == 40

    # A verified incident of kukar draws on kukar's warehouses only, and its papers stay in kukar.
    incident = verified(("RICE-5KG", 60)).model_copy(update={"destination": GeoPoint(**SITE)})
    settings = app_settings(runtime)
    runtime.run(lambda uow: allocation.allocate_for_incident(uow, incident, settings))
    dispatches = client.get("/dispatches", headers=kukar).json()
    assert [
        (d["warehouse_code"], sum(line["quantity"] for line in d["lines"])) for d in dispatches
    ] == [("GDG-TGR", 40)]
    assert [s["missing"] for s in client.get("/shortages", headers=kukar).json()] == [20]
    assert client.get("/dispatches", headers=balangan).json() == []
    assert client.get("/shortages", headers=balangan).json() == []
    dispatch_url = f"/dispatches/{dispatches[0]['id']}"
    for path in ("", "/pick-list", "/pick-list.pdf", "/handover"):
        _refused(client.get(dispatch_url + path, headers=balangan), 404, "dispatch_not_found")
    _refused(
        client.post(f"{dispatch_url}/release", json={"released_by": "x"}, headers=balangan),
        404,
        "dispatch_not_found",
    )
    _refused(
        client.post(f"{dispatch_url}/cancel", json={"cancelled_by": "x"}, headers=balangan),
        404,
        "dispatch_not_found",
    )
    _refused(
        client.post(f"{dispatch_url}/pick-list/sign", json={"picked_by": "x"}, headers=balangan),
        404,
        "dispatch_not_found",
    )
    _ok(client.post(f"{dispatch_url}/release", json={"released_by": "Pak Gudang"}, headers=kukar))
    bast = {"handed_over_by": "Pak Gudang", "received_by": "Kades", "receiver_organisation": "Desa"}
    handover = _ok(client.post(f"{dispatch_url}/handover", json=bast, headers=kukar), 201)
    _refused(
        client.get(f"/handovers/{handover['id']}.pdf", headers=balangan), 404, "handover_not_found"
    )
    assert client.get(f"/handovers/{handover['id']}.pdf", headers=kukar).status_code == 200


def test_an_office_buys_only_for_itself(tmp_path: Path) -> None:
    client, _runtime, kukar, balangan = _two_offices(tmp_path)
    asked = {
        "source": "buffer_stock",
        "lines": [{"item_code": "TENT", "quantity": 5}],
        "requested_by": "Kasi",
    }
    request = _ok(client.post("/purchase-requests", json=asked, headers=kukar), 201)
    _refused(
        client.get(f"/purchase-requests/{request['id']}", headers=balangan),
        404,
        "request_not_found",
    )
    assert client.get("/purchase-requests", headers=balangan).json() == []
    order = {
        "request_id": request["id"],
        "number": "PO-KUKAR-1",
        "supplier": "CV Maju",
        "expected_on": str(TODAY + timedelta(days=7)),
        "lines": [{"item_code": "TENT", "quantity": 5}],
    }
    _refused(
        client.post(
            "/purchase-orders", json=order | {"warehouse_code": "GDG-BLG"}, headers=balangan
        ),
        404,
        "request_not_found",
    )
    _refused(
        client.post("/purchase-orders", json=order | {"warehouse_code": "GDG-BLG"}, headers=kukar),
        422,
        "unknown_warehouse",
    )
    placed = _ok(
        client.post("/purchase-orders", json=order | {"warehouse_code": "GDG-TGR"}, headers=kukar),
        201,
    )
    assert client.get("/purchase-orders", headers=balangan).json() == []
    delivery = {
        "received_on": str(TODAY),
        "received_by": "x",
        "lines": [{"item_code": "TENT", "delivered": 5, "accepted": 5}],
    }
    _refused(
        client.post(f"/purchase-orders/{placed['id']}/receipts", json=delivery, headers=balangan),
        404,
        "order_not_found",
    )
    assert [o["status"] for o in client.get("/purchase-orders", headers=kukar).json()] == ["open"]


def test_the_signed_in_keeper_is_recorded_as_the_actor_whatever_name_is_typed(
    tmp_path: Path,
) -> None:
    client, runtime, kukar, _ = _two_offices(tmp_path)
    sari = signed_in_as(runtime.settings.auth, "Sari", "sari-01", *Role)
    typed = "Kepala Dinas"
    lot = {
        "item_code": "RICE-5KG",
        "warehouse_code": "GDG-TGR",
        "quantity": 40,
        "received_on": str(TODAY),
        "source": "PO-1",
        "received_by": typed,
    }
    lot_id = _ok(client.post("/lots", json=lot, headers=sari), 201)["id"]
    adjustment = {"delta": -2, "reason": "hilang dicuri", "approved_by": typed}
    _ok(client.post(f"/lots/{lot_id}/adjustments", json=adjustment, headers=sari))
    incident = verified(("RICE-5KG", 10)).model_copy(update={"destination": GeoPoint(**SITE)})
    runtime.run(lambda uow: allocation.allocate_for_incident(uow, incident, app_settings(runtime)))
    (dispatch,) = _ok(client.get("/dispatches", headers=kukar))
    url = f"/dispatches/{dispatch['id']}"
    _ok(client.post(f"{url}/pick-list/sign", json={"picked_by": typed}, headers=sari))
    released = _ok(client.post(f"{url}/release", json={"released_by": typed}, headers=sari))
    bast = {
        "handed_over_by": typed,
        "received_by": "Kades Loa Ipuh",
        "receiver_organisation": "Desa",
    }
    handover = _ok(client.post(f"{url}/handover", json=bast, headers=sari), 201)

    assert (released["released_by"], released["picked_by"]) == ("Sari", "Sari")
    # The person who took the goods over is typed: they have no account, and are not the actor.
    assert (handover["handed_over_by"], handover["received_by"]) == ("Sari", "Kades Loa Ipuh")
    by_sari = [
        m for m in _ok(client.get("/movements", headers=kukar)) if m["kind"] != "reservation"
    ]
    assert {m["actor"] for m in by_sari} == {"Sari"}
    (release_event,) = [e for e in queued_events(runtime) if isinstance(e, DispatchReleased)]
    assert release_event.released_by == "Sari"
    entries = audit_entries(runtime, dispatch["id"]) + audit_entries(runtime, lot_id)
    assert entries and {e["actor"] for e in entries if e["source"].startswith("request")} == {
        "sari-01"
    }
    assert typed not in str(entries) + str(_ok(client.get("/movements", headers=kukar)))
