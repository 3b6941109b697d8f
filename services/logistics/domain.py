"""logistics' rules, free of I/O: which lots a delivery's needs are taken from, and what
a stock change may and may not do.

The issue rule, from the decrees: relief goods leave the warehouse oldest first ("metode
FIFO (First In First Out)", 001) and are never defective or expired ("tidak cacat dan
tidak kadaluwarsa", 000). FIFO alone would let a dated lot expire on the shelf behind
older stock, so a lot that would expire before its turn comes goes first: a lot that is
inside its item's near-expiry window (`near_expiry_days` before its expiry) on the day
the goods must last until is *due early*. Due-early lots leave first, the one expiring
first; every other lot leaves strictly oldest first by the day it was received, with or
without an expiry date (`issue_key`). A lot is usable for a delivery only if it is in
good condition and still good on the day the delivery must arrive: its expiry date is
after that day. Warehouses are tried nearest first (geodesic distance), so one need may
be served from several.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal
from uuid import UUID

from shared.contracts.envelope import GeoPoint
from shared.errors import Conflict, Unprocessable
from shared.geo import distance_km


class Refused(Unprocessable):
    """A broken rule with the particulars (an item, a quantity, a lot) a screen needs to
    say it in its reader's language, keyed by `code`; `detail` says it in English for
    the API and the logs."""

    def __init__(self, detail: str, *, code: str, **facts: str | int) -> None:
        super().__init__(detail, code=code)
        self.facts = facts


@dataclass(frozen=True)
class LotStock:
    """What a lot holds that nobody has claimed yet."""

    lot_id: UUID
    item_code: str
    warehouse_code: str
    received_on: date
    expires_on: date | None
    free: int
    quarantined: bool = False
    near_expiry_days: int = 30  # the item's window: how early a lot jumps the queue


def due_early(lot: LotStock, must_last_until: date) -> bool:
    """Whether the lot is inside its near-expiry window on the day the goods must last
    until: then it goes before older stock, or it could expire waiting its turn."""
    return (
        lot.expires_on is not None
        and lot.expires_on - timedelta(days=lot.near_expiry_days) <= must_last_until
    )


IssueKey = tuple[bool, date, date, str]


class IssueOrderBroken(RuntimeError):
    """Lots reached the picker out of issue order: a query bug, never an expected outcome,
    so the allocation is rolled back rather than issue the wrong lot."""


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
    """A lot may be issued if it is in good condition, has free units and is still good
    on the arrival day (expiry strictly after it)."""
    return (
        not lot.quarantined
        and lot.free > 0
        and (lot.expires_on is None or lot.expires_on > must_last_until)
    )


def issue_key(lot: LotStock, must_last_until: date) -> IssueKey:
    """The issue order (see the module docstring): due-early lots first, by expiry; then
    the rest oldest received first; lot id last so the order is total and stable."""
    if lot.expires_on is not None and due_early(lot, must_last_until):
        return False, lot.expires_on, lot.received_on, str(lot.lot_id)
    return True, lot.received_on, lot.received_on, str(lot.lot_id)


def take_in_issue_order(
    lots: Iterable[LotStock], requested: int, must_last_until: date
) -> list[Take]:
    """Take up to `requested` units from lots that arrive already in issue order (a lazy
    stream read from an index), consuming only as many lots as needed.

    Raises `IssueOrderBroken` if the stream is out of order: the caller's query and this
    rule must agree, and an allocation that silently broke FIFO is worse than none."""
    if requested <= 0:
        raise ValueError(f"requested quantity must be positive, got {requested}")
    takes: list[Take] = []
    remaining = requested
    previous: IssueKey | None = None
    for lot in lots:
        key = issue_key(lot, must_last_until)
        if previous is not None and key < previous:
            raise IssueOrderBroken(f"lot {lot.lot_id} arrived after a later lot")
        previous = key
        if not usable_for(lot, must_last_until):
            continue
        quantity = min(lot.free, remaining)
        takes.append(Take(lot=lot, quantity=quantity))
        remaining -= quantity
        if remaining == 0:
            break
    return takes


def pick_lots(lots: Iterable[LotStock], requested: int, must_last_until: date) -> list[Take]:
    """Take up to `requested` units from lots in any order, by the issue rule."""
    ordered = sorted(lots, key=lambda lot: issue_key(lot, must_last_until))
    return take_in_issue_order(ordered, requested, must_last_until)


def sites_by_distance(sites: Iterable[Site], destination: GeoPoint) -> list[tuple[Site, float]]:
    """Warehouses nearest the destination first (geodesic km; code breaks ties)."""
    measured = [(site, distance_km(site.location, destination)) for site in sites]
    return sorted(measured, key=lambda pair: (pair[1], pair[0].code))


LotSource = Callable[[str, str, date], Iterable[LotStock]]
"""(warehouse code, item code, must last until) → that warehouse's lots of the item, in
issue order for that day."""


def plan_allocation(
    needs: Sequence[tuple[str, int]],
    sites: Iterable[Site],
    lots_at: LotSource,
    *,
    destination: GeoPoint,
    known_items: Iterable[str],
    must_last_until: date,
) -> AllocationPlan:
    """Cover each need from the nearest warehouses first, in issue order within each.

    `lots_at` is asked for one warehouse and item at a time and read only as far as the
    need goes, so a caller can stream lots from an index instead of loading them all."""
    catalogue = set(known_items)
    ranked = sites_by_distance(sites, destination)
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
            takes = take_in_issue_order(
                lots_at(site.code, item_code, must_last_until), remaining, must_last_until
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


def lots_from(lots: Iterable[LotStock]) -> LotSource:
    """A `LotSource` over lots held in memory (tests, small callers)."""
    by_place: dict[tuple[str, str], list[LotStock]] = {}
    for lot in lots:
        by_place.setdefault((lot.warehouse_code, lot.item_code), []).append(lot)

    def lots_at(warehouse_code: str, item_code: str, must_last_until: date) -> list[LotStock]:
        here = by_place.get((warehouse_code, item_code), ())
        return sorted(here, key=lambda lot: issue_key(lot, must_last_until))

    return lots_at


def total_by_item(takes: Iterable[Take]) -> Mapping[str, int]:
    """Units per item across takes."""
    totals: dict[str, int] = {}
    for take in takes:
        totals[take.lot.item_code] = totals.get(take.lot.item_code, 0) + take.quantity
    return totals


def check_receipt(received_on: date, expires_on: date | None, today: date) -> None:
    """Refuse a receipt that cannot be booked: goods must not arrive from the future
    (`received_in_future`), and expired goods are refused at the door (the decree: not
    expired, 000; `expired_at_receipt`)."""
    if received_on > today:
        raise Refused(
            f"received_on {received_on} is after today ({today})", code="received_in_future"
        )
    if expires_on is not None and expires_on <= today:
        raise Refused(
            f"lot expired on {expires_on}; expired goods are refused at receipt",
            code="expired_at_receipt",
        )


def check_adjustment(on_hand: int, reserved: int, delta: int) -> None:
    """Refuse a correction that cannot be booked (Unprocessable `adjustment_refused`):
    stock never goes below zero or below what is already promised to a dispatch."""
    if delta == 0:
        raise Unprocessable("an adjustment of 0 changes nothing", code="adjustment_refused")
    if on_hand + delta < 0:
        raise Unprocessable(
            f"lot holds {on_hand}; removing {-delta} would make it negative",
            code="adjustment_refused",
        )
    if on_hand + delta < reserved:
        raise Unprocessable(
            f"{reserved} units of this lot are reserved for dispatches; "
            f"on hand cannot go to {on_hand + delta}",
            code="adjustment_refused",
        )


def check_backdated_decrease(
    received_on: date,
    effective_on: date,
    balances_from_then: Sequence[int],
    decrease: int,
    *,
    code: str,
) -> None:
    """Refuse a decrease dated `effective_on` that cannot be posted (Unprocessable with
    `code`, the refusal code of the use case that asked).

    `balances_from_then` are the lot's running on-hand balances at and after that date
    (the balance just before it first). A back-dated decrease lowers every later balance,
    so it is refused if any of them would go below zero: history is never rewritten into
    a state where goods left a lot that did not hold them."""
    if effective_on < received_on:
        raise Unprocessable(
            f"the lot was received on {received_on}; nothing left it on {effective_on}",
            code=code,
        )
    lowest = min(balances_from_then, default=0)
    if lowest - decrease < 0:
        raise Unprocessable(
            f"on or after {effective_on} the lot held as little as {lowest}; "
            f"taking {decrease} then would make its history negative",
            code=code,
        )


def check_issue_date(lot_id: UUID, expires_on: date | None, effective_on: date) -> None:
    """Refuse to issue goods of a reserved lot that expired by `effective_on` (back-dated
    or not): Conflict `lot_expired`, the dispatch must be cancelled and planned again."""
    if expires_on is not None and expires_on <= effective_on:
        raise Conflict(
            f"lot {lot_id}: the lot expired on {expires_on}; it cannot be issued on "
            f"{effective_on}; cancel and re-plan",
            code="lot_expired",
        )


@dataclass(frozen=True)
class CountLine:
    """One lot in a stock count: what the books say and what was found."""

    lot_id: UUID
    book: int
    counted: int
    reserved: int

    @property
    def difference(self) -> int:
        """Units to add (+) or remove (-) so the books agree with the shelf."""
        return self.counted - self.book


def check_count(lines: Sequence[CountLine]) -> None:
    """Refuse a count that cannot be posted: a lot listed twice (`lot_counted_twice`) or
    counted below zero (`count_negative`), or a lot being picked (Conflict
    `lot_being_picked`: units reserved for a dispatch are moving between shelf and truck;
    count it later)."""
    seen: set[UUID] = set()
    for line in lines:
        if line.lot_id in seen:
            raise Refused(
                f"lot {line.lot_id} appears twice in the count",
                code="lot_counted_twice",
                lot=short_lot(line.lot_id),
            )
        seen.add(line.lot_id)
        if line.counted < 0:
            raise Refused(
                f"lot {line.lot_id}: a counted quantity cannot be negative",
                code="count_negative",
                lot=short_lot(line.lot_id),
            )
        if line.reserved > 0:
            raise Conflict(
                f"lot {line.lot_id} is being picked ({line.reserved} reserved); count it later",
                code="lot_being_picked",
            )


def short_lot(lot_id: UUID) -> str:
    """A lot's id as a keeper reads it off a label: its first eight characters."""
    return str(lot_id)[:8].upper()


