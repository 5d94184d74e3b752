"""Snapshots of the stages' state: written to bytes and read back at any message, the
stage goes on exactly as the uninterrupted run; a snapshot that cannot be used is
refused with a one-line reason, never run and never a crash."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import pickle
import zlib

import msgspec
import pytest

from agents.recovery import BarRecovery, BarState, RotationRecovery, RotationStage
from agents.snapshot_codec import (
    FORMAT,
    Chunk,
    Snapshot,
    SnapshotError,
    assemble,
    chunks,
    decode_chunk,
    decode_state,
    encode_state,
    fingerprint,
)
from agents.snapshot_store import SnapshotStore
from agents.snapshots import StageSnapshots
from tests.test_recovery_state import (
    PARTITION_OF,
    UNIVERSE,
    Recording,
    record_run,
    stage_one,
    stage_two,
)

BAR_REFERENCES = {
    "universe": UNIVERSE,
    "calendar": UNIVERSE.calendar,
    "partition_of": PARTITION_OF,
}
ROTATION_REFERENCES = {"universe": UNIVERSE, "calendar": UNIVERSE.calendar}


@pytest.fixture(scope="module")
def recording() -> Recording:
    return record_run()


def through_chunks(state: object, references: dict[str, object], offset: int) -> Snapshot:
    """A state as it travels: encoded, cut into small chunks, put back together."""
    snapshot = Snapshot.of("bars", 0, offset, "print", encode_state(state, references), 0)
    values = chunks(snapshot, chunk_bytes=4096)
    assert len(values) > 1, "small chunks, so the test puts several back together"
    (whole,) = assemble(reversed(values))  # order of arrival does not matter
    return whole


@pytest.mark.parametrize("fraction", [0.05, 0.4, 0.77])
def test_stage_one_from_a_snapshot_goes_on_as_the_uninterrupted_run(
    recording: Recording, fraction: float
) -> None:
    recovery = BarRecovery(UNIVERSE, PARTITION_OF)
    for partition, log in sorted(recording.ticks.items()):
        at = int(len(log) * fraction)  # the snapshot: after message `at`
        first = min(len(log) - 1, at + 7)  # the crash: messages up to `first` committed
        state = recovery.fresh(partition)
        for record in log[: at + 1]:
            stage_one(state, record)
        whole = through_chunks(state, BAR_REFERENCES, at)
        restored = decode_state(whole.body, BAR_REFERENCES, BarState)
        assert restored.offset == at
        resumed = asyncio.run(recovery.resume(restored, log[at + 1 : first]))
        assert resumed.tick_messages == first - at - 1
        assert resumed.rebuilt_from() == (
            f"the snapshot of offset {at} and {first - at - 1} tick messages"
        )
        out = [stage_one(resumed, record) for record in log[first:]]
        assert out == [recording.made[partition][r.offset] for r in log[first:]]
        assert any(out), "the resumed run should publish bars"
        assert resumed.gate.partition_of is PARTITION_OF  # bound to this process's objects


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_stage_two_from_a_snapshot_goes_on_as_the_uninterrupted_run(
    recording: Recording, fraction: float
) -> None:
    recovery = RotationRecovery(UNIVERSE, PARTITION_OF)
    bars = recording.bars
    uninterrupted = recovery.fresh()
    expected = [stage_two(uninterrupted, record) for record in bars]
    at = int(len(bars) * fraction)
    first = min(len(bars) - 1, at + 5)
    stage = recovery.fresh()
    for record in bars[: at + 1]:
        stage_two(stage, record)
    whole = through_chunks(stage, ROTATION_REFERENCES, at)
    restored = decode_state(whole.body, ROTATION_REFERENCES, RotationStage)
    assert restored.engine.universe is UNIVERSE
    resumed, count = asyncio.run(recovery.resume(restored, bars[at + 1 : first]))
    assert count == first - at - 1
    out = [stage_two(resumed, record) for record in bars[first:]]
    assert out == expected[first:]
    assert any(out), "the resumed run should produce snapshots"


class Evil:
    def __reduce__(self):
        return (os.system, ("echo snapshot code ran > /dev/null",))


def body_of(payload: object) -> bytes:
    return zlib.compress(pickle.dumps(payload, protocol=5))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "does not decompress"),
        (b"not zlib at all", "does not decompress"),
        (zlib.compress(b"\x80\x05not a pickle"), "does not unpickle"),
        (body_of(Evil()), "names posix.system, which no state holds"),
        (body_of([1, 2, 3]), "holds a list, not a RotationStage"),
    ],
)
def test_an_unusable_body_is_refused_with_one_line(body: bytes, reason: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        decode_state(body, ROTATION_REFERENCES, RotationStage)
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_a_damaged_body_is_refused(recording: Recording) -> None:
    stage = RotationRecovery(UNIVERSE, PARTITION_OF).fresh()
    for record in recording.bars[:50]:
        stage_two(stage, record)
    body = bytearray(encode_state(stage, ROTATION_REFERENCES))
    for at in (len(body) // 3, len(body) - 2):  # in the data, in the Adler-32 checksum
        damaged = body.copy()
        damaged[at] ^= 0xFF
        with pytest.raises(SnapshotError, match="does not"):
            decode_state(bytes(damaged), ROTATION_REFERENCES, RotationStage)
    with pytest.raises(SnapshotError, match="does not decompress"):
        decode_state(bytes(body[: len(body) // 2]), ROTATION_REFERENCES, RotationStage)


def test_a_state_needs_this_process_references(recording: Recording) -> None:
    state = BarRecovery(UNIVERSE, PARTITION_OF).fresh(0)
    body = encode_state(state, BAR_REFERENCES)
    with pytest.raises(SnapshotError, match="refers to 'partition_of'"):
        decode_state(body, ROTATION_REFERENCES, BarState)


def test_chunks_of_another_format_or_garbage_are_refused() -> None:
    with pytest.raises(SnapshotError, match="not a snapshot chunk"):
        decode_chunk(b"\x00garbage")
    with pytest.raises(SnapshotError, match="not a snapshot chunk"):
        decode_chunk(None)
    other = Chunk(FORMAT + 1, "bars", 0, "id", 5, "print", 0, 0, 1, b"body")
    with pytest.raises(SnapshotError, match=f"format {FORMAT + 1}, this worker reads"):
        decode_chunk(msgspec.msgpack.encode(other))
    values = chunks(Snapshot.of("bars", 0, 5, "print", b"x" * 10_000, 0), chunk_bytes=1000)
    assert assemble(values[:-1]) == [], "a snapshot with a chunk missing is not whole"
    assert len(assemble([b"junk", *values, b"junk"])) == 1


def test_the_fingerprint_follows_what_the_state_depends_on() -> None:
    base = fingerprint(UNIVERSE, 4)
    assert fingerprint(UNIVERSE, 4) == base
    assert fingerprint(dataclasses.replace(UNIVERSE, source="elsewhere.toml"), 4) == base
    assert fingerprint(dataclasses.replace(UNIVERSE, gateway={"max_queue": 9}), 4) == base
    assert fingerprint(UNIVERSE, 8) != base
    assert fingerprint(dataclasses.replace(UNIVERSE, bar_seconds=60), 4) != base
    other_rs = dataclasses.replace(UNIVERSE.relative_strength, sma_bars=7)
    assert fingerprint(dataclasses.replace(UNIVERSE, relative_strength=other_rs), 4) != base


def snapshots_for(tmp_path) -> StageSnapshots[RotationStage]:
    store = SnapshotStore({}, "test", 4, str(tmp_path))
    return StageSnapshots(
        "rotation", RotationStage, store, UNIVERSE.snapshots, UNIVERSE, ROTATION_REFERENCES
    )


def test_a_snapshot_of_another_configuration_or_ahead_of_the_input_is_skipped(
    tmp_path, recording: Recording, caplog: pytest.LogCaptureFixture
) -> None:
    snapshots = snapshots_for(tmp_path)
    stage = RotationRecovery(UNIVERSE, PARTITION_OF).fresh()
    for record in recording.bars[:20]:
        stage_two(stage, record)
    body = encode_state(stage, ROTATION_REFERENCES)
    good = Snapshot.of("rotation", 0, 19, snapshots.fingerprint, body, 0)
    caplog.set_level(logging.WARNING, "rotation.snapshots")
    assert snapshots._usable(good, 20) is not None
    assert snapshots._usable(good, 19) is None
    assert "not yet committed (the stage resumes at 19)" in caplog.text
    other = Snapshot.of("rotation", 0, 19, "another", body, 0)
    assert snapshots._usable(other, 20) is None
    assert "written with another configuration or version" in caplog.text
    wrong = Snapshot.of("rotation", 0, 18, snapshots.fingerprint, body, 0)
    assert snapshots._usable(wrong, 20) is None
    assert "its state is at offset 19" in caplog.text
    assert all("\n" not in r.getMessage() for r in caplog.records)


def test_the_local_cache_is_read_back_and_a_damaged_file_is_skipped(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SnapshotStore({}, "test", 4, str(tmp_path))
    snapshot = Snapshot.of("bars", 2, 41, "print", b"y" * 3_000_000, 7)
    store._write_local(snapshot)
    back = store.read_local("bars", 2)
    assert back is not None and back.body == snapshot.body and back.offset == 41
    assert store.read_local("bars", 3) is None
    path = tmp_path / "test-snapshots" / "bars-2.snapshot"
    path.write_bytes(path.read_bytes()[:1000])
    caplog.set_level(logging.WARNING, "rotation.snapshots")
    assert store.read_local("bars", 2) is None
    assert "bars-2.snapshot skipped: not a snapshot chunk" in caplog.text


def test_when_snapshots_are_taken(tmp_path, recording: Recording) -> None:
    """After the first interval, then every ``every_intervals``; deferred while stage
    two holds many intervals back (a catch-up), taken once they are let go."""
    snapshots = snapshots_for(tmp_path)
    snapshots.params = dataclasses.replace(UNIVERSE.snapshots, every_intervals=10, every_seconds=0)
    taken: list[int] = []

    async def record(snapshot: Snapshot) -> None:
        taken.append(snapshot.offset)

    snapshots._write = record  # type: ignore[method-assign]  # no broker: what is written
    stage = RotationRecovery(UNIVERSE, PARTITION_OF).fresh()

    async def run() -> None:
        async def after(offset: int, intervals: int = 1, held: int = 0) -> None:
            snapshots.after(0, offset, stage, intervals, held)
            await asyncio.sleep(0)  # the agent awaits its sends: the write runs

        snapshots.started(0)
        await after(0, intervals=0)  # nothing closed yet: nothing to keep
        await after(1)  # the first interval
        for offset in range(2, 12):
            await after(offset)  # the tenth since the last at 11
        for offset in range(12, 25):
            await after(offset, held=50)  # due at 21, deferred
        await after(25, held=2)
        for offset in range(26, 46):
            await after(offset, held=50)  # due at 35, deferred up to twice the interval

    asyncio.run(run())
    assert taken == [1, 11, 25, 45]
