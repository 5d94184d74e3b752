"""``rotation bench``: its command line, and the JSON it writes (no benchmark is run here)."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks import keeping_up, options, report
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
            s: [
                {
                    "ticks": 200_000,
                    "ticks_per_s": 80_000.0,
                    "steady_ticks_per_s": 95_000.0,
                    "consume_decode_ticks_per_s": 1_200_000.0,
                }
            ]
            for s in sizes
        },
        latency_runs={s: [_paced_run(s)] for s in sizes},
        extra_runs={200_000.0: [_extra_run(200_000.0, 199_000.0, lag=30.0, early_p50=900.0)]},
        search_runs=[_extra_run(63_000.0, 63_000.0, lag=1.0, early_p50=900.0)],
        tested={20_000.0: True, 200_000.0: False, 63_000.0: True},
        feed_alone={
            "rate": 200_000.0,
            "seconds": 5.0,
            "achieved_ticks_per_s": 201_000.0,
            "late_slots": 0,
        },
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
    assert written["consume_decode_ticks_per_s"] == 1_200_000.0
    assert written["by_symbols"]["5000"]["consume_decode_ticks_per_s"] == 1_200_000.0
    at_200k = written["paced_by_rate"]["200000"]
    assert at_200k["keeps_up"] is False
    assert at_200k["falls_behind_reasons"] == [
        "the last interval arrived 30.0 s after its ticks, 29.1 s later than the first "
        "third's median (> 1.0 s)"
    ]
    assert written["by_symbols"]["500"]["keeps_up"] is True
    assert written["max_sustained_ticks_per_s"] == 63_000.0
    assert written["max_sustained"]["falls_behind_at"] == 200_000.0
    table = report.format_table(results)
    assert "rotation bench" in table
    assert "FALLS BEHIND" in table
    assert "keeps up with (500 symbols): 63,000 ticks/s (falls behind at 200,000)" in table


def _extra_run(rate: float, achieved: float, lag: float | None, early_p50: float) -> dict:
    run = _paced_run(500)
    run.update(
        rate=rate,
        duration_s=10.0,
        achieved_ticks_per_s=achieved,
        caught_up=lag is not None,
        last_interval_lag_s=lag,
        drain_timeout_s=10.0,
        early_latency_ms=_stats(early_p50, early_p50, early_p50),
        early_to_last_s=8.0,
    )
    return run


def test_a_run_keeps_up_when_its_last_interval_is_as_late_as_its_first_third():
    run = _extra_run(200_000.0, 199_000.0, lag=1.5, early_p50=800.0)  # 0.7 s later: <= 1 s
    assert keeping_up.behind_reasons(run, 200_000.0) == []
    slow_start = _extra_run(200_000.0, 199_000.0, lag=9.5, early_p50=9_000.0)
    assert keeping_up.behind_reasons(slow_start, 200_000.0) == []


def test_a_run_falls_behind_when_the_feed_is_short_or_the_last_interval_late():
    short = _extra_run(200_000.0, 150_000.0, lag=1.0, early_p50=800.0)
    late = _extra_run(200_000.0, 199_000.0, lag=9.5, early_p50=800.0)
    never = _extra_run(200_000.0, 199_000.0, lag=None, early_p50=800.0)
    assert "under 95% of 200,000" in keeping_up.behind_reasons(short, 200_000.0)[0]
    assert keeping_up.behind_reasons(late, 200_000.0) == [
        "the last interval arrived 9.5 s after its ticks, 8.7 s later than the first "
        "third's median (> 1.0 s)"
    ]
    assert keeping_up.behind_reasons(never, 200_000.0) == [
        "the last interval's metrics did not arrive within 10 s after the feed ended"
    ]
    # Over a long run the allowed growth is a tenth of the span: 2 s over 20 s is fine.
    long_run = {
        **_extra_run(20_000.0, 20_000.0, lag=3.0, early_p50=1_000.0),
        "early_to_last_s": 20.0,
    }
    assert keeping_up.behind_reasons(long_run, 20_000.0) == []
    assert keeping_up.behind_reasons({**long_run, "last_interval_lag_s": 3.5}, 20_000.0)


def test_the_early_latencies_are_the_first_third_by_cause():
    cause = {end: float(end) for end in range(1, 10)}
    latency = {end: 100.0 * end for end in range(1, 10)}
    early, span = keeping_up.early_latencies(cause, latency)
    assert early == [100.0, 200.0, 300.0]
    assert span == 9.0 - 2.0


def test_the_search_halves_the_gap_on_a_log_scale_until_it_is_small():
    lowest, highest = 2_500.0, 200_000.0
    assert keeping_up.next_rate(20_000.0, 200_000.0, lowest=lowest, highest=highest) == 63_000.0
    assert keeping_up.next_rate(63_000.0, 200_000.0, lowest=lowest, highest=highest) == 110_000.0
    assert keeping_up.next_rate(20_000.0, 63_000.0, lowest=lowest, highest=highest) == 35_000.0
    assert keeping_up.next_rate(None, 20_000.0, lowest=lowest, highest=highest) == 10_000.0
    assert keeping_up.next_rate(None, 4_000.0, lowest=lowest, highest=highest) is None
    assert keeping_up.next_rate(150_000.0, None, lowest=lowest, highest=highest) is None
    assert keeping_up.next_rate(80_000.0, 95_000.0, lowest=lowest, highest=highest) is None


def test_the_sustained_rate_is_the_highest_kept_up_below_the_lowest_behind():
    found = keeping_up.sustained(
        {20_000.0: True, 63_000.0: True, 110_000.0: False, 84_000.0: True, 200_000.0: False}
    )
    assert found["ticks_per_s"] == 84_000.0
    assert found["falls_behind_at"] == 110_000.0
    assert not found["at_least"]
    # A noisy higher success above a failure does not count.
    assert keeping_up.sustained({20_000.0: True, 63_000.0: False, 110_000.0: True}) == {
        "ticks_per_s": 20_000.0,
        "falls_behind_at": 63_000.0,
        "at_least": False,
        "tested": {"20000": True, "63000": False, "110000": True},
    }
    assert keeping_up.sustained({20_000.0: True, 200_000.0: True})["at_least"]


def test_the_table_says_when_a_paced_rate_falls_behind():
    assert report.keeps_up_text(False, 1, 3) == "FALLS BEHIND (1 of 3 runs kept up)"
    assert report.keeps_up_text(True, 1, 1) == "keeps up"
    limit = {"ticks_per_s": 63_000.0, "falls_behind_at": 110_000.0, "at_least": False}
    assert report.sustained_text(limit) == "63,000 ticks/s (falls behind at 110,000)"
    limit = {"ticks_per_s": 200_000.0, "falls_behind_at": None, "at_least": True}
    assert report.sustained_text(limit).startswith("at least 200,000 ticks/s")


def test_rate_and_rates_name_the_paced_rates():
    parser = options.build_parser()
    args = options.resolve(parser.parse_args(["--quick"]))
    assert args.rates == [20_000.0, 200_000.0] and args.rate == 20_000.0
    assert args.symbols == [500, 5000] and args.search_steps == 2
    args = options.resolve(parser.parse_args(["--rate", "5000"]))
    assert args.rates == [5_000.0, 200_000.0] and args.rate == 5_000.0
    assert args.symbols == [500, 5000, 10000]
    args = options.resolve(parser.parse_args(["--rates", "30000"]))
    assert args.rates == [30_000.0] and args.rate == 30_000.0


def test_recovery_benchmark_writes_the_restart_time_per_history_size(tmp_path):
    """A tiny history (two 1-second intervals of 500 symbols): written, caught up,
    worker SIGKILLed, a new one started; the JSON has the issue's shape."""
    path = tmp_path / "recovery.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rotation.cli",
            "bench",
            "--recovery",
            "--recovery-sizes",
            "2000",
            "--repeat",
            "1",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    recovery = json.loads(path.read_text())["recovery"]
    assert set(recovery) == {"2000"}
    row = recovery["2000"]
    assert row["snapshots"] is True
    replay = row["without_snapshots"]
    assert replay["snapshots"] is False
    for figures in (row, replay):
        assert figures["restart_to_metrics_s"] > 0
        assert figures["restart_to_ready_s"] > 0
        (run,) = figures["runs"]
        assert run["killed_exit_code"] == -9  # SIGKILL
        assert run["catch_up_s"] > 0
    # Without snapshots no partition comes from one (two intervals are too few for the
    # worker to have committed, so it may also start over from the first message).
    assert replay["runs"][0]["rebuilt_from_snapshots"] == 0
    assert "to metrics" in done.stdout and "snapshot" in done.stdout  # the table
