"""Tick-to-subscriber latency: which append caused an interval to close, and when it arrived.

Definitions (benchmarks/README.md, "rotation bench", says the same):

- A tick partition's watermark after a frame is
  ``floor((max event ts so far - allowed lateness) / interval) * interval``
  (:mod:`agents.analytics.bars`); the rotation stage finalises the interval ending at
  ``E`` once every partition's watermark is >= ``E``.
- ``cause(E)``: for each partition, the wall time at which the broker acknowledged the
  first frame that moved that partition's watermark to ``E`` or beyond; the latest of
  these over the partitions. That append is the one that made ``E`` complete.
- ``latency(E) = arrival(E) - cause(E)``, where ``arrival(E)`` is the wall time at
  which the websocket client received the first ``metrics`` message with ``ts == E``.

Both times are ``time.time()`` of the benchmark process, which sends the frames and
holds the websocket, so there is one clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from benchmarks.paced import Appended


def watermark(max_ts: int, interval_us: int, lateness_us: int = 0) -> int:
    """A partition's watermark after seeing event times up to ``max_ts``."""
    horizon = max_ts - lateness_us
    return horizon - horizon % interval_us if horizon >= 0 else 0


def causes(
    appended: Iterable[Appended],
    interval_us: int,
    lateness_us: int = 0,
    partitions: Iterable[int] | None = None,
) -> dict[int, float]:
    """``cause(E)`` for every interval end ``E`` that every partition's watermark reached.

    ``appended`` in send order (per partition that is offset order). Intervals before
    the first tick are not intervals of the run and are left out. Frames never
    acknowledged cause nothing.
    """
    frames = list(appended)
    if not frames:
        return {}
    expected = sorted(set(partitions) if partitions is not None else {a.partition for a in frames})
    first_end = min(a.max_ts for a in frames)  # every frame's ticks are in time order
    first_end = first_end - first_end % interval_us + interval_us
    reached: dict[int, dict[int, float | None]] = {p: {} for p in expected}
    marks: dict[int, int] = {p: first_end - interval_us for p in expected}
    max_ts: dict[int, int] = {}
    for a in frames:
        if a.partition not in reached:
            continue
        max_ts[a.partition] = max(max_ts.get(a.partition, -1), a.max_ts)
        mark = watermark(max_ts[a.partition], interval_us, lateness_us)
        if mark > marks[a.partition]:
            for end in range(marks[a.partition] + interval_us, mark + 1, interval_us):
                reached[a.partition][end] = a.acked
            marks[a.partition] = mark
    out: dict[int, float] = {}
    for end in sorted(set.intersection(*(set(r) for r in reached.values()))):
        times = [reached[p][end] for p in expected]
        if all(t is not None for t in times):
            out[end] = max(t for t in times if t is not None)
    return out


def latencies_ms(cause: Mapping[int, float], arrival: Mapping[int, float]) -> dict[int, float]:
    """Milliseconds from cause to arrival, for every interval that has both."""
    return {end: (arrival[end] - at) * 1000 for end, at in cause.items() if end in arrival}


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """p50, p90, p99, max and mean of ``values``, and how many there were."""
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None, "count": 0}
    return {
        "p50": float(np.percentile(data, 50)),
        "p90": float(np.percentile(data, 90)),
        "p99": float(np.percentile(data, 99)),
        "max": float(data.max()),
        "mean": float(data.mean()),
        "count": int(data.size),
    }


def timeline(
    cause: Mapping[int, float], latency: Mapping[int, float], start: float, bucket_s: float
) -> list[dict[str, float | int | None]]:
    """Latency per ``bucket_s`` seconds of the run (by cause time from ``start``): shows
    whether it grows over a run or jumps now and then."""
    buckets: dict[int, list[float]] = {}
    for end, value in latency.items():
        buckets.setdefault(int((cause[end] - start) // bucket_s), []).append(value)
    out = []
    for index in sorted(buckets):
        stats = summary(buckets[index])
        out.append(
            {
                "from_s": index * bucket_s,
                "count": stats["count"],
                "p50": stats["p50"],
                "p99": stats["p99"],
                "max": stats["max"],
            }
        )
    return out
