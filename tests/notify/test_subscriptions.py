"""Which events reach notify's clocks at all: those no clock can want are passed over
before a transaction is opened (a lot's stock movements are two per dispatch line, and
each cost notify a claimed, committed transaction that did nothing)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.standards import Standards, load_standards
from services.notify.stream import subscriptions
from shared.contracts.envelope import CaseType, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentReported, Reporter
from shared.contracts.logistics import MovementKind, StockMoved
from shared.contracts.notify import ResponseDeadlineAtRisk
from shared.contracts.union import AnyEvent

AT = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def standards() -> Standards:
    return load_standards()


def reported() -> IncidentReported:
    return IncidentReported.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="intake",
        occurred_at=AT,
        hazard=HazardType.FLOOD,
        happened_at=AT - timedelta(hours=2),
        reporter=Reporter(name="Tim Tagana Tenggarong", role="tagana"),
        location=GeoPoint(lat=-0.42, lon=116.98),
        households_affected=4,
        people_affected=12,
        stated_needs=(NeedLine(item_code="RICE-5KG", quantity=4),),
    )


def stock_moved() -> StockMoved:
    lot = uuid.uuid4()
    return StockMoved.first(
        office_id="kukar",
        case_id=lot,
        case_type=CaseType.STOCK,
        producer="logistics",
        occurred_at=AT,
        movement_id=uuid.uuid4(),
        kind=MovementKind.RESERVATION,
        warehouse_code="GDG-TGR",
        item_code="RICE-5KG",
        lot_id=lot,
        on_hand_delta=0,
        reserved_delta=4,
        on_hand_after=40,
    )


def wanted_by_notify(standards: Standards, event: AnyEvent) -> bool:
    return any(s.wants(event) for s in subscriptions(standards))


def test_a_report_reaches_notifys_clocks(standards: Standards) -> None:
    assert wanted_by_notify(standards, reported())


def test_a_lots_stock_movement_is_passed_over_as_no_offices_standard_clocks_stock(
    standards: Standards,
) -> None:
    assert CaseType.STOCK.value not in standards.clocked_case_types
    assert not wanted_by_notify(standards, stock_moved())


def test_notifys_own_announcements_read_back_from_its_topic_are_passed_over(
    standards: Standards,
) -> None:
    warning = ResponseDeadlineAtRisk.caused_by(
        reported(),
        producer="notify",
        occurred_at=AT,
        service_code="emergency_relief",
        deadline=AT + timedelta(hours=24),
        threshold=0.5,
        seconds_remaining=43200,
    )

    assert not wanted_by_notify(standards, warning)


def test_every_case_kind_an_office_clocks_is_let_through(standards: Standards) -> None:
    kinds = {
        service.case_type
        for standard in (standards.default, *standards.offices.values())
        for service in standard.services.values()
    }

    assert kinds == standards.clocked_case_types
    assert {"incident", "complaint"} <= kinds
