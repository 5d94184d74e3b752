"""The error of a replay that cannot run."""

from __future__ import annotations

from streams.errors import RotationError


class ReplayError(RotationError):
    """A replay that cannot run; the message says what to fix."""
