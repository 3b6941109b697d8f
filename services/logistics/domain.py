"""logistics' rules, free of I/O: which lots an incident's needs are taken from.

The rule, from the decrees: relief goods leave the warehouse oldest first (FIFO by the
date received, 001) and are never expired (000). A lot counts as usable for a delivery
only if it is still good on the day the delivery must arrive; "good on day D" means its
expiry date is after D. Warehouses are tried nearest first (geodesic distance to the
incident), so one incident may be served from several warehouses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from uuid import UUID

from shared.events import GeoPoint
from shared.geo import distance_km


@dataclass(frozen=True)
class LotStock:
    """What a lot holds that nobody has claimed yet."""

    lot_id: UUID
    item_code: str
    warehouse_code: str
    received_on: date
    expires_on: date | None
    free: int


@dataclass(frozen=True)
class Site:
    """A warehouse and where it is."""

    code: str
    location: GeoPoint


@dataclass(frozen=True)
class Take:
    """A quantity taken from one lot."""

    lot: LotStock
    quantity: int


@dataclass(frozen=True)
class Shortfall:
    """What could not be covered for one item, and why."""

    item_code: str
    requested: int
    allocated: int
    reason: Literal["insufficient_stock", "unknown_item"]

    @property
    def missing(self) -> int:
        """Units still needed."""
        return self.requested - self.allocated


@dataclass(frozen=True)
class WarehousePick:
    """Everything one warehouse sends for an incident."""

    site: Site
    distance_km: float
    takes: tuple[Take, ...]


@dataclass(frozen=True)
class AllocationPlan:
    """The picks per warehouse (nearest first) and what is still missing."""

    picks: tuple[WarehousePick, ...] = ()
    shortfalls: tuple[Shortfall, ...] = field(default_factory=tuple)


def usable_for(lot: LotStock, must_last_until: date) -> bool:
    """A lot may be sent if it has free units and is still good on the arrival day."""
    return lot.free > 0 and (lot.expires_on is None or lot.expires_on > must_last_until)


def fifo_key(lot: LotStock) -> tuple[date, str]:
    """Oldest received first; the lot id breaks ties so the order is total and stable."""
    return lot.received_on, str(lot.lot_id)


def pick_fifo(lots: Iterable[LotStock], requested: int, must_last_until: date) -> list[Take]:
    """Take up to `requested` units, oldest usable lot first, never more than a lot has."""
    if requested <= 0:
        raise ValueError(f"requested quantity must be positive, got {requested}")
    takes: list[Take] = []
    remaining = requested
    for lot in sorted((lot for lot in lots if usable_for(lot, must_last_until)), key=fifo_key):
        if remaining == 0:
            break
        quantity = min(lot.free, remaining)
        takes.append(Take(lot=lot, quantity=quantity))
        remaining -= quantity
    return takes


def sites_by_distance(sites: Iterable[Site], destination: GeoPoint) -> list[tuple[Site, float]]:
    """Warehouses nearest the destination first (geodesic km; code breaks ties)."""
    measured = [(site, distance_km(site.location, destination)) for site in sites]
    return sorted(measured, key=lambda pair: (pair[1], pair[0].code))


def plan_allocation(
    needs: Sequence[tuple[str, int]],
    sites: Iterable[Site],
    lots: Iterable[LotStock],
    *,
    destination: GeoPoint,
    known_items: Iterable[str],
    must_last_until: date,
) -> AllocationPlan:
    """Cover each need from the nearest warehouses first, FIFO within each warehouse."""
    catalogue = set(known_items)
    ranked = sites_by_distance(sites, destination)
    lots_by_place: dict[tuple[str, str], list[LotStock]] = {}
    for lot in lots:
        lots_by_place.setdefault((lot.warehouse_code, lot.item_code), []).append(lot)

    takes_by_site: dict[str, list[Take]] = {}
    shortfalls: list[Shortfall] = []
    for item_code, requested in needs:
        if item_code not in catalogue:
            shortfalls.append(Shortfall(item_code, requested, 0, "unknown_item"))
            continue
        remaining = requested
        for site, _distance in ranked:
            if remaining == 0:
                break
            takes = pick_fifo(
                lots_by_place.get((site.code, item_code), ()), remaining, must_last_until
            )
            if takes:
                takes_by_site.setdefault(site.code, []).extend(takes)
                remaining -= sum(take.quantity for take in takes)
        if remaining:
            shortfalls.append(
                Shortfall(item_code, requested, requested - remaining, "insufficient_stock")
            )

    picks = tuple(
        WarehousePick(site=site, distance_km=distance, takes=tuple(takes_by_site[site.code]))
        for site, distance in ranked
        if site.code in takes_by_site
    )
    return AllocationPlan(picks=picks, shortfalls=tuple(shortfalls))


def total_by_item(takes: Iterable[Take]) -> Mapping[str, int]:
    """Units per item across takes."""
    totals: dict[str, int] = {}
    for take in takes:
        totals[take.lot.item_code] = totals.get(take.lot.item_code, 0) + take.quantity
    return totals


def receipt_problem(received_on: date, expires_on: date | None, today: date) -> str | None:
    """Why a receipt cannot be booked, or None: goods must not arrive from the future, and
    expired goods are refused at the door (the decree: not expired, 000)."""
    if received_on > today:
        return f"received_on {received_on} is after today ({today})"
    if expires_on is not None and expires_on <= today:
        return f"lot expired on {expires_on}; expired goods are refused at receipt"
    return None


def adjustment_problem(on_hand: int, reserved: int, delta: int) -> str | None:
    """Why a correction cannot be booked, or None: stock never goes below zero or below
    what is already promised to a dispatch."""
    if delta == 0:
        return "an adjustment of 0 changes nothing"
    if on_hand + delta < 0:
        return f"lot holds {on_hand}; removing {-delta} would make it negative"
    if on_hand + delta < reserved:
        return (
            f"{reserved} units of this lot are reserved for dispatches; "
            f"on hand cannot go to {on_hand + delta}"
        )
    return None
