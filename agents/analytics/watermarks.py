"""Merge bars from several tick partitions into complete event-time intervals.

Each tick partition reports the bars it closed and its watermark (the event time up
to which it is complete). An interval ending at ``end`` is complete once the
watermark of every expected partition is >= ``end``: only then are all of its bars
known, whatever the order in which the partitions' messages arrived. This makes the
result independent of how ticks were spread over partitions and of arrival order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from agents.analytics.interval_bars import IntervalBars
from agents.analytics.local_bars import LocalBars
from streams.records import BarFrame

Ints = npt.NDArray[np.int64]


class IntervalMerger:
    """Buffers bars per interval end until all expected partitions have passed it."""

    def __init__(self, partitions: Iterable[int]) -> None:
        self._watermarks: dict[int, int] = {p: -1 for p in partitions}
        if not self._watermarks:
            raise ValueError("IntervalMerger needs at least one expected partition")
        self._pending: dict[int, list[tuple[BarFrame | LocalBars, Ints]]] = defaultdict(list)
        self.emitted_through = -1
        self.stale = 0

    @property
    def pending(self) -> int:
        """Interval ends held back, waiting for a partition behind the others."""
        return len(self._pending)

    @property
    def watermark(self) -> int:
        """Event time through which every expected partition is complete."""
        return min(self._watermarks.values())

    def add(self, frame: BarFrame | LocalBars) -> list[tuple[int, IntervalBars]]:
        """Take one partition's frame; return newly complete (end, bars) in time order.

        Frames from partitions that are not expected are ignored (their symbols are
        outside the universe). Bars for an interval that was already emitted cannot
        change it any more: they are dropped, and ``stale`` counts them.
        """
        if frame.partition not in self._watermarks:
            return []
        if len(frame):
            ends = np.asarray(frame.end, dtype=np.int64)
            fresh = ends > self.emitted_through
            self.stale += int((~fresh).sum())
            for end in np.unique(ends[fresh]).tolist():
                self._pending[end].append((frame, np.flatnonzero(ends == end)))
        if frame.watermark > self._watermarks[frame.partition]:
            self._watermarks[frame.partition] = frame.watermark
        through = self.watermark
        ready = sorted(end for end in self._pending if end <= through)
        out = [(end, IntervalBars.gather(end, self._pending.pop(end))) for end in ready]
        if ready:
            self.emitted_through = ready[-1]
        return out
