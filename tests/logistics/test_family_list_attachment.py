"""Issue 15 item 11 in logistics: the handover record (BAST) of aid sent to an incident
has the affected families attached, learnt from intake's `AffectedFamiliesListed` (heads'
names, KK masked); the newest list wins whatever order the lists arrive in."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi.testclient import TestClient

from services.logistics import allocation, documents, pdfs
from services.logistics.family_lists import families_of_case
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.dispatch import DispatchRow, HandoverIn
from shared.contracts.intake_disaster_aid import AffectedFamiliesListed, FamilyOnList
from shared.contracts.logistics import DispatchPlanned
from shared.contracts.union import serialize_event
from shared.runtime import ServiceRuntime
from shared.tansu import TansuBroker
from shared.topics import INCIDENTS
from shared.unit_of_work import UnitOfWork
from tests.logistics.support import NOW, allocate, receive, settings, verified
from tests.logistics.test_api import client, lot, verified_event  # noqa: F401  the fixture
from tests.logistics.test_documents import words
from tests.support.kafka import eventually, send_raw

RUSDI = FamilyOnList(head_name="Rusdi bin Hasan", kk_masked="64020612******07", members=5)
SITI = FamilyOnList(head_name="Siti Aminah", kk_masked="64020612******11", members=3)


def listed(incident: uuid.UUID, revision: int, *families: FamilyOnList) -> AffectedFamiliesListed:
    return AffectedFamiliesListed.first(
        office_id="kukar",
        case_id=incident,
        producer="intake",
        occurred_at=NOW,
        revision=revision,
        families=families,
    )


def hear(runtime: ServiceRuntime, event: AffectedFamiliesListed) -> None:
    runtime.run(lambda uow: allocation.on_incident_event(uow, event, settings(runtime)))


def test_the_bast_of_aid_sent_to_an_incident_attaches_its_families_with_kk_masked(
    runtime: ServiceRuntime,
) -> None:
    # Issue 15 item 11: "the handover record (BAST) per family or per location with the
    # list attached"; 004: personal data of families is confidential.
    receive(runtime, 20, date(2026, 6, 1), item="FAMILY-KIT")
    incident = verified(("FAMILY-KIT", 8))
    (planned,) = allocate(runtime, incident)
    assert isinstance(planned, DispatchPlanned)
    hear(runtime, listed(incident.case_id, 2, RUSDI, SITI))
    runtime.run(
        lambda uow: allocation.release_dispatch(uow, planned.dispatch_id, "Rina", settings(runtime))
    )
    body = HandoverIn(
        handed_over_by="Rina", received_by="Pak Lurah", receiver_organisation="Desa X"
    )
    handover = runtime.run(lambda uow: documents.record_handover(uow, planned.dispatch_id, body))

    def load(uow: UnitOfWork) -> tuple[WarehouseRow | None, list[FamilyOnList]]:
        dispatch = uow.session.get(DispatchRow, planned.dispatch_id)
        assert dispatch is not None
        families = families_of_case(uow, dispatch.case_id, "kukar")
        return uow.session.get(WarehouseRow, dispatch.warehouse_code), families

    warehouse, families = runtime.run(load)
    assert warehouse is not None
    text = words(pdfs.handover_pdf(handover, warehouse, settings(runtime).zone(), families))

    assert f"LAMPIRAN BERITA ACARA SERAH TERIMA {handover.number}" in text
    assert "Rusdi bin Hasan 64020612******07 5" in text
    assert "Siti Aminah 64020612******11 3" in text
    assert "Jumlah: 2 KK, 8 jiwa" in text


def test_an_older_list_arriving_late_does_not_replace_the_newer(runtime: ServiceRuntime) -> None:
    incident = uuid.uuid4()
    hear(runtime, listed(incident, 3, RUSDI))
    hear(runtime, listed(incident, 2, RUSDI, SITI))

    kept = runtime.run(lambda uow: families_of_case(uow, incident, "kukar"))

    assert kept == [RUSDI]


def test_another_offices_bast_never_shows_the_list(runtime: ServiceRuntime) -> None:
    incident = uuid.uuid4()
    hear(runtime, listed(incident, 1, RUSDI))

    assert runtime.run(lambda uow: families_of_case(uow, incident, "balangan")) == []


async def test_the_list_reaches_logistics_through_the_incidents_topic_and_prints_with_the_bast(
    client: TestClient,  # noqa: F811  the fixture imported above
    broker: TansuBroker,
) -> None:
    assert client.post("/lots", json=lot()).status_code == 201
    incident = verified_event(10)
    for event in (incident, listed(incident.case_id, 1, RUSDI, SITI)):
        await send_raw(
            broker.bootstrap_servers,
            INCIDENTS.name,
            serialize_event(event),
            key=str(event.case_id).encode(),
        )
    (dispatch,) = await eventually(
        lambda: client.get("/dispatches", params={"case_id": str(incident.case_id)}).json()
    )
    released = client.post(f"/dispatches/{dispatch['id']}/release", json={"released_by": "Rina"})
    assert released.status_code == 200, released.text
    handover = {
        "handed_over_by": "Rina",
        "received_by": "Pak Camat",
        "receiver_organisation": "Posko",
    }
    bast = client.post(f"/dispatches/{dispatch['id']}/handover", json=handover).json()

    def printed() -> str | None:
        # The list travels on its own: it may land after the dispatch is planned.
        text = words(client.get(f"/handovers/{bast['id']}.pdf").content)
        return text if "Siti Aminah" in text else None

    text = await eventually(printed)
    assert "Rusdi bin Hasan 64020612******07 5" in text
    assert "Jumlah: 2 KK, 8 jiwa" in text
