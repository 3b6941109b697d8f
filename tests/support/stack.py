"""Talking to a running `Stack` in tests: a client per service, answers checked, waiting
for what the pipeline does on its own, and a field report verified like a coordinator."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from shared.stack import Stack
from tests.support.case_records import DISPOSITION

T = TypeVar("T")


def api(stack: Stack, service: str) -> httpx.Client:
    """A client of one of the stack's services."""
    return httpx.Client(base_url=stack.url(service), timeout=15)


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of an answer that must have `status`."""
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout_s: float = 60.0,
    interval_s: float = 0.2,
    what: str = "",
) -> T:
    """The first truthy answer of `probe`, polled until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"{what or 'condition'} not met in {timeout_s}s (last: {last!r})")


def report_and_verify(
    stack: Stack,
    item: str,
    quantity: int,
    site: dict[str, float],
    **report: Any,
) -> str:
    """A flood reported an hour ago at `site`, verified as needing `quantity` of `item`;
    the incident's id. `report` overrides fields of the report."""
    with api(stack, "intake") as intake:
        incident = ok(
            intake.post(
                "/reports",
                json={
                    "reporter": {"name": "Tim Tagana Kukar", "role": "tagana"},
                    "hazard": "flood",
                    "happened_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                    "location": site,
                    "households_affected": 5,
                    "people_affected": 20,
                    "stated_needs": [{"item_code": item, "quantity": quantity}],
                }
                | report,
            ),
            201,
        )
        # Kukar verifies after the leadership's disposition (000).
        ok(intake.post(f"/incidents/{incident['id']}/dispositions", json=DISPOSITION), 201)
        ok(
            intake.post(
                f"/incidents/{incident['id']}/verification",
                json={
                    "verified_by": "Kabid Linjamsos",
                    "assessed_needs": [{"item_code": item, "quantity": quantity}],
                },
            )
        )
    return str(incident["id"])