def days_to_expiry(expires_on: date, today: date) -> int:
    """Whole days from today to the expiry date (0 = expires today)."""
    return (expires_on - today).days


def is_near_expiry(expires_on: date | None, today: date, window_days: int) -> bool:
    """Within the item's alert window, and not yet expired."""
    if expires_on is None:
        return False
    return 0 < days_to_expiry(expires_on, today) <= window_days


def reorder_suggestion(*, free: int, on_order: int, minimum: int) -> int:
    """Units to order so free stock plus what is already on order reaches the minimum
    (0 when it already does). Free stock is on hand minus reserved, good lots only."""
    return max(0, minimum - free - on_order)


def buffer_for_households(households: int, per_household_per_day: int, days: int = 3) -> int:
    """A buffer level from a planning rule, e.g. family kits and rice for N households for
    3 days."""
    if households <= 0 or per_household_per_day <= 0 or days <= 0:
        raise ValueError("households, daily ration and days must be positive")
    return households * per_household_per_day * days


@dataclass(frozen=True)
class ReceiptDecision:
    """What happens to one delivered line: how much becomes a lot, how much is refused."""

    accepted: int
    rejected: int
    reason: Literal["short", "damaged", "expired", "not_ordered", "other"] | None


def receipt_decision(
    *,
    item_code: str,
    delivered: int,
    accepted: int,
    reject_reason: Literal["short", "damaged", "expired", "other"] | None,
    still_ordered: int,
    expires_on: date | None,
    today: date,
) -> ReceiptDecision:
    """Check one delivered line of `item_code` against the order: what is booked and what
    is refused at the door, or a `Refused` naming what is wrong with the line
    (`delivered_not_positive`, `accepted_out_of_range`, `accepted_over_order`,
    `rejection_reason_missing`).

    Expired goods (or goods expiring today) are refused whatever the keeper accepted; more
    than is still on order is an error (the supplier must be asked, not the books bent)."""

    def wrong(problem: str, code: str, **facts: int) -> Refused:
        return Refused(f"{item_code}: {problem}", code=code, item=item_code, **facts)

    if delivered <= 0:
        raise wrong("delivered quantity must be positive", "delivered_not_positive")
    if accepted < 0 or accepted > delivered:
        raise wrong(
            f"accepted must be between 0 and delivered ({delivered})",
            "accepted_out_of_range",
            delivered=delivered,
        )
    if expires_on is not None and expires_on <= today:
        return ReceiptDecision(accepted=0, rejected=delivered, reason="expired")
    if accepted > still_ordered:
        raise wrong(
            f"accepting {accepted} exceeds the {still_ordered} still on order",
            "accepted_over_order",
            accepted=accepted,
            still=still_ordered,
        )
    rejected = delivered - accepted
    if rejected and reject_reason is None:
        raise wrong(
            f"{rejected} units not accepted: give a reason (short, damaged, expired, other)",
            "rejection_reason_missing",
            rejected=rejected,
        )
    return ReceiptDecision(
        accepted=accepted, rejected=rejected, reason=reject_reason if rejected else None
    )


