"""Which events exist is written in one place, `shared.contracts.union.AnyEvent`: these
tests fail when an event class is left out of it, when a topic publishes an event the
union lacks, or when an event sits in another service's module than its producer's."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType
from typing import Literal, get_args, get_origin

import pytest

import shared.contracts
from shared.asyncapi import PUBLISHED_BY, asyncapi_document
from shared.contracts.envelope import EventBase
from shared.contracts.union import event_class, event_types, schema_versions
from shared.topics import ALL_TOPICS

SERVICE_MODULES = ("intake", "logistics", "distribution", "notify")


def contract_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{shared.contracts.__name__}.{info.name}")
        for info in pkgutil.iter_modules(shared.contracts.__path__)
    ]


def events_defined_in(module: ModuleType) -> set[type[EventBase]]:
    """The event classes `module` defines (an `_` base shared by some events aside)."""
    return {
        value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, EventBase)
        and value is not EventBase
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }


def test_every_event_class_in_the_contracts_package_is_in_the_union() -> None:
    defined = {cls for module in contract_modules() for cls in events_defined_in(module)}
    assert len(defined) >= 47
    missing = sorted(cls.__qualname__ for cls in defined - set(event_types()))
    assert missing == [], f"add these to AnyEvent in shared/contracts/union.py: {missing}"


def test_the_union_holds_each_event_once() -> None:
    names = [contract.__name__ for contract in event_types()]
    assert sorted(names) == sorted(set(names))


@pytest.mark.parametrize("contract", event_types(), ids=lambda c: c.__name__)
def test_each_event_names_itself_and_declares_its_own_versions(
    contract: type[EventBase],
) -> None:
    event_type = contract.model_fields["event_type"]
    assert get_origin(event_type.annotation) is Literal
    assert get_args(event_type.annotation) == (contract.__name__,)
    assert event_type.default == contract.__name__
    assert schema_versions(contract) != ()
    assert contract.model_fields["schema_version"].default in schema_versions(contract)
    assert event_class(contract.__name__) is contract


def test_every_event_a_topic_publishes_is_in_the_union() -> None:
    document = asyncapi_document()
    published = {name for channel in document["channels"].values() for name in channel["messages"]}
    assert {topic.name for topic in ALL_TOPICS} == {
        channel["address"] for channel in document["channels"].values()
    }
    in_union = {contract.__name__ for contract in event_types()}
    declared = {name for names in PUBLISHED_BY.values() for name in names}
    assert sorted(declared - in_union) == []
    assert sorted(published - in_union) == []
    assert sorted(in_union - published) == []


@pytest.mark.parametrize("service", SERVICE_MODULES)
def test_each_service_module_holds_exactly_the_events_that_service_publishes(
    service: str,
) -> None:
    """A service's events are in `<service>.py` (or, should it grow too long, in modules
    named `<service>_<subject>.py`), never in another service's module."""
    own = [
        module
        for module in contract_modules()
        if module.__name__.rsplit(".", 1)[-1].partition("_")[0] == service
    ]
    defined = [cls.__name__ for module in own for cls in events_defined_in(module)]
    assert sorted(defined) == sorted(PUBLISHED_BY[service])


def test_every_module_with_events_is_named_after_the_service_that_publishes_them() -> None:
    named = [
        module.__name__
        for module in contract_modules()
        if events_defined_in(module)
        and module.__name__.rsplit(".", 1)[-1].partition("_")[0] not in SERVICE_MODULES
    ]
    assert named == []


def test_the_envelope_and_union_modules_define_no_event() -> None:
    for name in ("envelope", "union"):
        module = importlib.import_module(f"shared.contracts.{name}")
        assert events_defined_in(module) == set()
