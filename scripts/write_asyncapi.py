"""Write docs/events/asyncapi.json from the event contracts (shared/asyncapi.py).

Run after changing an event contract or a topic: `.venv/bin/python scripts/write_asyncapi.py`.
tests/contract/test_asyncapi.py fails while the checked-in file differs.
"""

from __future__ import annotations

from pathlib import Path

from shared.asyncapi import asyncapi_json

TARGET = Path(__file__).resolve().parent.parent / "docs" / "events" / "asyncapi.json"


def main() -> None:
    """Write the whole document (every topic) to TARGET."""
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(asyncapi_json(), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
