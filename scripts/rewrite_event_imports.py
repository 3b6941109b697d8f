"""Rewrite imports of the old flat contract modules (`shared.events`, `shared.events_*`)
to the `shared.contracts` package: each imported name goes to the module that defines it
now (`envelope`, `intake`, `logistics`, `distribution`, `notify`, `union`).

    .venv/bin/python scripts/rewrite_event_imports.py FILE... [--check]
        [--move OLD.MODULE=NEW.MODULE ...]

Works on files it has never seen: it reads each file's syntax tree, so one-line and
parenthesised multi-line `from ... import (...)` blocks, aliases (`X as Y`) and imports
indented under `if TYPE_CHECKING:` or inside a function are all handled; a trailing
comment (a `# noqa`) stays on the first import written in its place. A name this script
does not know (one added to an old module on another branch, or `SCHEMA_VERSION`, which
is gone) is left imported from its old module, so the import fails loudly rather than
pointing somewhere wrong; so is a module it does not know (`shared.events_disaster_aid`),
unless `--move shared.events_disaster_aid=shared.contracts.intake_disaster_aid` says where
that module went: then every name imported from it goes there (a name of the old modules
it re-exported, `EventBase` say, still goes to the module that defines it).
Running it twice changes nothing the second time. Markdown files: the same, inside
```python fences. Sort and wrap the result afterwards with `ruff check --fix` and
`ruff format`.

Exit status: 0 when done (with `--check`: 1 when a file would change).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Mapping
from pathlib import Path

OLD_MODULES = frozenset(
    {
        "shared.events",
        "shared.events_alerts",
        "shared.events_complaints",
        "shared.events_field",
        "shared.events_programs",
        "shared.events_stock",
    }
)

_NEW_HOME: dict[str, tuple[str, ...]] = {
    "shared.contracts.envelope": (
        "OfficeId",
        "ItemCode",
        "Quantity",
        "ShortText",
        "LongText",
        "Producer",
        "Contract",
        "GeoPoint",
        "Address",
        "NeedLine",
        "HazardType",
        "CaseType",
        "EventBase",
    ),
    "shared.contracts.intake": (
        "ReporterRole",
        "Reporter",
        "IncidentReported",
        "IncidentVerified",
        "IncidentRejected",
        "IncidentUpdated",
        "ReportLinkedToIncident",
        "DocumentKind",
        "IncidentDocumentAttached",
        "DispositionRecorded",
        "EmergencyPhase",
        "EmergencyLevel",
        "EmergencyStatusDeclared",
        "Count",
        "HouseDamage",
        "AffectedPeople",
        "PEOPLE_GROUPS",
        "CountProblem",
        "count_problems",
        "Shelter",
        "RapidAssessmentRecorded",
        "ComplaintChannel",
        "COMPLAINT_CHANNELS",
        "_ComplaintEvent",
        "ComplaintReceived",
        "ComplaintHandlingStarted",
        "ComplaintAnswered",
        "ComplaintClosed",
    ),
    "shared.contracts.logistics": (
        "DispatchLine",
        "DispatchPlanned",
        "ShortageLine",
        "StockShortageDetected",
        "DispatchReleased",
        "MovementKind",
        "StockMoved",
        "LotQuarantined",
        "LotNearExpiry",
        "StockBelowMinimum",
        "ProcurementLine",
        "PurchaseRequested",
        "PurchaseOrderPlaced",
        "ReceivedLine",
        "RejectedLine",
        "GoodsReceived",
        "ProcurementCompleted",
    ),
    "shared.contracts.distribution": (
        "DeliveryScheduled",
        "DeliveryAssigned",
        "DeliveryDeparted",
        "DeliveryArrived",
        "DeliveryCompleted",
        "DeliveryFailed",
        "GoodsRequested",
        "PermakananRoundScheduled",
        "PermakananRoundCompleted",
        "SandangRequested",
        "SandangProcurementStarted",
        "SandangHandedOver",
        "ReturnedLine",
        "DeliveryReturned",
        "RecipientFlaggedForReview",
        "DeliveryRunPlanned",
        "DeliveryRunDeparted",
    ),
    "shared.contracts.notify": (
        "ResponseDeadlineAtRisk",
        "ResponseDeadlineBreached",
        "ResponseClockStopped",
        "Rung",
        "StageOverdue",
        "BreachPredicted",
        "AlertEscalated",
        "AlertAcknowledged",
    ),
    "shared.contracts.union": (
        "AnyEvent",
        "EventRejected",
        "event_types",
        "event_class",
        "parse_event",
        "serialize_event",
    ),
}

NEW_MODULE_OF: dict[str, str] = {
    name: module for module, names in _NEW_HOME.items() for name in names
}

_FENCE = re.compile(r"(^```python[^\n]*\n)(.*?)(^```)", re.DOTALL | re.MULTILINE)


def _comments(source_lines: list[str], first: int, last: int) -> list[str]:
    """The comments on lines `first`..`last` (1-based, inclusive) of the source."""
    text = "".join(source_lines[first - 1 : last])
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found.append(token.string)
    except (tokenize.TokenError, IndentationError):
        pass  # a block cut out of its context may not tokenize to the end
    return found


def _alias_text(alias: ast.alias) -> str:
    return alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"


def _replacement(
    node: ast.ImportFrom, indent: str, comments: list[str], moved: Mapping[str, str]
) -> list[str] | None:
    """The lines that replace `node`, or None when it imports nothing this script knows."""
    old_module = node.module or ""
    by_module: dict[str, list[str]] = {}
    unknown: list[str] = []
    for alias in node.names:
        module = NEW_MODULE_OF.get(alias.name, moved.get(old_module))
        if module is None:
            unknown.append(_alias_text(alias))
        else:
            by_module.setdefault(module, []).append(_alias_text(alias))
    if not by_module:
        return None
    lines = [
        f"{indent}from {module} import {', '.join(names)}" for module, names in by_module.items()
    ]
    if unknown:
        lines.append(f"{indent}from {old_module} import {', '.join(unknown)}")
    if comments:
        lines[0] += "  " + "  ".join(comments)
    return [line + "\n" for line in lines]


def rewrite_source(
    source: str, *, where: str = "<source>", moved: Mapping[str, str] | None = None
) -> str:
    """`source` with its imports of the old contract modules (and of `moved`'s) rewritten."""
    moved = moved or {}
    old_modules = OLD_MODULES | moved.keys()
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        print(f"{where}: not Python ({exc.msg}), left as it is", file=sys.stderr)
        return source
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in old_modules:
                    print(
                        f"{where}:{node.lineno}: `import {alias.name}` left as it is",
                        file=sys.stderr,
                    )
        if not isinstance(node, ast.ImportFrom) or node.level != 0:
            continue
        if node.module == "shared" and any(f"shared.{a.name}" in old_modules for a in node.names):
            print(
                f"{where}:{node.lineno}: `from shared import events…` left as it is",
                file=sys.stderr,
            )
            continue
        if node.module not in old_modules or node.end_lineno is None:
            continue
        first, last = node.lineno, node.end_lineno
        before = lines[first - 1][: node.col_offset]
        after = lines[last - 1][node.end_col_offset or 0 :].strip()
        if before.strip() or (after and not after.startswith("#")):
            print(
                f"{where}:{first}: import shares its line with other code, left as it is",
                file=sys.stderr,
            )
            continue
        replacement = _replacement(node, before, _comments(lines, first, last), moved)
        if replacement is not None:
            edits.append((first, last, replacement))
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first - 1 : last] = replacement
    return "".join(lines)


