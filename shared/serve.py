"""Run one service's API (and with it, its agents) under uvicorn."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

from shared.privacy import install_log_masking
from shared.settings import ServiceSettings


def configure_logging(level: str) -> None:
    """One line per record, with the logger name, for every service."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_masking()
    # faust and aiokafka are chatty at INFO during every rebalance.
    for noisy in ("faust", "mode", "aiokafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def serve(api: FastAPI, settings: ServiceSettings) -> None:
    """Serve until SIGINT/SIGTERM; the lifespan stops agents and relay cleanly."""
    configure_logging(settings.common.log_level)
    uvicorn.run(
        api,
        host=settings.host,
        port=settings.port,
        # uvicorn's own logging setup would give its loggers handlers without the masking
        # filter; without it their records go to the root handlers, masked.
        log_config=None,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
