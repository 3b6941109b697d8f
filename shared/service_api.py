"""A service's HTTP side: the FastAPI app every service builds on its runtime
(`create_service_api`: lifespan, error shape, access rules, honest OpenAPI, security
headers, request guards), the health, metrics and audit routes it always has, and the
dependency that hands a route its runtime (`RuntimeDep`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from shared.api_docs import install_api_docs
from shared.asyncapi import ASYNCAPI_POLICY, asyncapi_router
from shared.audit import ChainBroken
from shared.auth import (
    Access,
    AuthSettings,
    Policy,
    Role,
    anonymous_context,
    protect,
    scoped_office,
)
from shared.csrf import CSRF_POLICY, CsrfGuard, csrf_router
from shared.errors import Conflict
from shared.http import RequestGuard, SecurityHeaders, install_error_handlers
from shared.logs import RequestIds
from shared.metrics import CONTENT_TYPE, HttpMetrics, metrics_registry, render
from shared.openapi import operation_ids, publish_honest_openapi
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def get_runtime(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the runtime of the app serving this request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


# Not an error body: the same figures as the 200, naming the checks that failed.
_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: the same figures, naming what failed",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def health_router() -> APIRouter:
    """`GET /health`: 200 when database and broker answer, 503 otherwise, with the
    figures. `GET /livez`: 200 while the process answers (no I/O: a restart is the cure
    only for a process that does not). `GET /readyz`: 200 when database, broker and
    consumer are up, else 503 naming the checks that failed (send it no work yet).
    `GET /metrics`: Prometheus' text format (shared.metrics). All public, like /health:
    they carry counts, never personal data, and a probe or scraper holds no token."""
    router = APIRouter(tags=["health"])

    @router.get("/livez")
    async def livez(runtime: RuntimeDep) -> dict[str, str]:
        return {"service": runtime.name, "status": "alive"}

    @router.get("/readyz", responses=_NOT_READY)
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        body = await runtime.readiness()
        return JSONResponse(status_code=200 if not body["failed"] else 503, content=body)

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        registry = request.app.state.metrics_registry
        return Response(await asyncio.to_thread(render, registry), media_type=CONTENT_TYPE)

    @router.get("/health", responses=_NOT_READY)
    async def health(runtime: RuntimeDep) -> JSONResponse:
        body = await runtime.health()
        return JSONResponse(status_code=200 if body["status"] == "ok" else 503, content=body)

    return router


AUDIT_POLICY: Policy = {
    "GET /audit": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /audit/verify": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /audit/anchor": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
}


def audit_router() -> APIRouter:
    """`GET /audit` (newest entries), `GET /audit/verify` (recompute the keyed chain and
    compare it with its head) and `GET /audit/anchor` (the head, signed, to keep outside)."""
    router = APIRouter(tags=["audit"])

    @router.get("/audit")
    def audit_entries(
        runtime: RuntimeDep,
        entity_id: Annotated[str | None, Query(max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """Who changed what, when, from which request or event; newest first. A signed-in
        user sees their own office's entries (the chain check below covers every office)."""
        office_id = scoped_office()
        rows = runtime.run(
            lambda uow: runtime.audit_trail.list(
                uow.session, entity_id=entity_id, office_id=office_id, limit=limit
            )
        )
        return jsonable_encoder(rows)  # type: ignore[no-any-return]  # FastAPI types it Any

    @router.get("/audit/verify")
    def audit_verify(runtime: RuntimeDep) -> dict[str, Any]:
        """Recompute every entry's hash and its link to the one before, and compare the
        last with the sealed head (so removing entries at the end is found too)."""
        return runtime.run(lambda uow: runtime.audit_trail.verify(uow.session)).as_dict()

    @router.get("/audit/anchor")
    def audit_anchor(runtime: RuntimeDep) -> dict[str, Any]:
        """The chain's head (entry count and hash) and the time, signed with Ed25519: keep
        it outside the system, and later check the chain still holds it (`dinsos-admin
        audit verify --anchor`). 409 `audit_chain_broken` when the chain does not verify."""

        def signed(uow: UnitOfWork) -> dict[str, Any]:
            return runtime.audit_trail.anchor(uow.session, service=runtime.name, at=uow.now())

        try:
            return runtime.run(signed)
        except ChainBroken as broken:
            raise Conflict(
                f"the audit chain does not verify ({broken.check.problem} at entry "
                f"{broken.check.first_broken_sequence}); no anchor is signed for it",
                code="audit_chain_broken",
            ) from broken

    return router


def create_service_api(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    policy: Policy | None = None,
    auth: AuthSettings | None = None,
) -> FastAPI:
    """A FastAPI app wired to `runtime`: lifespan, error format, health endpoint, size and
    type limits on bodies, and (given a policy) an access rule checked on every route."""
    api = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=runtime.lifespan,
        # Served by install_api_docs from local copies instead of FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_ids(runtime.name),
    )
    publish_honest_openapi(api)
    api.state.runtime = runtime
    api.state.metrics_registry = metrics_registry(runtime)
    guard_requests(api, service=runtime.name, common=runtime.settings.common)
    # Outermost: every answer is counted and carries its request id, refusals too.
    api.add_middleware(HttpMetrics, registry=api.state.metrics_registry)
    api.add_middleware(RequestIds)
    install_error_handlers(api)
    if policy is not None:
        protect(
            api,
            {**AUDIT_POLICY, **CSRF_POLICY, **ASYNCAPI_POLICY, **policy},
            auth or runtime.settings.auth,
            office=runtime.settings.common.default_office_id,
            service=runtime.name,
        )
    else:
        api.router.dependencies.append(Depends(anonymous_context))
    api.include_router(audit_router())
    api.include_router(health_router())
    api.include_router(asyncapi_router(runtime.name))
    api.include_router(csrf_router())
    install_api_docs(api)
    return api


def guard_requests(api: FastAPI, *, service: str, common: CommonSettings) -> None:
    """The checks every request passes before its route, outermost first: security
    headers on every answer (the refusals below included), limits on the address and
    body, then the CSRF check, which may read a form's body and so comes after its limit."""
    api.add_middleware(CsrfGuard, service=service)
    api.add_middleware(RequestGuard, max_body_bytes=common.max_body_bytes)
    api.add_middleware(SecurityHeaders, https_only=common.environment == "production")
