"""State recovery of both stages from recorded records, without a broker.

A run of the two stages over simulated ticks records every message: the tick messages
per partition and the bar frames stage one published. A stage interrupted at any
message and rebuilt by :mod:`agents.recovery` from those records must go on exactly as
the uninterrupted run did: the same bar frames, the same snapshots and signals, byte
for byte, and the same final state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import msgspec
import pytest

from agents.analytics.tick_checks import decode_message
from agents.recovery import (
    BarRecovery,
    BarState,
    Recorded,
    RotationRecovery,
    RotationStage,
    produced_at_us,
)
from rotation.config import load_universe
from streams.codec import decode_bar_frame, encode, frames_for
from streams.feeds.simulator import Simulator
from streams.partitioning import partitioner
from tests.helpers import session_ticks

UNIVERSE = load_universe()
PARTITION_OF = partitioner(UNIVERSE.topics.ticks.partitions)
# BLOCK_TICKS: about half a bar of the shipped universe's ticks, so a bar closes every
# few tick messages of a partition (the crash window below is 5 messages).
SEED, DAYS, BLOCK_TICKS = 5, 5, 4000
UNDECODABLE = b"not a bar frame"


@dataclass
class Recording:
    """The records of one uninterrupted run of stage one."""

    ticks: dict[int, list[Recorded]] = field(default_factory=dict)  # per tick partition
    bars: list[Recorded] = field(default_factory=list)  # rotation.bars, one partition
    # Per bars message: the tick partition and offset of the message that made it.
    origins: list[tuple[int, int] | None] = field(default_factory=list)
    # Per tick partition and message offset: the bar frames that message made.
    made: dict[int, dict[int, list[bytes]]] = field(default_factory=dict)
    states: dict[int, BarState] = field(default_factory=dict)
    flushed: dict[int, bytes] = field(default_factory=dict)  # the end-of-input frame


def stage_one(state: BarState, record: Recorded) -> list[bytes]:
    """What the bars agent does with one tick message, less the sending."""
    ticks, _ = state.gate.check(decode_message(record.value), produced_at_us(record.timestamp))
    frames, _ = state.partition.apply(ticks, record.offset)
    return [encode(frame) for frame in frames]


def stage_two(stage: RotationStage, record: Recorded) -> list[bytes]:
    """What the rotation agent does with one bars message, less the sending."""
    try:
        frame = decode_bar_frame(record.value or b"")
    except (msgspec.DecodeError, msgspec.ValidationError):
        stage.skip(record.offset)
        return []
    out = []
    for snapshots, signals in stage.apply(frame, record.offset):
        out += [encode(snapshot) for snapshot in snapshots]
        out += [encode(signal) for signal in signals]
    return out


@pytest.fixture(scope="module")
def recording() -> Recording:
    return record_run()


def record_run() -> Recording:
    """Both stages over ``DAYS`` simulated sessions, every message recorded."""
    rec = Recording()
    recovery = BarRecovery(UNIVERSE, PARTITION_OF)
    sim = Simulator(UNIVERSE, seed=SEED)
    for session in sim.sessions(DAYS):
        ticks = session_ticks(sim.symbols, session, source="sim")
        for lo in range(0, len(ticks), BLOCK_TICKS):
            block = ticks[lo : lo + BLOCK_TICKS]
            partitions = {t.symbol: PARTITION_OF(t.symbol) for t in block}
            for partition, data in frames_for(block, 2000, partitions):
                log = rec.ticks.setdefault(partition, [])
                record = Recorded(len(log), data, block[-1].ts // 1000)
                log.append(record)
                if partition not in rec.states:
                    rec.states[partition] = recovery.fresh(partition)
                state = rec.states[partition]
                made = stage_one(state, record)
                rec.made.setdefault(partition, {})[record.offset] = made
                for frame in made:
                    rec.bars.append(Recorded(len(rec.bars), frame))
                    rec.origins.append((partition, record.offset))
        # A message stage two cannot decode: skipped live, skipped when rebuilding.
        rec.bars.append(Recorded(len(rec.bars), UNDECODABLE))
        rec.origins.append(None)
    assert len(rec.ticks) == len({PARTITION_OF(s) for s in UNIVERSE.symbols})
    for partition, log in rec.ticks.items():  # the final state, on a second run
        state = recovery.fresh(partition)
        for record in log:
            stage_one(state, record)
        rec.flushed[partition] = encode(state.partition.flush())
    return rec


async def slowly(records: Iterable[Recorded]) -> AsyncIterator[Recorded]:
    """The records as an async iterable, as the agents read them from Kafka."""
    for record in records:
        await asyncio.sleep(0)
        yield record


def bars_topic_at_crash(rec: Recording, partition: int, first_offset: int) -> list[Recorded]:
    """rotation.bars as it stood when stage one stopped before tick message
    ``first_offset`` of ``partition``: the frames of a few later messages had been sent
    but those messages not committed, so they are on the topic too (recovery must not
    use them)."""
    return [
        record
        for record, origin in zip(rec.bars, rec.origins, strict=True)
        if origin is None or origin[0] != partition or origin[1] < first_offset + 5
    ]


@pytest.mark.parametrize("fraction", [0.0, 0.013, 0.37, 0.5, 0.81])
@pytest.mark.parametrize("as_async", [False, True])
def test_stage_one_rebuilt_from_records_goes_on_as_the_uninterrupted_run(
    recording: Recording, fraction: float, as_async: bool
) -> None:
    recovery = BarRecovery(UNIVERSE, PARTITION_OF)
    for partition, log in sorted(recording.ticks.items()):
        first = max(1, int(len(log) * fraction))
        bars = bars_topic_at_crash(recording, partition, first)

        def ticks_from(start: int, log: list[Recorded] = log, first: int = first):
            return slowly(log[start:first]) if as_async else log[start:first]

        state = asyncio.run(
            recovery.rebuild(partition, first, slowly(bars) if as_async else bars, ticks_from)
        )
        assert state.offset == first - 1
        frames = [decode_bar_frame(r.value or b"") for r in bars if r.value != UNDECODABLE]
        published = [f for f in frames if f.partition == partition and f.source_offset < first]
        assert any(f.partition == partition and f.source_offset >= first for f in frames)
        if published:
            assert state.frame_offset == published[-1].source_offset
            assert state.tick_messages == first - published[-1].replay_from
        else:
            assert state.frame_offset is None and state.tick_messages == first
        assert "tick messages" in state.rebuilt_from()

        resumed = [stage_one(state, record) for record in log[first:]]
        assert resumed == [recording.made[partition][r.offset] for r in log[first:]]
        assert any(resumed), "the resumed run should publish bars"
        assert state.partition.offset == recording.states[partition].partition.offset
        assert state.gate.newest == recording.states[partition].gate.newest
        assert encode(state.partition.flush()) == recording.flushed[partition]


def with_copies(rec: Recording, bars: list[Recorded], partition: int, upto: int) -> list[Recorded]:
    """``bars`` as a stage that restarted before its input was committed leaves it: the
    frames of the partition's messages ``upto - 6 .. upto - 1`` sent again, right after
    the frame of message ``upto - 1``."""
    copies = [
        r
        for r, o in zip(rec.bars, rec.origins, strict=True)
        if o and o[0] == partition and upto - 6 <= o[1] < upto
    ]
    out: list[Recorded] = []
    for record in bars:
        out.append(record)
        if copies and record is copies[-1]:
            out += copies
    return [Recorded(i, r.value, r.timestamp) for i, r in enumerate(out)]


@pytest.mark.parametrize("fraction", [0.3, 0.8])
def test_stage_one_rebuilt_from_frames_sent_twice_goes_on_as_the_uninterrupted_run(
    recording: Recording, fraction: float
) -> None:
    recovery = BarRecovery(UNIVERSE, PARTITION_OF)
    for partition, log in sorted(recording.ticks.items()):
        first = max(1, int(len(log) * fraction))
        bars = with_copies(
            recording, bars_topic_at_crash(recording, partition, first), partition, first - 3
        )
        assert len(bars) > len(bars_topic_at_crash(recording, partition, first))
        state = asyncio.run(
            recovery.rebuild(
                partition, first, bars, lambda start, log=log, first=first: log[start:first]
            )
        )
        resumed = [stage_one(state, record) for record in log[first:]]
        assert resumed == [recording.made[partition][r.offset] for r in log[first:]]


def test_stage_one_at_the_first_message_starts_fresh(recording: Recording) -> None:
    recovery = BarRecovery(UNIVERSE, PARTITION_OF)
    partition, log = min(recording.ticks.items())
    state = asyncio.run(recovery.rebuild(partition, 0, recording.bars, lambda start: []))
    assert state.frame_offset is None and state.tick_messages == 0 and state.offset == -1
    assert [stage_one(state, r) for r in log] == [recording.made[partition][r.offset] for r in log]


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.55, 0.9])
@pytest.mark.parametrize("as_async", [False, True])
def test_stage_two_rebuilt_from_records_goes_on_as_the_uninterrupted_run(
    recording: Recording, fraction: float, as_async: bool
) -> None:
    recovery = RotationRecovery(UNIVERSE, PARTITION_OF)
    bars = recording.bars
    uninterrupted = recovery.fresh()
    expected = [stage_two(uninterrupted, record) for record in bars]
    assert any(expected), "the run should produce snapshots"

    first = int(len(bars) * fraction)
    before = bars[:first]
    stage, count = asyncio.run(recovery.rebuild(slowly(before) if as_async else before))
    assert count == first
    assert stage.offset == first - 1
    resumed = [stage_two(stage, record) for record in bars[first:]]
    assert resumed == expected[first:]
    assert any(resumed), "the resumed run should produce snapshots"
    assert stage.offset == uninterrupted.offset
    assert stage.merger.watermark == uninterrupted.merger.watermark
