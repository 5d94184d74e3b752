"""Trading sessions of an exchange, and the bars that follow them.

A :class:`Sessions` value holds the sessions of an exchange calendar as sorted int64
arrays: each session's open and close (microseconds since the epoch, UTC), its date
(days since 1970-01-01) and the local midnights that begin and end that date. It is
built by the composition root from an exchange calendar (``rotation.calendar``, from
the ``exchange_calendars`` library); here it is plain numpy, so the feeds and the
analytics use it without knowing where it came from. The *continuous* variant has no
sessions: time runs on the epoch grid, as for a market open 24/7.

:class:`BarGrid` places ticks in bars (``Sessions.grid(interval_us)``):

- continuous: ``start = ts - ts % interval``, ``end = start + interval``;
- intraday (interval < 1 day): bars are anchored at the open of the tick's session,
  ``start = open + k * interval``, and cut at its close, ``end = min(start + interval,
  close)``; a tick outside ``[open, close)`` of every session is off-session;
- daily (interval >= 1 day): one bar per session, ``[open, close)``; a tick at any time
  of the session's local date is that session's bar, and a stamp at exactly 00:00 UTC
  is read as a date (vendors' daily rows and date-only files land there), so
  2015-01-02T00:00Z, 2015-01-02T05:00Z (midnight New York) and 2015-01-02T21:00Z (the
  close) are all the 2015-01-02 session's bar. A tick on a date without a session (a
  weekend, a holiday) is off-session.

The watermark (:meth:`BarGrid.watermark`) is the end of the last bar that a horizon
has fully passed; inside a gap between sessions it is the last close, so a night, a
weekend or a holiday never holds a bar back waiting for a tick that cannot come.
Sessions follow ISO 10383 market identifier codes (XNYS: the New York Stock Exchange)
as the exchange_calendars library names them (https://github.com/gerrymanoim/exchange_calendars).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from streams.units import MICROS

Ints = npt.NDArray[np.int64]

DAY_US = 86_400 * MICROS
"""Microseconds per day; a bar interval of at least this is one bar per session."""

OFF_SESSION = -1
"""The bar start :meth:`BarGrid.starts` gives a tick outside every session."""

CONTINUOUS = "24/7"

_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Sessions:
    """The trading sessions of one exchange (sorted, non-overlapping), or none at all
    (:meth:`continuous`: the epoch grid, every time is trading time)."""

    name: str
    open: Ints = field(default_factory=lambda: _EMPTY)
    close: Ints = field(default_factory=lambda: _EMPTY)
    day: Ints = field(default_factory=lambda: _EMPTY)
    """The session's date, in days since 1970-01-01."""
    day_start: Ints = field(default_factory=lambda: _EMPTY)
    """Local midnight that begins the session's date (microseconds since the epoch)."""
    day_end: Ints = field(default_factory=lambda: _EMPTY)
    """Local midnight that ends it."""

    def __post_init__(self) -> None:
        arrays = (self.open, self.close, self.day, self.day_start, self.day_end)
        if len({len(a) for a in arrays}) != 1:
            raise ValueError("sessions need as many opens, closes, dates and day bounds")
        if len(self.open) and not (
            np.all(self.open < self.close)
            and np.all(self.close[:-1] <= self.open[1:])
            and np.all(np.diff(self.day) > 0)
            and np.all(self.day_start <= self.open)
            and np.all(self.close <= self.day_end)
        ):
            raise ValueError(
                f"sessions of {self.name} are not sorted, apart and within their dates"
            )

    @classmethod
    def continuous(cls) -> Sessions:
        """No calendar: bars on the epoch grid, no time is off-session."""
        return _CONTINUOUS

    @property
    def is_continuous(self) -> bool:
        return not len(self.open)

    @cached_property
    def regular_session_seconds(self) -> int:
        """The most common session length in seconds (6.5 hours on XNYS): what a
        trading day is when a window is given in days."""
        if self.is_continuous or not len(self.open):
            return 86_400
        lengths, counts = np.unique((self.close - self.open) // MICROS, return_counts=True)
        return int(lengths[np.argmax(counts)])

    def __len__(self) -> int:
        return len(self.open)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sessions):
            return NotImplemented
        return self.name == other.name and all(
            np.array_equal(getattr(self, a), getattr(other, a))
            for a in ("open", "close", "day", "day_start", "day_end")
        )

    def __hash__(self) -> int:
        return hash((self.name, len(self)))

    def __repr__(self) -> str:
        if self.is_continuous:
            return f"Sessions({self.name!r})"
        first, last = (np.datetime64(int(d), "D") for d in (self.day[0], self.day[-1]))
        return f"Sessions({self.name!r}, {len(self)} sessions {first}..{last})"

    def session_of(self, ts: Ints) -> Ints:
        """Index of the session whose ``[open, close)`` holds each time; -1 outside all
        (always -1 when continuous)."""
        ts = np.asarray(ts, dtype=np.int64)
        if self.is_continuous:
            return np.full(ts.shape, -1, dtype=np.int64)
        i = np.searchsorted(self.open, ts, side="right") - 1
        inside = (i >= 0) & (ts < self.close[np.maximum(i, 0)])
        return np.where(inside, i, -1)

    def session_on_date(self, ts: Ints) -> Ints:
        """Index of the session whose local date holds each time (a stamp at exactly
        00:00 UTC is read as that UTC date); -1 on a date without a session."""
        ts = np.asarray(ts, dtype=np.int64)
        if self.is_continuous:
            return np.full(ts.shape, -1, dtype=np.int64)
        i = np.searchsorted(self.day_start, ts, side="right") - 1
        found = (i >= 0) & (ts < self.day_end[np.maximum(i, 0)])
        index = np.where(found, i, -1)
        midnight = ts % DAY_US == 0
        if midnight.any():
            date = ts[midnight] // DAY_US
            j = np.minimum(np.searchsorted(self.day, date), len(self.day) - 1)
            index[midnight] = np.where(self.day[j] == date, j, -1)
        return index

    @cached_property
    def lists(self) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
        """open, close, day, day_start and day_end as Python lists, for one tick at a
        time (``bisect`` on a list is a few times faster than numpy on a scalar)."""
        arrays = (self.open, self.close, self.day, self.day_start, self.day_end)
        opens, closes, days, starts, ends = (a.tolist() for a in arrays)
        return opens, closes, days, starts, ends

    def dates(self, index: Ints) -> list[str]:
        """The ISO dates of sessions ``index``."""
        return [str(np.datetime64(int(d), "D")) for d in self.day[index]]

    def span(self) -> str:
        """The dates the sessions cover, for messages."""
        if self.is_continuous:
            return "every time"
        first, last = self.dates(np.array([0, len(self) - 1]))
        return f"{first}..{last}"

    def grid(self, interval_us: int) -> BarGrid:
        """The bars of ``interval_us`` microseconds on these sessions."""
        return BarGrid(self, int(interval_us))


