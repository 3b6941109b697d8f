"""A permakanan round across the real services, as processes on a real broker: distribution
opens the round (one parcel per enrolled recipient, to their home), logistics plans the
goods from stock under the round's case and the warehouse releases them, distribution
readies the parcels, a field team's run delivers them with proof, and notify's clock for
the round stops when the last parcel is in. The two halves were built against the
contracts in `shared/`; this is where they meet."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from shared.clock import office_today
from shared.stack import Stack
from tests.support.stack import ok, wait_for

HUB = {"lat": -0.4235, "lon": 116.9860}
HOMES = [
    {"lat": -0.4301, "lon": 116.9822, "village": "Sukarame"},
    {"lat": -0.4170, "lon": 116.9931, "village": "Melayu"},
    {"lat": -0.4262, "lon": 116.9950, "village": "Panji"},
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("e2e-permakanan")
    with Stack.start(
        data_dir=root / "data",
        extra_env={"DINSOS_ENVIRONMENT": "test", "NOTIFY_TICK_INTERVAL_S": "0.5"},
    ) as running:
        yield running


def signature() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), (10, 10, 10)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_permakanan_round_goes_from_plan_to_every_door(stack: Stack) -> None:
    item = f"PARCEL-{uuid.uuid4().hex[:5].upper()}"
    today = office_today()
    logistics = httpx.Client(base_url=stack.url("logistics"), timeout=15)
    distribution = httpx.Client(base_url=stack.url("distribution"), timeout=15)
    notify = httpx.Client(base_url=stack.url("notify"), timeout=15)

    created = logistics.post(
        "/warehouses",
        json={"code": "GDG-TGR", "name": "Gudang Tenggarong", "location": HUB},
    )
    assert created.status_code in (201, 409), created.text
    ok(logistics.post("/items", json={"code": item, "name": "Paket makanan", "unit": "pkt"}), 201)
    for days_ago, quantity in ((40, 2), (10, 10)):
        ok(
            logistics.post(
                "/lots",
                json={
                    "item_code": item,
                    "warehouse_code": "GDG-TGR",
                    "quantity": quantity,
                    "received_on": (today - timedelta(days=days_ago)).isoformat(),
                    "expires_on": (today + timedelta(days=300)).isoformat(),
                    "source": "PO-PMK/2026",
                    "received_by": "Pak Budi",
                },
            ),
            201,
        )

    recipients = []
    for serial, home in enumerate(HOMES, start=1):
        recipient = ok(
            distribution.post(
                "/recipients",
                json={
                    "kind": "person",
                    "name": f"Lansia {serial}",
                    "nik": f"6402060101500{serial:03d}",
                    "phone": f"08123456{serial:04d}",
                    "address": {
                        "street": f"Jl. Mulawarman RT {serial:02d}",
                        "district": "Tenggarong",
                        "village": home["village"],
                        "postal_code": "75511",
                    },
                    "position": {"lat": home["lat"], "lon": home["lon"]},
                    "verified": True,
                    "eligibility": {"social_register": "dtks", "social_register_id": f"D{serial}"},
                },
            ),
            201,
        )
        recipients.append(recipient["id"])
    program = ok(
        distribution.post(
            "/permakanan/programs",
            json={
                "name": f"Permakanan {item}",
                "start_date": today.isoformat(),
                "parcel": [{"item_code": item, "quantity": 1}],
                "hub": HUB,
            },
        ),
        201,
    )
    for recipient_id in recipients:
        ok(
            distribution.post(
                f"/permakanan/programs/{program['id']}/enrolments",
                json={"recipient_id": recipient_id},
            )
        )
    round_id = program["rounds"][0]["id"]
    ok(distribution.post(f"/permakanan/rounds/{round_id}/opening"))

    # logistics plans the round's goods under the round's case, oldest lot first.
    dispatches = wait_for(
        lambda: logistics.get("/dispatches", params={"case_id": round_id}).json(),
        what="the round's dispatch",
    )
    assert len(dispatches) == 1
    planned = dispatches[0]["lines"]
    assert sum(line["quantity"] for line in planned) == len(HOMES)
    assert [line["quantity"] for line in planned] == [2, 1]  # the older lot of 2 first
    ok(logistics.post(f"/dispatches/{dispatches[0]['id']}/release", json={"released_by": "Sari"}))

    def ready_parcels() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = ok(
            distribution.get("/deliveries", params={"case_id": round_id})
        )
        return rows if len(rows) == len(HOMES) and all(d["goods_ready_at"] for d in rows) else None

    parcels = wait_for(ready_parcels, what="parcels ready")
    assert sorted(d["recipient_id"] for d in parcels) == sorted(recipients)

    run = ok(
        distribution.post(
            "/runs",
            json={
                "team": "Tim A",
                "vehicle": "KT 1234 AB",
                "run_date": today.isoformat(),
                "start": HUB,
                "delivery_ids": [d["id"] for d in parcels],
            },
        ),
        201,
    )
    assert len(run["stops"]) == len(HOMES)
    ok(distribution.post(f"/runs/{run['id']}/departure"))
    for parcel in parcels:
        door = parcel["destination"]
        ok(distribution.post(f"/deliveries/{parcel['id']}/arrival", json={"position": door}))
        done = ok(
            distribution.post(
                f"/deliveries/{parcel['id']}/completion",
                json={
                    "received_by": "Penerima",
                    "relation": "self",
                    "position": door,
                    "signature_png_base64": signature(),
                },
            )
        )
        assert done["status"] == "delivered"

    finished = wait_for(
        lambda: (
            (r := ok(distribution.get(f"/permakanan/programs/{program['id']}"))["rounds"][0])[
                "status"
            ]
            == "completed"
            and r
        ),
        what="round completed",
    )
    assert (finished["delivered"], finished["returned"]) == (len(HOMES), 0)
    clock = wait_for(
        lambda: (
            (c := notify.get(f"/clocks/{round_id}")).status_code == 200
            and c.json().get("state") == "closed"
            and c.json()
        ),
        what="the round's clock stopped",
    )
    assert clock["outcome"] == "met"
    stock = next(s for s in ok(logistics.get("/stock")) if s["item_code"] == item)
    assert (stock["on_hand"], stock["reserved"]) == (12 - len(HOMES), 0)
    assert ok(logistics.get("/stock/audit"))["consistent"] is True
