"""`dinsos-admin users add` and `dinsos-admin users reset-password`: the built-in identity
provider's users file, changed safely (locked, atomically replaced, comments kept).

The password is asked twice on the terminal (never echoed), or read from the first line
of standard input with `--password-stdin` for scripts. It is hashed at OWASP's cost.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from shared.auth import Role
from shared.passwords import hash_password, password_weakness
from shared.userfile import UsersFileError, add_user, check_new_user, set_password_hash


class CommandRefused(Exception):
    """Why the command did nothing (printed, exit code 1)."""


def _users_file(arguments: argparse.Namespace) -> Path:
    path = arguments.file or os.environ.get("DINSOS_AUTH_USERS_FILE")
    if not path:
        raise CommandRefused("name the users file with --file or DINSOS_AUTH_USERS_FILE")
    return Path(path)


def _new_password(arguments: argparse.Namespace, user_inputs: tuple[str, ...]) -> str:
    if arguments.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandRefused("the two passwords differ; nothing was changed")
    weakness = password_weakness(password, user_inputs=user_inputs)
    if weakness is not None:
        raise CommandRefused(f"the password is refused: {weakness}")
    return password


def _add(arguments: argparse.Namespace) -> None:
    path = _users_file(arguments)
    check_new_user(username=arguments.username, office_id=arguments.office, roles=arguments.role)
    name = arguments.name or arguments.username
    password = _new_password(arguments, (arguments.username, name, arguments.office))
    add_user(
        path,
        username=arguments.username,
        name=name,
        office_id=arguments.office,
        roles=sorted(set(arguments.role)),
        password_hash=hash_password(password),
    )
    print(f"added {arguments.username} ({arguments.office}: {', '.join(arguments.role)}) to {path}")


def _reset_password(arguments: argparse.Namespace) -> None:
    path = _users_file(arguments)
    if not path.exists():
        raise CommandRefused(f"{path} does not exist")
    password = _new_password(arguments, (arguments.username,))
    set_password_hash(path, arguments.username, hash_password(password))
    print(
        f"new password set for {arguments.username} in {path}; "
        "their sessions end at their next refresh (within minutes)"
    )


def _refusing(action: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    """The action as a command: 0 when done, 1 with the reason when refused."""

    def run(arguments: argparse.Namespace) -> int:
        try:
            action(arguments)
        except (CommandRefused, UsersFileError, OSError) as exc:
            print(f"dinsos-admin: {exc}", file=sys.stderr)
            return 1
        return 0

    return run


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`users add` and `users reset-password`."""
    users = groups.add_parser("users", help="users of the built-in identity provider")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("username")
    common.add_argument(
        "--file", help="the users file (default: $DINSOS_AUTH_USERS_FILE)", default=None
    )
    common.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )

    add = actions.add_parser("add", parents=[common], help="add a user (asks for a password)")
    add.add_argument("--office", required=True, help="the user's office id, e.g. kukar")
    add.add_argument(
        "--role",
        required=True,
        action="append",
        choices=[role.value for role in Role],
        help="a role (repeat for several)",
    )
    add.add_argument("--name", help="the user's full name (default: the user name)")
    add.set_defaults(run=_refusing(_add))

    reset = actions.add_parser(
        "reset-password", parents=[common], help="give a user a new password"
    )
    reset.set_defaults(run=_refusing(_reset_password))
