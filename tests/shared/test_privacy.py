"""NIK, KK and phone numbers never reach a log line in clear."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.db import create_db_engine
from shared.privacy import PersonalDataFilter, mask_nik, mask_personal_numbers
from shared.tansu import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("nik=6402065507850003", "nik=64020655******03"),
        (
            "KK 6402061203090001 dan NIK 6402065507850003",
            "KK 64020612******01 dan NIK 64020655******03",
        ),
        ("hp 081234567890", "hp 0812******90"),
        ("hp +6281234567890", "hp +62812******90"),
        ("order PO-17/2026 qty 40", "order PO-17/2026 qty 40"),
        ("id 12345678901234567", "id 12345678901234567"),  # 17 digits: not a NIK
    ],
)
def test_personal_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_personal_numbers(text) == masked


def test_a_nik_for_display_keeps_only_its_ends() -> None:
    assert mask_nik("6402065507850003") == "64020655******03"
    assert mask_nik("123") == "***"


def test_the_log_filter_masks_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.privacy")
    caplog.handler.addFilter(PersonalDataFilter())
    with caplog.at_level(logging.INFO, logger="test.privacy"):
        logger.info("enrolled %s with phone %s", "6402065507850003", "081234567890")
    assert "6402065507850003" not in caplog.text
    assert "081234567890" not in caplog.text
    assert "64020655******03" in caplog.text


NIK = "6402065507850003"


def test_a_failing_statement_shows_no_nik_in_its_error_or_the_engine_log(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_db_engine(database_url)
    try:
        with (
            caplog.at_level(logging.INFO, logger="sqlalchemy.engine"),
            pytest.raises(DBAPIError) as refused,
            engine.begin() as connection,
        ):
            connection.execute(text("INSERT INTO nowhere (nik) VALUES (:nik)"), {"nik": NIK})
    finally:
        engine.dispose()
    assert "INSERT INTO nowhere" in str(refused.value)  # the statement is still told
    assert NIK not in str(refused.value)
    assert "INSERT INTO nowhere" in caplog.text
    assert NIK not in caplog.text


def test_a_database_error_quoting_a_nik_is_masked_in_a_logged_traceback(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # PostgreSQL's own DETAIL names the duplicate key ("Key (nik)=(...) already exists"):
    # not a parameter, so only the log filter can keep it out of the log.
    engine = create_db_engine(database_url)
    caplog.handler.addFilter(PersonalDataFilter())
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE person (nik VARCHAR(16) UNIQUE NOT NULL)"))
            connection.execute(text("INSERT INTO person (nik) VALUES (:nik)"), {"nik": NIK})
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO person (nik) VALUES (:nik)"), {"nik": NIK})
        except IntegrityError:
            logging.getLogger("test.privacy").exception("saving a recipient failed")
    finally:
        engine.dispose()
    assert "IntegrityError" in caplog.text
    assert NIK not in caplog.text


SERVED_APP = """
import os, signal, sys, threading, time
import httpx
from fastapi import FastAPI
from shared.serve import serve
from shared.settings import ServiceSettings

app = FastAPI()
port = int(sys.argv[1])

@app.get("/recipients/{nik}")
def recipient(nik: str) -> None:
    raise RuntimeError(f"no recipient with NIK {nik}")

def call_then_stop() -> None:
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/recipients/%s", timeout=5)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=call_then_stop, daemon=True).start()
serve(app, ServiceSettings(port=port))
"""


def test_uvicorns_log_of_a_failed_request_masks_the_nik(tmp_path: Path) -> None:
    script = tmp_path / "served.py"
    script.write_text(SERVED_APP % NIK)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DINSOS_AUTH_REQUIRED": "false"}
    done = subprocess.run(
        [sys.executable, str(script), str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "Exception in ASGI application" in output  # uvicorn's error log was written
    assert "no recipient with NIK 64020655******03" in output
    assert NIK not in output
