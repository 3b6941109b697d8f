"""Demo data for the local run: the disaster warehouses of Kutai Kartanegara, the relief
items the decrees name, lots of different ages so FIFO and expiry can be seen, buffer
levels, and an open purchase order so the receiving screen has something to check in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import httpx

from shared.clock import office_today

WAREHOUSES = [
    {
        "code": "GDG-TGR",
        "name": "Gudang Bencana Dinsos Kukar, Tenggarong",
        "location": {"lat": -0.4186, "lon": 116.9864},
    },
    {
        "code": "GDG-KBG",
        "name": "Gudang Logistik Kota Bangun",
        "location": {"lat": -0.2667, "lon": 116.5833},
    },
    {
        "code": "GDG-SGS",
        "name": "Gudang Logistik Sanga-Sanga",
        "location": {"lat": -0.6333, "lon": 117.2500},
    },
]

ITEMS = [
    {"code": "RICE-5KG", "name": "Beras 5 kg", "unit": "sak"},
    {"code": "INSTANT-NOODLE", "name": "Mi instan (dus isi 40)", "unit": "dus"},
    {"code": "MINERAL-WATER", "name": "Air mineral (dus 24 x 600 ml)", "unit": "dus"},
    {"code": "FAMILY-KIT", "name": "Paket sandang keluarga (family kit)", "unit": "paket"},
    {"code": "TENT-FAMILY", "name": "Tenda keluarga", "unit": "unit"},
    {"code": "VELBED", "name": "Velbed (tempat tidur lipat)", "unit": "unit"},
    {"code": "BLANKET", "name": "Selimut", "unit": "lembar"},
]


def demo_lots(today: date) -> list[dict[str, Any]]:
    """Lots received over the past year, some with expiry, in three warehouses."""

    def ago(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    def ahead(days: int) -> str:
        return (today + timedelta(days=days)).isoformat()

    return [
        {
            "item_code": "RICE-5KG",
            "warehouse_code": "GDG-TGR",
            "quantity": 60,
            "received_on": ago(200),
            "expires_on": ahead(20),
            "source": "PO-041/DINSOS/2026",
        },
        {
            "item_code": "RICE-5KG",
            "warehouse_code": "GDG-TGR",
            "quantity": 200,
            "received_on": ago(40),
            "expires_on": ahead(300),
            "source": "PO-112/DINSOS/2026",
        },
        {
            "item_code": "RICE-5KG",
            "warehouse_code": "GDG-KBG",
            "quantity": 120,
            "received_on": ago(300),
            "expires_on": ahead(60),
            "source": "Hibah BPBD Prov. Kaltim",
        },
        {
            "item_code": "INSTANT-NOODLE",
            "warehouse_code": "GDG-TGR",
            "quantity": 80,
            "received_on": ago(90),
            "expires_on": ahead(150),
            "source": "PO-077/DINSOS/2026",
        },
        {
            "item_code": "MINERAL-WATER",
            "warehouse_code": "GDG-TGR",
            "quantity": 100,
            "received_on": ago(60),
            "expires_on": ahead(400),
            "source": "Donasi PT Kaltim Prima",
        },
        {
            "item_code": "FAMILY-KIT",
            "warehouse_code": "GDG-TGR",
            "quantity": 30,
            "received_on": ago(150),
            "source": "Kemensos RI",
        },
        {
            "item_code": "FAMILY-KIT",
            "warehouse_code": "GDG-SGS",
            "quantity": 40,
            "received_on": ago(20),
            "source": "Kemensos RI",
        },
        {
            "item_code": "TENT-FAMILY",
            "warehouse_code": "GDG-TGR",
            "quantity": 12,
            "received_on": ago(365),
            "source": "Kemensos RI",
        },
        {
            "item_code": "VELBED",
            "warehouse_code": "GDG-TGR",
            "quantity": 25,
            "received_on": ago(365),
            "source": "Kemensos RI",
        },
        {
            "item_code": "BLANKET",
            "warehouse_code": "GDG-KBG",
            "quantity": 150,
            "received_on": ago(100),
            "source": "Donasi masyarakat",
        },
    ]


def load_demo_data(
    logistics_url: str, today: date | None = None, headers: Mapping[str, str] | None = None
) -> str:
    """Register the demo warehouses, items and lots (once); a summary of what was done.
    `headers`: a keeper's sign-in, where logistics requires one."""
    today = today or office_today()
    with httpx.Client(base_url=logistics_url, timeout=10, headers=headers) as client:
        created = {"warehouses": 0, "items": 0, "lots": 0}
        for warehouse in WAREHOUSES:
            created["warehouses"] += _created(client.post("/warehouses", json=warehouse))
        for item in ITEMS:
            created["items"] += _created(client.post("/items", json=item))
        if not client.get("/lots").json():
            for lot in demo_lots(today):
                created["lots"] += _created(
                    client.post("/lots", json={**lot, "received_by": "Demo"})
                )
        for level in MINIMUM_LEVELS:
            _ok(client.put("/minimum-levels", json=level))
        if not client.get("/purchase-orders").json():
            _demo_order(client, today)
        stock = client.get("/stock").json()
    lines = [
        f"    {row['warehouse_code']:<8} {row['item_code']:<15} {row['free']:>5} {row['unit']}"
        for row in stock
    ]
    return (
        f"    new: {created['warehouses']} warehouses, {created['items']} items, "
        f"{created['lots']} lots; free stock now:\n" + "\n".join(lines) + "\n"
        f"    warehouse screens: {logistics_url}/ui (English: {logistics_url}/ui?lang=en)"
    )


# Buffer stock: family kits and rice for 50 households for 3 days at the main warehouse.
MINIMUM_LEVELS = [
    {
        "item_code": "FAMILY-KIT",
        "warehouse_code": "GDG-TGR",
        "households": 50,
        "per_household_per_day": 1,
        "days": 3,
        "basis": "50 KK x 1 paket x 3 hari",
    },
    {
        "item_code": "RICE-5KG",
        "warehouse_code": "GDG-TGR",
        "households": 50,
        "per_household_per_day": 1,
        "days": 3,
        "basis": "50 KK x 1 sak x 3 hari",
    },
]


def _demo_order(client: httpx.Client, today: date) -> None:
    """A purchase request for family kits below their buffer, ordered from a supplier."""
    request = client.post(
        "/purchase-requests",
        json={
            "source": "buffer_stock",
            "lines": [{"item_code": "FAMILY-KIT", "quantity": 120}],
            "needed_by": (today + timedelta(days=30)).isoformat(),
            "requested_by": "Demo",
        },
    )
    _ok(request)
    _ok(
        client.post(
            "/purchase-orders",
            json={
                "request_id": request.json()["id"],
                "number": f"PO-{today:%y%m%d}/SANDANG/DEMO",
                "supplier": "CV Kutai Sandang Lestari",
                "warehouse_code": "GDG-TGR",
                "expected_on": (today + timedelta(days=7)).isoformat(),
                "lines": [{"item_code": "FAMILY-KIT", "quantity": 120}],
            },
        )
    )


def _ok(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")


def _created(response: httpx.Response) -> int:
    if response.status_code == 201:
        return 1
    if response.status_code == 409:
        return 0
    raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
