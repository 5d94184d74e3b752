"""One connection's subscription: channel -> filter, within a limit (sans-I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.messages import Filter
from streams.errors import RotationError


@dataclass(frozen=True, slots=True)
class Entry:
    """One data message of one channel, encoded (as JSON) once for every subscriber."""

    seq: int
    subject: str
    kind: str
    score: float | None
    payload: bytes
    """The message's JSON."""
    level: str | None = None
    """A signal's level (headline, supporting, detail); None for metrics."""


class Matcher:
    """A :class:`Filter` compiled for the fan-out: one call per message and subscriber."""

    __slots__ = ("filter", "kinds", "levels", "min_score", "subjects")

    def __init__(self, flt: Filter) -> None:
        self.filter = flt
        self.kinds = frozenset(flt.kinds) if flt.kinds is not None else None
        self.subjects = frozenset(flt.subjects) if flt.subjects is not None else None
        self.min_score = flt.min_score
        self.levels = frozenset(flt.levels) if flt.levels is not None else None

    def __call__(self, entry: Entry) -> bool:
        if self.kinds is not None and entry.kind not in self.kinds:
            return False
        if self.subjects is not None and entry.subject not in self.subjects:
            return False
        if self.levels is not None and entry.level not in self.levels:
            return False
        return self.min_score is None or (entry.score is not None and entry.score >= self.min_score)


def keeps(matcher: Matcher | None, entry: Entry) -> bool:
    return matcher is None or matcher(entry)


class TooManySubscriptions(RotationError, ValueError):
    """A subscribe would exceed the connection's channel limit."""


class Subscriptions:
    """The channels a connection receives, each with its filter (None: everything)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.channels: dict[str, Matcher | None] = {}

    def add(self, channels: list[str], flt: Filter | None) -> None:
        """Subscribe (again) to ``channels`` with ``flt``; all or nothing."""
        total = len(set(self.channels) | set(channels))
        if total > self.limit:
            raise TooManySubscriptions(
                f"{total} channels would exceed the limit of {self.limit} per connection"
            )
        matcher = Matcher(flt) if flt is not None and flt != Filter() else None
        for channel in channels:
            self.channels[channel] = matcher

    def remove(self, channels: list[str]) -> None:
        for channel in channels:
            self.channels.pop(channel, None)

    def filters(self) -> dict[str, Filter]:
        return {c: m.filter for c, m in sorted(self.channels.items()) if m is not None}
