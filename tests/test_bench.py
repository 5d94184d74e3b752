"""``rotation bench``: its command line, and the JSON it writes (no benchmark is run here)."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks import report
from tests.helpers import ROOT


def test_bench_help_lists_the_options():
    done = subprocess.run(
        [sys.executable, "-m", "rotation.cli", "bench", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for option in ("--quick", "--json", "--soak", "--symbols", "--rate"):
        assert option in done.stdout


def _stats(p50: float, p99: float, top: float) -> dict[str, float]:
    return {"p50": p50, "p90": p99, "p99": p99, "max": top, "mean": p50, "count": 3}


def _paced_run(symbols: int) -> dict:
    resources = {
        name: {"cpu_cores": 0.2, "rss_start_mb": 50.0, "rss_peak_mb": 60.0, "rss_end_mb": 55.0}
        for name in ("worker", "gateway", "broker")
    }
    return {
        "symbols": symbols,
        "achieved_ticks_per_s": 19_990.0,
        "intervals": 3,
        "missing_intervals": 0,
        "caught_up": True,
        "last_interval_lag_s": 0.1,
        "latency_ms": _stats(10.0, 40.0, 45.0),
        "latency_ms_including_warmup": _stats(10.0, 80.0, 90.0),
        "signal_latency_ms": _stats(11.0, 41.0, 46.0),
        "hops_ms": {hop: _stats(2.0, 9.0, 10.0) for hop in report.HOPS},
        "resources": resources,
        "bench_cpu_cores": 0.03,
        "pandas": {
            "every_s": 1.0,
            "window_bars": 53,
            "recompute_ms": _stats(60.0, 70.0, 75.0),
            "latency_ms": _stats(560.0, 1050.0, 1060.0),
            "cpu_cores": 0.07,
            "decode_cpu_cores": 0.01,
            "recompute_cpu_cores": 0.06,
        },
    }


def test_json_has_the_required_keys(tmp_path):
    sizes = [500, 5000]
    results = report.summarize(
        parameters={
            "symbols": sizes,
            "quick": True,
            "repeat": 1,
            "rate": 20_000.0,
            "duration": 20.0,
            "warmup": 3.0,
            "event_speed": 10.0,
            "bar_seconds": 1,
        },
        environment={"cpus": 2, "load_average_at_start": [0.5, 0.5, 0.5]},
        raw={"consume_msgs_per_s": [500_000.0]},
        ready_runs=[{"ready_s": 2.9, "reported_by_up": {"worker_s": 2.6}}],
        drain_runs={
            s: [{"ticks": 200_000, "ticks_per_s": 80_000.0, "steady_ticks_per_s": 95_000.0}]
            for s in sizes
        },
        latency_runs={s: [_paced_run(s)] for s in sizes},
    )
    path = tmp_path / "bench.json"
    report.write_json(results, path)
    written = json.loads(path.read_text())

    for key in report.REQUIRED_KEYS:
        assert key in written, key
    assert written["raw_consume_msgs_per_s"] == 500_000.0
    assert written["ticks_per_s"] == 80_000.0
    assert set(written["latency_ms"]) >= {"p50", "p99", "max"}
    assert written["ready_s"] == 2.9
    assert written["worker_rss_mb"] == 60.0
    assert written["gateway_rss_mb"] == 60.0
    pandas = written["pandas_recompute"]
    assert set(pandas["latency_ms"]) >= {"p50", "p99", "max"}
    assert pandas["cpu_cores"] == 0.07
    assert set(written["by_symbols"]) == {"500", "5000"}
    assert written["goals"]["p99_latency"]["met"] is True
    assert written["goals"]["memory_flat"]["met"] is None  # no soak
    assert "rotation bench" in report.format_table(results)
