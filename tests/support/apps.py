"""Typed access to what a test client's service app holds: `TestClient.app` is typed as
any ASGI app, and its `state` is untyped; these check and say what they return."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.runtime import ServiceRuntime


def app_of(client: TestClient) -> FastAPI:
    """The FastAPI app behind `client`."""
    app = client.app
    if not isinstance(app, FastAPI):
        raise TypeError(f"the client serves {type(app).__name__}, not a FastAPI app")
    return app


def runtime_of(client: TestClient) -> ServiceRuntime:
    """The service runtime (database, clock, outbox) of the app behind `client`."""
    runtime = app_of(client).state.runtime
    if not isinstance(runtime, ServiceRuntime):
        raise TypeError(f"app.state.runtime is {type(runtime).__name__}")
    return runtime


def state_of(client: TestClient, name: str) -> Any:
    """Another object the app keeps in its state (its settings, a policy)."""
    return getattr(app_of(client).state, name)
