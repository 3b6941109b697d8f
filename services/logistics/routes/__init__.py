"""logistics' HTTP API, one module per resource: `catalogue` (warehouses, items), `stock`
(lots, ledger, stock card, transfers, counts, stock levels), `dispatches` (dispatches,
pick lists, handovers, shortages), `procurement` (requests, orders, receipts), `buffer`
(minimum levels, reorder suggestions, alerts); `common` holds what they share. Assembled
here with who may call each route; the warehouse screens are in the `ui` package."""

from __future__ import annotations

from fastapi import APIRouter

from services.logistics.routes import buffer, catalogue, dispatches, procurement, stock
from shared.auth import Access, Policy, Role

router = APIRouter()
for resource in (catalogue, stock, dispatches, procurement, buffer):
    router.include_router(resource.router)

# Who may call each route of the API; a route missing here is refused to everyone.
ACCESS: Policy = {
    "POST /warehouses": Access.of(Role.OFFICE_ADMIN, Role.WAREHOUSE),
    "GET /warehouses": Access.of(*Role),
    "POST /items": Access.of(Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "GET /items": Access.of(*Role),
    "PATCH /items/{item_code}": Access.of(Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "PATCH /lots/{lot_id}": Access.of(Role.WAREHOUSE),
    "POST /lots": Access.of(Role.WAREHOUSE),
    "GET /lots": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /lots/{lot_id}": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /lots/{lot_id}/adjustments": Access.of(Role.WAREHOUSE),
    "POST /lots/{lot_id}/quarantine": Access.of(Role.WAREHOUSE),
    "POST /movements/{movement_id}/reverse": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /stock-card": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /stock-card.xlsx": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /transfers": Access.of(Role.WAREHOUSE),
    "POST /counts": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /counts": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /stock": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM),
    "GET /stock.xlsx": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM
    ),
    "GET /stock/audit": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /movements": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /dispatches": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM),
    "GET /dispatches/{dispatch_id}": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM),
    "POST /dispatches/{dispatch_id}/release": Access.of(Role.WAREHOUSE),
    "POST /dispatches/{dispatch_id}/cancel": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /dispatches/{dispatch_id}/pick-list": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /dispatches/{dispatch_id}/pick-list.pdf": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /dispatches/{dispatch_id}/pick-list/sign": Access.of(Role.WAREHOUSE),
    "POST /dispatches/{dispatch_id}/handover": Access.of(Role.WAREHOUSE),
    "GET /dispatches/{dispatch_id}/handover": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM
    ),
    "GET /handovers/{handover_id}.pdf": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM
    ),
    "POST /purchase-requests": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /purchase-requests": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /purchase-requests/{request_id}": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN
    ),
    "POST /purchase-orders": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /purchase-orders": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /purchase-orders/{order_id}/receipts": Access.of(Role.WAREHOUSE),
    "PUT /minimum-levels": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /minimum-levels": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /reorder-suggestions": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /alerts": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /alerts/scan": Access.of(Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "GET /shortages": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
}
