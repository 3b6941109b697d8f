"""`bench.profile` runs the four services in one process without a broker and hands each
service's announcements to the others' subscriptions: a few incidents go all the way
through, and each service's CPU and profile come out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.profile import run


def test_a_few_incidents_go_through_every_service_and_each_gets_a_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(incidents=2, html=tmp_path)

    printed = capsys.readouterr().out
    figures = {line.split()[0]: line for line in printed.splitlines() if " ms" in line}
    assert set(figures) >= {"intake", "logistics", "distribution", "notify"}
    assert "IncidentVerified 1" in figures["logistics"]
    assert "DispatchPlanned 1" in figures["notify"]
    assert "StockMoved" not in figures["notify"]
    assert sorted(p.name for p in tmp_path.glob("*.html")) == [
        "distribution.html",
        "intake.html",
        "logistics.html",
        "notify.html",
    ]
