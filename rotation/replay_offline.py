"""An offline replay: the rows through the analytics in this process, results as JSON lines."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from rotation.config import Universe
from rotation.replay_plan import ReplayPlan
from streams.codec import encode
from streams.partitioning import partitioner
from streams.records import MetricsSnapshot, Signal

OFFLINE_BLOCK_TICKS = 50_000

_METRICS_LINE = b'{"type":"metrics","data":'
_SIGNAL_LINE = b'{"type":"signal","data":'


@dataclass
class OfflineResult:
    ticks: int = 0
    snapshots: int = 0
    signals: int = 0
    late: int = 0


def replay_offline(
    plans: Iterable[tuple[int, ReplayPlan]],
    universe: Universe,
    out: IO[bytes],
    start: int = 0,
    advance: Callable[[int, int], None] | None = None,
) -> OfflineResult:
    """Run rows ``start:`` of the plans (each with the time-ordered index of its first
    row, in order) through the pipeline; write JSON lines to ``out``. ``advance`` gets
    the rows and the last event time of each block done."""
    from agents.analytics.pipeline import Pipeline

    pipeline = Pipeline(universe, partitioner(universe.topics.ticks.partitions))
    result = OfflineResult()
    for offset, plan in plans:
        first = min(max(0, start - offset), len(plan.table))
        for lo, hi in plan.blocks(first, OFFLINE_BLOCK_TICKS):
            columns = plan.columns(lo, hi)
            if len(columns):
                pipeline.apply_columns(columns)
                result.ticks += len(columns)
                _write_results(pipeline.snapshots, pipeline.signals, out, result)
            if advance is not None:
                advance(hi - lo, int(plan.table.ts[hi - 1]))
    pipeline.finish()
    _write_results(pipeline.snapshots, pipeline.signals, out, result)
    result.late = len(pipeline.late)
    return result


def _write_results(
    snapshots: list[MetricsSnapshot], signals: list[Signal], out: IO[bytes], result: OfflineResult
) -> None:
    """Write and drop what the pipeline produced: each snapshot, then its interval's signals."""
    lines: list[bytes] = []
    i = 0
    for snapshot in snapshots:
        lines.append(_METRICS_LINE + encode(snapshot) + b"}\n")
        while i < len(signals) and signals[i].ts <= snapshot.ts:
            lines.append(_SIGNAL_LINE + encode(signals[i]) + b"}\n")
            i += 1
    lines.extend(_SIGNAL_LINE + encode(fired) + b"}\n" for fired in signals[i:])
    out.write(b"".join(lines))
    result.snapshots += len(snapshots)
    result.signals += len(signals)
    snapshots.clear()
    signals.clear()
