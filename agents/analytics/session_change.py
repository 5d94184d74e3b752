"""A leg's change since the previous session's close, from interval ends alone.

    change_pct = 100 * (close_t / reference - 1)

reference: on bars of a day or longer, the previous bar's close; otherwise the close
before the latest gap between consecutive interval ends larger than one bar interval
(a session break: overnight, a weekend), or None before the first such gap.
"""

from __future__ import annotations

from streams.units import MICROS


class SessionChange:
    """Per leg: its last close, and the close that opens its change for the session."""

    def __init__(self, bar_seconds: int) -> None:
        self.bar_micros = bar_seconds * MICROS
        self.daily = bar_seconds >= 86400
        self.last: dict[str, float] = {}
        self.reference: dict[str, float] = {}
        self._end: int | None = None

    def update(self, end: int, values: dict[str, float]) -> None:
        """One interval's closes (carried forward where a leg had no bar)."""
        gap = self._end is not None and end - self._end > self.bar_micros
        if self.daily or gap:
            self.reference.update(self.last)
        self.last.update(values)
        self._end = end

    def change_pct(self, leg: str) -> float | None:
        last, reference = self.last.get(leg), self.reference.get(leg)
        if last is None or reference is None or reference == 0:
            return None
        return 100.0 * (last / reference - 1.0)