def rewrite_markdown(text: str, *, where: str, moved: Mapping[str, str] | None = None) -> str:
    """The same rewrite inside each ```python fence of a Markdown text."""

    def fence(match: re.Match[str]) -> str:
        return (
            match.group(1)
            + rewrite_source(match.group(2), where=where, moved=moved)
            + match.group(3)
        )

    return _FENCE.sub(fence, text)


def rewrite_file(path: Path, *, check: bool, moved: Mapping[str, str] | None = None) -> bool:
    """Rewrite one file in place (unless `check`); whether it changes."""
    text = path.read_text(encoding="utf-8")
    where = str(path)
    new = (
        rewrite_markdown(text, where=where, moved=moved)
        if path.suffix == ".md"
        else rewrite_source(text, where=where, moved=moved)
    )
    if new == text:
        return False
    if not check:
        path.write_text(new, encoding="utf-8")
    print(f"{'would rewrite' if check else 'rewrote'} {path}")
    return True


def main(argv: list[str]) -> int:
    check = "--check" in argv
    moved: dict[str, str] = {}
    paths: list[Path] = []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--move":
            old, _, new = next(arguments, "").partition("=")
            if not (old and new):
                print("--move needs OLD.MODULE=NEW.MODULE", file=sys.stderr)
                return 2
            moved[old] = new
        elif argument != "--check":
            paths.append(Path(argument))
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    changed = [
        path for path in paths if path.is_file() and rewrite_file(path, check=check, moved=moved)
    ]
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