_CONTINUOUS = Sessions(CONTINUOUS)


@dataclass(frozen=True)
class BarGrid:
    """Where bars of one interval start and end on a set of sessions."""

    sessions: Sessions
    interval_us: int

    def __post_init__(self) -> None:
        if self.interval_us <= 0:
            raise ValueError(f"a bar interval must be > 0 us, got {self.interval_us}")

    @property
    def daily(self) -> bool:
        """One bar per session (an interval of a day or more, on a calendar)."""
        return self.interval_us >= DAY_US and not self.sessions.is_continuous

    def place(self, ts: Ints) -> tuple[Ints, Ints]:
        """The start of each tick's bar (:data:`OFF_SESSION` outside every session) and
        its time on the grid's clock (for the watermark): the tick's own time, but a
        daily stamp at 00:00 UTC counts from the local midnight of its date."""
        s, iv = self.sessions, self.interval_us
        if s.is_continuous:
            return ts - ts % iv, ts
        if self.daily:
            i = s.session_on_date(ts)
            inside = i >= 0
            k = np.maximum(i, 0)
            return np.where(inside, s.open[k], OFF_SESSION), np.where(
                inside, np.maximum(ts, s.day_start[k]), ts
            )
        if len(ts):
            # The common case: a message of ticks within one session.
            lo, hi = int(ts.min()), int(ts.max())
            k0 = int(np.searchsorted(s.open, lo, side="right")) - 1
            if k0 >= 0 and hi < s.close[k0]:
                first = int(s.open[k0])
                return first + (ts - first) // iv * iv, ts
        i = s.session_of(ts)
        o = s.open[np.maximum(i, 0)]
        return np.where(i >= 0, o + (ts - o) // iv * iv, OFF_SESSION), ts

    def starts(self, ts: Ints) -> Ints:
        """:meth:`place`'s bar starts alone."""
        return self.place(ts)[0]

    def place_one(self, ts: int) -> tuple[int, int]:
        """:meth:`place` of one tick."""
        iv = self.interval_us
        if self.sessions.is_continuous:
            return ts - ts % iv, ts
        opens, closes, days, day_starts, day_ends = self.sessions.lists
        if self.daily:
            if ts % DAY_US == 0:
                i = bisect_right(days, ts // DAY_US) - 1
                found = i >= 0 and days[i] == ts // DAY_US
            else:
                i = bisect_right(day_starts, ts) - 1
                found = i >= 0 and ts < day_ends[i]
            return (opens[i], max(ts, day_starts[i])) if found else (OFF_SESSION, ts)
        i = bisect_right(opens, ts) - 1
        if i < 0 or ts >= closes[i]:
            return OFF_SESSION, ts
        first = opens[i]
        return first + (ts - first) // iv * iv, ts

    def bounds(self, ts: Ints) -> tuple[Ints, Ints]:
        """The start and end of each tick's bar (both :data:`OFF_SESSION` outside every
        session)."""
        s, iv = self.sessions, self.interval_us
        ts = np.asarray(ts, dtype=np.int64)
        if s.is_continuous:
            start = ts - ts % iv
            return start, start + iv
        i = s.session_on_date(ts) if self.daily else s.session_of(ts)
        k = np.maximum(i, 0)
        o, close = s.open[k], s.close[k]
        if self.daily:
            start, end = o, close
        else:
            start = o + (ts - o) // iv * iv
            end = np.minimum(start + iv, close)
        off = i < 0
        return np.where(off, OFF_SESSION, start), np.where(off, OFF_SESSION, end)

    def end(self, start: int) -> int:
        """The end of the bar starting at ``start``: ``min(start + interval, close)``."""
        s, iv = self.sessions, self.interval_us
        if s.is_continuous:
            return start + iv
        i = int(np.searchsorted(s.open, start, side="right")) - 1
        close = int(s.close[i])
        return close if self.daily else min(start + iv, close)

    def passed(self, start: int) -> int:
        """The earliest time on the grid's clock at which the bar starting at ``start``
        has passed: its end; for a daily bar, the end of its session's date."""
        if not self.daily:
            return self.end(start)
        i = int(np.searchsorted(self.sessions.open, start, side="right")) - 1
        return int(self.sessions.day_end[i])

    def watermark(self, horizon: int) -> int:
        """The end of the last bar that ``horizon`` (on the grid's clock) has fully
        passed; in a gap between sessions, the last close. 0 before the first."""
        s, iv = self.sessions, self.interval_us
        if horizon < 0:
            return 0
        if s.is_continuous:
            return horizon - horizon % iv
        if self.daily:
            i = int(np.searchsorted(s.day_end, horizon, side="right")) - 1
            return int(s.close[i]) if i >= 0 else 0
        i = int(np.searchsorted(s.open, horizon, side="right")) - 1
        if i < 0:
            return 0
        o, close = int(s.open[i]), int(s.close[i])
        if horizon >= close:
            return close
        return o + (horizon - o) // iv * iv

    def describe(self) -> str:
        """The grid, for messages: e.g. ``3600 s bars of the XNYS sessions``."""
        seconds = f"{self.interval_us / MICROS:g} s"
        if self.sessions.is_continuous:
            return f"the {seconds} grid counted from 1970-01-01 00:00 UTC"
        if self.daily:
            return f"one bar per {self.sessions.name} session"
        return f"{seconds} bars from each {self.sessions.name} session's open"
