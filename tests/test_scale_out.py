"""The scaling benchmarks' own logic: stage two's figures, and how runs are compared."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks import scale_out, stage_two
from tests.helpers import ROOT


def test_stage_two_reports_a_cost_per_interval_and_the_shape_it_measured(tmp_path: Path):
    figures = stage_two.measure(100, 3, 1, 1, tmp_path, extra_pairs=5, worker=True)
    assert (figures["symbols"], figures["groups"], figures["pairs"]) == (100, 12, 26 + 5)
    assert figures["intervals_measured"] == 3
    # Each interval's bars go out in at least one frame per tick partition.
    assert figures["bar_messages"] >= 4 * (stage_two.WARMUP_BARS + 3) - 4
    assert figures["cpu_s_per_interval"] > 0
    assert figures["symbol_intervals_per_cpu_s"] == 100 / figures["cpu_s_per_interval"]
    # One snapshot per group and per pair once every interval is complete.
    assert figures["snapshots_per_interval"] > 35
    assert figures["held_mb"] > 0
    # The worker sent every snapshot of the 63 intervals (43 subjects each once complete).
    assert figures["snapshots_seen"] >= figures["snapshots_per_interval"] * 63
    assert figures["worker_cpu_s_per_interval"] > 0
    assert "in a worker" in stage_two.format_table([figures])


def test_runs_differ_by_missing_extra_and_changed_outputs():
    base: scale_out.Outputs = {
        "metrics": {("group:a", 1): {"bars": 1}, ("group:a", 2): {"bars": 2}},
        "signals": {"s1": {"score": 1.0}},
    }
    same: scale_out.Outputs = {"metrics": dict(base["metrics"]), "signals": dict(base["signals"])}
    assert sum(scale_out.differences(base, same).values()) == 0
    other: scale_out.Outputs = {
        "metrics": {("group:a", 1): {"bars": 1}, ("group:a", 3): {"bars": 3}},
        "signals": {"s1": {"score": 2.0}},
    }
    assert scale_out.differences(base, other) == {
        "metrics_missing": 1,
        "metrics_extra": 1,
        "metrics_different": 0,
        "signals_missing": 0,
        "signals_extra": 0,
        "signals_different": 1,
    }


def test_a_workers_partitions_come_from_its_last_assignment_table(tmp_path: Path):
    log = tmp_path / "worker.log"
    log.write_text(
        "[INFO] Setting newly assigned partitions\n"
        "| quotes.ticks  | {0-3}      |\n"
        "| rotation.bars | {0}          |\n"
        "+---------------+ for group g\n"
        "[INFO] Setting newly assigned partitions\n"
        "+Topic Partition Set--------+\n"
        "| topic        | partitions |\n"
        "| quotes.ticks | {1, 3}     |\n"
        "+--------------+------------+ for group g\n",
        encoding="utf-8",
    )
    assert scale_out.assignment(log) == {"quotes.ticks": [1, 3]}
    first_only = log.read_text(encoding="utf-8").split("[INFO] Setting newly")[1]
    log.write_text("[INFO] Setting newly" + first_only, encoding="utf-8")
    assert scale_out.assignment(log) == {"quotes.ticks": [0, 1, 2, 3], "rotation.bars": [0]}


def test_two_workers_split_the_tick_partitions_and_send_what_one_sends(tmp_path: Path):
    """A small real run: brokers and workers started by the benchmark on 127.0.0.1."""
    out = tmp_path / "scale.json"
    options = ["--workers", "1,2", "--ticks", "20000", "--symbols", "100", "--repeat", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale_out", *options, "--json", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    one, two = json.loads(out.read_text(encoding="utf-8"))["scale_out"]
    assert (one["workers"], two["workers"], two["mismatches"]) == (1, 2, 0)
    run = two["runs"][0]
    assert run["snapshots"] == run["expected_snapshots"] > 0
    held = [sorted(a.get("quotes.ticks", [])) for a in run["assignments"]]
    assert all(held) and sorted(p for ps in held for p in ps) == [0, 1, 2, 3]
    assert sum("rotation.bars" in a for a in run["assignments"]) == 1
