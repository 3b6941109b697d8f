"""`python -m shared.admin` (installed as `dinsos-admin`): parse the command line and run
the chosen command; its exit code is the process's."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from shared.admin import audit, backup, data, database, deployment, messaging, users

COMMAND_GROUPS: tuple[ModuleType, ...] = (
    deployment,
    users,
    database,
    data,
    backup,
    messaging,
    audit,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: one sub-command per group, one per action inside it."""
    parser = argparse.ArgumentParser(
        prog="dinsos-admin", description="Administration of the Dinas Sosial logistics system."
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in COMMAND_GROUPS:
        group.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 when it did what was asked."""
    arguments = build_parser().parse_args(argv)
    code: int = arguments.run(arguments)
    return code


if __name__ == "__main__":
    sys.exit(main())
