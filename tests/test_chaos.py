"""The chaos run, short: two workers, the gateway and the feed killed and restarted on a
seeded schedule and the broker cut off twice, and nothing lost or changed."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from benchmarks import chaos_postmortem
from benchmarks.chaos import default_gap
from benchmarks.chaos_observers import WebsocketObserver
from benchmarks.chaos_schedule import covers_required, make_schedule
from streams.probe import free_port
from tests.helpers import ROOT

SEED = 3
DURATION = 150.0


def test_the_schedule_is_seeded_and_has_every_kind_of_fault_even_when_short():
    gap = default_gap(DURATION)
    faults = make_schedule(SEED, DURATION, *gap)
    assert faults == make_schedule(SEED, DURATION, *gap)
    assert faults != make_schedule(SEED + 1, DURATION, *gap)
    assert covers_required(faults) == []
    assert [f.kind for f in faults].count("broker cut") == 2
    assert all(20 <= f.at <= DURATION - 20 for f in faults)
    assert all(later.at - earlier.at >= gap[0] for earlier, later in itertools.pairwise(faults))
    long = make_schedule(SEED, 1800.0, 20.0, 60.0)
    assert 1760 / 60 <= len(long) <= 1760 / 20 + 1 and covers_required(long) == []


def test_the_websocket_subscriber_tells_a_told_gap_from_an_untold_one():
    observer = WebsocketObserver(f"ws://127.0.0.1:{free_port()}/ws")  # nothing listens
    try:

        def signal(seq: int, ident: str) -> dict:
            return {
                "type": "signal",
                "channel": "signals",
                "seq": seq,
                "epoch": "e",
                "emit_ts": 0,
                "data": {"id": ident},
            }

        observer._take(
            {"type": "snapshot", "channel": "signals", "epoch": "e", "seq": 0, "count": 0}
        )
        observer._take(signal(1, "a"))
        observer._take(signal(2, "b"))
        observer._take(signal(4, "c"))  # 3 skipped, nothing said
        assert observer.log.untold_gaps == ["signals: seq 2 then 4"]
        # A snapshot with a reason: its signals may repeat ones seen, and seq jumps.
        observer._take(
            {
                "type": "snapshot",
                "channel": "signals",
                "epoch": "e",
                "seq": 9,
                "count": 2,
                "reason": "seq 4 is older than the retained history",
            }
        )
        observer._take(signal(3, "b"))
        observer._take(signal(9, "d"))
        observer._take(signal(10, "e"))
        assert len(observer.log.untold_gaps) == 1 and len(observer.log.told_gaps) == 1
        assert observer.log.signal_ids == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}
        observer._take(signal(11, "e"))  # the gateway sent an id twice
        assert observer.log.signal_ids["e"] == 2
    finally:
        observer.stop()


def test_a_short_chaos_run_loses_nothing_and_changes_nothing(tmp_path: Path):
    out = tmp_path / "chaos.json"
    out.write_text(json.dumps({"other": 1}), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.chaos",
            "--duration",
            str(DURATION),
            "--seed",
            str(SEED),
            "--json",
            str(out),
            "--log-dir",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    if done.returncode != 0:
        # Where a difference came from: the copies of bars stage one sent, and whether the
        # indicator history of every symbol grew by one bar per bar.
        bars = tmp_path / "logs" / "rotation.bars.jsonl"
        found = chaos_postmortem.examine(bars) if bars.exists() else "no rotation.bars kept"
        raise AssertionError(f"{done.stdout[-3000:]}{done.stderr[-3000:]}\n{found}")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["other"] == 1  # merged into the file, not over it
    chaos = data["chaos"]
    kinds = chaos["faults_by_kind"]
    assert kinds["worker SIGKILL"] >= 1 and kinds["worker SIGTERM"] >= 1
    assert kinds["broker cut"] == 2
    assert any(k.startswith("gateway") for k in kinds) and any(k.startswith("feed") for k in kinds)
    assert chaos["faults"] == sum(kinds.values())
    assert chaos["mismatches"] == 0, chaos["mismatch_details"]
    assert chaos["metrics_checked"] > 1000 and chaos["signals_checked"] > 0
    details = chaos["mismatch_details"]
    # Exactly once on the websocket, at least once on Kafka, no gap the subscriber was not told.
    assert details["websocket_signals_missing"] == details["websocket_signals_repeated"] == 0
    assert details["kafka_signals_missing"] == 0
    assert chaos["websocket"]["untold_gaps"] == 0 and chaos["websocket"]["connects"] >= 2
    assert chaos["recovery_s"]["max"] is not None
    assert "mismatches 0" in done.stdout
