"""The delivery state machine reaches the programs only through `PROGRAM_HOOKS`: a kind of
delivery missing from it would be handed over, returned and released without its program
hearing of it."""

from __future__ import annotations

from services.distribution.deliveries import PROGRAM_HOOKS
from services.distribution.domain import DeliveryKind
from shared.contracts.envelope import CaseType


def test_every_program_kind_of_delivery_has_its_hooks() -> None:
    assert set(PROGRAM_HOOKS) == set(DeliveryKind) - {DeliveryKind.INCIDENT}


def test_each_program_answers_the_releases_of_its_own_case_type() -> None:
    assert {kind: hooks.case_type for kind, hooks in PROGRAM_HOOKS.items()} == {
        DeliveryKind.PERMAKANAN: CaseType.PERMAKANAN_ROUND,
        DeliveryKind.SANDANG: CaseType.SANDANG_REQUEST,
    }
