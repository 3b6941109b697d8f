"""logistics' test fixtures: `runtime` (a runtime on a fresh database of either kind)."""

from tests.logistics.support import runtime

__all__ = ["runtime"]
