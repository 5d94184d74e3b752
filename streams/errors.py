"""The root of every error this project raises on purpose.

Each package defines its specific errors (a bad configuration, a broker that does not
answer, a feed that cannot log in) under :class:`RotationError`, so the command line
turns any of them into one line and an exit code, and a caller can catch them all
without catching a programming error.
"""

from __future__ import annotations


class RotationError(Exception):
    """Something the user can fix: the message says what, in one line."""

    exit_code = 2
    """The command line's exit status for this error."""
