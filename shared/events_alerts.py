"""notify's contracts beyond the deadline warnings in `shared.events`: stage delays,
predicted breaches, escalations and acknowledgements. Published on notify's topic."""

from __future__ import annotations