@dataclass(frozen=True)
class LeadTime:
    """A procurement's time from request to goods received, against its standard."""

    days: int
    standard_days: int | None

    @property
    def overdue(self) -> bool:
        """Past the standard (False when there is none)."""
        return self.standard_days is not None and self.days > self.standard_days


# The sandang standard (000): "Proses Pengadaan Barang sampai dengan Serah Terima Barang
# membutuhkan waktu 3 (tiga) bulan", three calendar months (not 90 days) from the start of
# procurement to the handover. Permakanan rounds are every 2 months, so their goods must
# come within one round (60 days, an office target).
PROCUREMENT_STANDARD_MONTHS: Mapping[str, int] = {"sandang_request": 3}
PROCUREMENT_STANDARD_DAYS: Mapping[str, int] = {"permakanan_round": 60}


def months_later(day: date, months: int) -> date:
    """The same day `months` calendar months later, clipped to the month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))


def lead_time(
    source: str,
    requested_at: datetime,
    finished_at: datetime | None,
    now: datetime,
    zone: tzinfo = UTC,
) -> LeadTime:
    """Days from the request to its completion (or to now, while open), against the
    standard in days (calendar months counted from the request's date in `zone`)."""
    end = finished_at or now
    standard_days = PROCUREMENT_STANDARD_DAYS.get(source)
    months = PROCUREMENT_STANDARD_MONTHS.get(source)
    if months is not None:
        first_day = requested_at.astimezone(zone).date()
        standard_days = (months_later(first_day, months) - first_day).days
    return LeadTime(days=(end - requested_at) // timedelta(days=1), standard_days=standard_days)
