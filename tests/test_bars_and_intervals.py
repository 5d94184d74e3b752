"""Event-time bars, watermarks and the cross-partition interval merge (pure)."""

from __future__ import annotations

import random

import pytest

from agents.analytics.bars import MICROS, PartitionBars
from agents.analytics.pipeline import Pipeline
from agents.analytics.watermarks import IntervalMerger
from rotation.config import load_universe
from streams.feeds.simulator import Simulator
from streams.partitioning import partition_for, partitioner
from streams.records import BarFrame, Tick
from tests.helpers import session_ticks

T0 = 1_790_000_040 * MICROS  # a whole minute (divisible by 60 s)


def tick(symbol: str, seconds: float, price: float, size: float = 1.0) -> Tick:
    return Tick(symbol=symbol, ts=T0 + int(seconds * MICROS), price=price, size=size)


def test_bar_is_ohlcv_of_its_interval_and_closes_when_the_watermark_passes():
    bars = PartitionBars.every(60)
    first = bars.apply([tick("IWM", 1, 10.0, 5), tick("IWM", 20, 12.0, 1), tick("IWM", 59, 9.0, 2)])
    assert first.closed == []  # the interval [0, 60) is still open
    second = bars.apply([tick("IWM", 61, 11.0)])
    (bar,) = second.closed
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.ticks) == (
        10.0,
        12.0,
        9.0,
        9.0,
        8.0,
        3,
    )
    assert (bar.start, bar.end) == (T0, T0 + 60 * MICROS)
    assert second.watermark == T0 + 60 * MICROS


def test_open_and_close_follow_event_time_not_arrival():
    bars = PartitionBars.every(60)
    bars.apply([tick("IWM", 30, 11.0), tick("IWM", 10, 10.0)])
    bars.apply([tick("IWM", 20, 12.0)])  # out of order across messages too
    (bar,) = bars.apply([tick("IWM", 60, 1.0)]).closed
    assert (bar.open, bar.high, bar.close) == (10.0, 12.0, 11.0)


def test_a_repeated_tick_is_a_duplicate_not_counted_twice():
    bars = PartitionBars.every(60)
    first = tick("IWM", 5, 10.0, 100)
    bars.apply([first, tick("IWM", 6, 10.5, 50)])
    update = bars.apply([first, tick("IWM", 5, 10.0, 200)])  # same time, other size: new
    assert update.duplicates.ticks() == [first]
    (bar,) = bars.apply([tick("IWM", 61, 1.0)]).closed
    assert (bar.volume, bar.ticks) == (350.0, 3)


def test_a_tick_for_a_closed_interval_is_reported_late_not_mixed_in():
    bars = PartitionBars.every(60)
    bars.apply([tick("IWM", 10, 10.0)])
    bars.apply([tick("IWM", 70, 10.5)])
    update = bars.apply([tick("IWM", 50, 99.0)])
    assert update.late.ticks()[0].price == 99.0 and len(update.late) == 1
    (bar,) = bars.apply([tick("IWM", 130, 10.0)]).closed
    assert bar.high == 10.5  # the late 99.0 is nowhere


def test_interval_is_complete_only_when_every_partition_has_passed_it():
    merger = IntervalMerger({0, 1})
    bar = PartitionBars.every(60)
    closed0 = bar.apply([tick("AAA", 1, 1.0)]).closed + bar.apply([tick("AAA", 61, 1.0)]).closed
    assert merger.add(BarFrame.of(0, T0 + 60 * MICROS, closed0)) == []  # partition 1 unheard
    other = PartitionBars.every(60)
    other.apply([tick("BBB", 2, 2.0)])
    closed1 = other.apply([tick("BBB", 62, 2.0)]).closed
    ((end, bars),) = merger.add(BarFrame.of(1, T0 + 60 * MICROS, closed1))
    assert end == T0 + 60 * MICROS
    assert bars.symbols == ["AAA", "BBB"]


@pytest.fixture(scope="module")
def sim_ticks() -> list[Tick]:
    universe = load_universe()
    sim = Simulator(universe, seed=3)
    ticks: list[Tick] = []
    for session in sim.sessions(days=8):
        ticks += session_ticks(sim.symbols, session)
    return ticks


def run(ticks: list[Tick], partitions: int, chunk: int, shuffle_parts: bool) -> Pipeline:
    pipeline = Pipeline(load_universe(), partitioner(partitions))
    rng = random.Random(1)
    batches = [ticks[i : i + chunk] for i in range(0, len(ticks), chunk)]
    for batch in batches:
        parts: dict[int, list[Tick]] = {}
        for t in batch:
            parts.setdefault(partition_for(t.symbol, partitions), []).append(t)
        order = sorted(parts)
        if shuffle_parts:
            rng.shuffle(order)
        for p in order:
            pipeline.apply(p, parts[p])
    return pipeline


def test_signals_do_not_depend_on_partitioning_or_message_sizes(sim_ticks):
    one = run(sim_ticks, partitions=1, chunk=5000, shuffle_parts=False)
    four = run(sim_ticks, partitions=4, chunk=700, shuffle_parts=True)
    assert one.signals, "8 simulated days should produce at least one signal"
    assert [s.id for s in one.signals] == [s.id for s in four.signals]
    assert one.snapshots == four.snapshots  # every metric of every subject, exactly
    assert not len(one.late) and not len(four.late)


def test_replay_is_deterministic_and_ids_are_stable(sim_ticks):
    a = run(sim_ticks, partitions=4, chunk=1000, shuffle_parts=False)
    b = run(sim_ticks, partitions=4, chunk=1000, shuffle_parts=False)
    assert [s.id for s in a.signals] == [s.id for s in b.signals]
    assert len({s.id for s in a.signals}) == len(a.signals)


def test_bars_handed_over_in_process_equal_the_bars_on_the_wire(sim_ticks):
    """Stage one's arrays (``apply_local``, what the pipeline and the replay use) give the
    merged intervals the worker gets from the frames it decodes, field by field."""
    import numpy as np

    from agents.analytics.interval_bars import STATS
    from agents.analytics.tick_partition import TickPartition
    from streams.codec import decode_bar_frame, encode

    universe = load_universe()
    partition_of = partitioner(4)
    expected = {partition_of(s) for s in universe.symbols}

    def stage(p: int) -> TickPartition:
        return TickPartition(p, universe.bar_seconds, universe.allowed_lateness_seconds)

    wire, local = {p: stage(p) for p in expected}, {p: stage(p) for p in expected}
    merged_wire, merged_local = IntervalMerger(expected), IntervalMerger(expected)
    out_wire, out_local = [], []
    for i in range(0, len(sim_ticks), 900):
        parts: dict[int, list[Tick]] = {}
        for t in sim_ticks[i : i + 900]:
            parts.setdefault(partition_of(t.symbol), []).append(t)
        for p, ticks in sorted(parts.items()):
            frames, _ = wire[p].apply(ticks, i)
            for frame in frames:
                out_wire += merged_wire.add(decode_bar_frame(encode(frame)))
            pieces, _ = local[p].apply_local(ticks, i)
            for piece in pieces:
                out_local += merged_local.add(piece)

    assert len(out_wire) > 100 and [e for e, _ in out_wire] == [e for e, _ in out_local]
    for (_, a), (_, b) in zip(out_wire, out_local, strict=True):
        assert a.symbols == b.symbols and a.bar_us == b.bar_us
        for name in ("open", "high", "low", "close", "volume", "ticks"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert a.stats is not None and b.stats is not None
        for name in STATS:
            np.testing.assert_array_equal(a.stats[name], b.stats[name], err_msg=name)
