"""Time on the wire: integer microseconds since the Unix epoch, UTC.

Every record stamps event time as ``ts`` in microseconds (``int``), so arithmetic on
windows is exact; these helpers convert at the edges.
"""

from __future__ import annotations

from datetime import UTC, datetime

MICROS = 1_000_000
"""Microseconds per second."""


def iso_from_micros(ts: int) -> str:
    """``ts`` (microseconds since the epoch) as ISO 8601 in UTC, e.g.
    ``2026-01-05T14:30:00Z``; fractions of a second are kept when there are any."""
    moment = datetime.fromtimestamp(ts / MICROS, UTC)
    text = moment.isoformat(timespec="microseconds" if ts % MICROS else "seconds")
    return text.replace("+00:00", "Z")


def micros_from_datetime(moment: datetime) -> int:
    """An aware datetime as microseconds since the epoch (exact, no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds
