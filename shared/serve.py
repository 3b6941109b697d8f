"""Run one service's API (and with it, its agents) under uvicorn."""

from __future__ import annotations

import logging
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI

from shared.logs import log_handler
from shared.privacy import install_log_masking
from shared.settings import ServiceSettings

# How long open HTTP requests may take to finish at shutdown, before the lifespan stops.
HTTP_DRAIN_S = 10


def configure_logging(level: str, log_format: Literal["json", "text"] = "text") -> None:
    """Every service's logging: one line per record in `log_format`, with the request id,
    personal numbers masked."""
    logging.basicConfig(level=level.upper(), handlers=[log_handler(log_format)], force=True)
    install_log_masking()
    # faust and aiokafka are chatty at INFO during every rebalance.
    for noisy in ("faust", "mode", "aiokafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def server_options(settings: ServiceSettings) -> dict[str, Any]:
    """How uvicorn serves a service: where, how long it drains, and whose X-Forwarded-*
    headers it believes (the HTTPS proxy's address only, DINSOS_FORWARDED_ALLOW_IPS)."""
    return {
        "host": settings.host,
        "port": settings.port,
        # uvicorn's own logging setup would give its loggers handlers without the masking
        # filter; without it their records go to the root handlers, masked.
        "log_config": None,
        "log_level": "warning",
        "lifespan": "on",
        "timeout_graceful_shutdown": HTTP_DRAIN_S,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.common.forwarded_allow_ips,
    }


def serve(api: FastAPI, settings: ServiceSettings) -> None:
    """Serve until SIGINT/SIGTERM; the lifespan stops agents and relay cleanly."""
    configure_logging(settings.common.log_level, settings.common.log_format)
    uvicorn.run(api, **server_options(settings))
