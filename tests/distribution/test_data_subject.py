"""A data subject's rights (UU PDP 27/2022) on both databases: a correction is checked
like a registration and audited without its values; an export gives everything held about
the person, including who read it, and is itself audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from services.distribution import registry
from services.distribution.common import Policy
from services.distribution.models.registry import AddressIn, CorrectionIn
from shared.audit import acting_as
from shared.clock import FixedClock
from shared.errors import Conflict, DomainError, Unprocessable
from shared.runtime import ServiceRuntime
from tests.distribution.programs_support import START, make_runtime, nik, person, register


@pytest.fixture
def service(database_url: str) -> Iterator[tuple[ServiceRuntime, Policy]]:
    yield from make_runtime(database_url, FixedClock(START))


def test_a_correction_is_checked_saved_and_audited_without_its_values(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    row = register(runtime, policy, person(1))
    with acting_as("kabid", "request:PATCH /recipients/x r-9"):
        runtime.run(
            lambda uow: registry.correct_recipient(
                uow,
                policy,
                row.id,
                CorrectionIn(
                    phone="081298765432",
                    address=AddressIn(district="Tenggarong", village="Panji"),
                    reason="pindah rumah, menurut penerima",
                ),
            )
        )
    shown = runtime.run(
        lambda uow: registry.recipient_view(
            registry.get_recipient(uow, row.id), policy.vault, reveal=True
        )
    )
    assert (shown.phone, shown.village) == ("081298765432", "Panji")
    entry = runtime.run(lambda uow: runtime.audit_trail.list(uow.session, entity_id=str(row.id)))[0]
    assert (entry["action"], entry["actor"]) == ("PersonalDataCorrected", "kabid")
    assert '"fields": ["phone", "address"]' in entry["details"]
    assert "081298765432" not in entry["details"]


@pytest.mark.parametrize(
    ("correction", "error", "code"),
    [
        (CorrectionIn(nik="6402063201509999", reason="typo"), Unprocessable, "invalid_nik"),
        (
            CorrectionIn(address=AddressIn(district="Tenggarong", village="Nowhere"), reason="x y"),
            Unprocessable,
            "address_not_in_regency",
        ),
        (CorrectionIn(kk="123", reason="typo"), Unprocessable, "invalid_kk"),
        (CorrectionIn(reason="nothing at all"), Unprocessable, "empty_correction"),
    ],
)
def test_a_bad_correction_is_refused_and_changes_nothing(
    service: tuple[ServiceRuntime, Policy],
    correction: CorrectionIn,
    error: type[DomainError],
    code: str,
) -> None:
    runtime, policy = service
    row = register(runtime, policy, person(2))
    with pytest.raises(error) as caught:
        runtime.run(lambda uow: registry.correct_recipient(uow, policy, row.id, correction))
    assert caught.value.error_code == code
    after = runtime.run(lambda uow: registry.get_recipient(uow, row.id))
    assert (after.village, after.nik_hash) == (row.village, row.nik_hash)
    assert (
        runtime.run(lambda uow: runtime.audit_trail.list(uow.session, entity_id=str(row.id))) == []
    )


def test_a_nik_already_registered_to_someone_else_is_refused(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    register(runtime, policy, person(3))
    other = register(runtime, policy, person(4))
    with pytest.raises(Conflict):
        runtime.run(
            lambda uow: registry.correct_recipient(
                uow, policy, other.id, CorrectionIn(nik=nik(3), reason="typo")
            )
        )


def test_a_correction_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        CorrectionIn(name="Ibu Siti")  # type: ignore[call-arg]  # the missing reason is the point


def test_an_export_holds_everything_and_who_read_it(
    service: tuple[ServiceRuntime, Policy],
) -> None:
    runtime, policy = service
    row = register(runtime, policy, person(5))
    with acting_as("kabid", "request:GET /recipients/x r-1"):
        runtime.run(
            lambda uow: uow.audit(
                action="PersonalDataRead",
                entity="recipient",
                entity_id=str(row.id),
                office_id=row.office_id,
                details={"purpose": "verifikasi"},
            )
        )
    with acting_as("admin", "request:GET /recipients/x/personal-data r-2"):
        export = runtime.run(
            lambda uow: registry.personal_data_export(uow, policy, row.id, "permintaan subjek")
        )
    assert export["recipient"]["nik"] == nik(5)  # in clear: it is the person's own data
    assert export["access_log"][0]["actor"] == "kabid"
    assert export["deliveries"] == [] and export["enrolments"] == []
    trail = runtime.run(lambda uow: runtime.audit_trail.list(uow.session, entity_id=str(row.id)))
    assert trail[0]["action"] == "PersonalDataExported" and trail[0]["actor"] == "admin"
