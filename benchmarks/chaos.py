"""The chaos run: the whole system on a long stream while a seeded schedule breaks it.

On a fresh embedded broker on 127.0.0.1, behind a loopback TCP proxy
(:class:`benchmarks.tcp_proxy.Proxy`; the broker advertises the proxy's port, so every
client talks through it): two ``rotation worker`` processes (one consumer group: they
share the tick partitions, one holds ``rotation.bars``), ``rotation gateway``, and a feed
(``rotation replay --kafka`` of a synthetic tick file, paced, with a checkpoint), plus a
websocket subscriber that resumes with ``since`` and a confluent-kafka consumer of the
output topics (:mod:`benchmarks.chaos_observers`).

Every 20-60 s (``--gap``) the schedule (:mod:`benchmarks.chaos_schedule`,
``random.Random(seed)``) kills a random worker, the gateway or the feed with SIGKILL or
SIGTERM and starts it again at once, or cuts the broker off behind the proxy for
``--cut-seconds`` (twice in a run). Only the processes started here are signalled.

At the end the feed stops, and once the observers have every output of the offline run
of what is on ``quotes.ticks`` (:mod:`benchmarks.chaos_checks`) or ``--catch-up`` seconds
passed: every metrics snapshot must equal the offline run's, the websocket subscriber
must have seen every signal id exactly once and no gap it was not told about, the Kafka
consumer every signal id at least once. RSS of workers and gateway is sampled every
second; the slope per kind is reported (and judged on runs of 10 minutes or more).

Recovery time of a fault: from the fault to the first output not seen before that
reaches an observer after the part is back (restarted, or the proxy restored): the
websocket subscriber for a gateway fault, the Kafka consumer for the others.

    python -m benchmarks.chaos --duration 150 --seed 3 --json chaos.json
    rotation bench --chaos 1800 --json bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.chaos_checks import (
    Verdict,
    compare,
    memory_failures,
    offline_run,
    read_ticks,
    read_topic,
    slope_mb_per_min,
)
from benchmarks.chaos_input import write_input
from benchmarks.chaos_observers import KafkaObserver, WebsocketObserver
from benchmarks.chaos_schedule import Fault, covers_required, make_schedule
from benchmarks.services import ServiceProcess
from benchmarks.tcp_proxy import Proxy
from benchmarks.worker import MB, WorkerProcess
from rotation.broker import embedded_broker
from rotation.config import load_universe
from streams.admin import ensure_topics
from streams.probe import free_port
from streams.topics import DEFAULT_TOPICS

SYMBOLS = 100
BAR_SECONDS = 1
TICKS_PER_BAR = 3
EVENT_SPEED = 4.0  # event seconds per wall second: four 1-second intervals a second
STOP_WAIT_S = 30.0  # a SIGTERMed process that has not exited by then is SIGKILLed
START_WAIT_S = 120.0
FULL_RUN_S = 600.0
GATEWAY_READY = "gateway listening on"
READY_WAIT_S = 120.0  # before a fault, the parts restarted by the last one get this long


@dataclass
class Injected:
    """A fault as it happened: when (monotonic), when the part was back, the exit code."""

    fault: Fault
    at: float
    back: float
    back_wall: float
    exit_code: int | None = None
    recovery_s: float | None = None


class Cluster:
    """The processes of the run, restartable by role; RSS sampled per kind."""

    def __init__(self, bootstrap: str, config: Path, ticks: Path, log_dir: Path) -> None:
        self.bootstrap = bootstrap
        self.config = config
        self.ticks = ticks
        self.log_dir = log_dir
        self.gateway_port = free_port()
        self.env = {
            "KAFKA_BOOTSTRAP": bootstrap,
            "ROTATION_APP_ID": f"chaos-{log_dir.name}",
            "ROTATION_CONFIG": str(config.resolve()),
            "PYTHONUNBUFFERED": "1",
        }
        self.checkpoint = log_dir / "feed.checkpoint.json"
        self.starts: Counter[str] = Counter()
        self.workers: list[WorkerProcess] = []
        self.gateway: ServiceProcess | None = None
        self.feed: ServiceProcess | None = None
        self.feed_done = False
        self.rss: dict[str, list[tuple[float, float, float]]] = {"worker": [], "gateway": []}
        self.failures: list[str] = []
        self.incidents: list[str] = []

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.gateway_port}/ws"

    def _log(self, name: str) -> Path:
        self.starts[name] += 1
        return self.log_dir / f"{name}-{self.starts[name]}.log"

    def start_worker(self, slot: int) -> WorkerProcess:
        home = self.log_dir / f"worker{slot}"
        home.mkdir(exist_ok=True)
        self.starts[f"worker{slot}"] += 1
        log = home / f"worker{slot}-{self.starts[f'worker{slot}']}.log"
        proc = WorkerProcess(self.config, self.env, log)
        if slot < len(self.workers):
            self.workers[slot] = proc
        else:
            self.workers.append(proc)
        return proc

    def start_gateway(self) -> ServiceProcess:
        args = ["gateway", "--port", str(self.gateway_port), "--heartbeat-interval", "1"]
        self.gateway = ServiceProcess(
            "gateway", args, self.env, self._log("gateway"), ready_marker=GATEWAY_READY
        )
        return self.gateway

    def start_feed(self) -> ServiceProcess:
        args = ["replay", str(self.ticks), "--kafka", "--config", str(self.config)]
        args += ["--speed", f"{EVENT_SPEED:g}", "--checkpoint", str(self.checkpoint), "--quiet"]
        if self.checkpoint.exists():
            args.append("--resume")
        self.feed = ServiceProcess("feed", args, self.env, self._log("feed"))
        return self.feed

    def process(self, fault: Fault) -> ServiceProcess | WorkerProcess | None:
        if fault.target == "worker":
            return self.workers[fault.slot]
        return self.gateway if fault.target == "gateway" else self.feed

    def restart(self, fault: Fault) -> None:
        if fault.target == "worker":
            self.start_worker(fault.slot)
        elif fault.target == "gateway":
            self.start_gateway()
        elif not self.feed_done:
            self.start_feed()

    def kill(self, fault: Fault) -> int | None:
        """Signal the target (one of the processes started here) and wait for its exit."""
        target = self.process(fault)
        if target is None or target.proc.poll() is not None:
            return None
        sig = signal.SIGKILL if fault.how == "SIGKILL" else signal.SIGTERM
        target.proc.send_signal(sig)
        try:
            code = target.proc.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            # What a supervisor does (docker stop: SIGTERM, then SIGKILL after a grace).
            self.incidents.append(
                f"{fault.target} did not exit within {STOP_WAIT_S:.0f} s of SIGTERM; SIGKILLed"
            )
            target.proc.kill()
            code = target.proc.wait(STOP_WAIT_S)
        target.stop()  # closes its log
        return code

    def watch(self) -> None:
        """Restart a process that exited without being told, as the deployment's
        ``restart: unless-stopped`` does, and note it: a start-up that failed (no ready
        line yet, e.g. the broker cut off) or a feed that stopped on a send error (it says
        to continue with ``--resume``) is an incident; a worker or gateway that was up
        and exited is a failure. Sample RSS."""
        now = time.monotonic()
        for slot, worker in enumerate(self.workers):
            code = worker.proc.poll()
            if code is not None:
                self._exited(f"worker {slot}", code, worker.ready_at is not None)
                worker.stop()
                self.start_worker(slot)
            else:
                self._sample("worker", worker, now)
        if self.gateway is not None:
            code = self.gateway.proc.poll()
            if code is not None:
                self._exited("gateway", code, self.gateway.ready_at is not None)
                self.gateway.stop()
                self.start_gateway()
            else:
                self._sample("gateway", self.gateway, now)
        if self.feed is not None and not self.feed_done:
            code = self.feed.proc.poll()
            if code == 0:
                self.feed_done = True  # the whole file was sent
            elif code is not None:
                self._exited("feed", code, False)
                self.feed.stop()
                self.start_feed()

    def _exited(self, name: str, code: int, was_up: bool) -> None:
        line = f"{name} exited by itself with status {code}"
        if was_up:
            self.failures.append(line)
        else:
            self.incidents.append(f"{line} (before it was up, or a feed send error); restarted")

    def ready(self) -> bool:
        """Every worker printed its ready line and the gateway listens."""
        gateway_up = self.gateway is not None and self.gateway.ready_at is not None
        return gateway_up and all(w.ready_at is not None for w in self.workers)

    def _sample(self, kind: str, proc: ServiceProcess | WorkerProcess, now: float) -> None:
        with contextlib.suppress(Exception):
            self.rss[kind].append((now, proc.ps.memory_info().rss / MB, proc.started_at))

    def stop(self) -> None:
        procs: list[ServiceProcess | WorkerProcess] = [*self.workers]
        procs += [p for p in (self.gateway, self.feed) if p is not None]
        for proc in procs:
            with contextlib.suppress(Exception):
                proc.stop()


def wait_for_port(port: int, proc: ServiceProcess, timeout: float = START_WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        proc.check()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gateway did not listen on {port} within {timeout:.0f} s")
        time.sleep(0.1)


def wait_ready(workers: list[WorkerProcess], timeout: float = START_WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not all(w.ready_at is not None for w in workers):
        for w in workers:
            w.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the workers were not ready within {timeout:.0f} s")
        time.sleep(0.1)


def wait_until_ready(cluster: Cluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cluster.ready():
        if time.monotonic() > deadline:
            cluster.failures.append(f"the parts were not all up {timeout:.0f} s after a fault")
            return
        cluster.watch()
        time.sleep(0.2)


def pause_until(cluster: Cluster, at: float) -> None:
    """The schedule's pause between faults (part of the workload), watching the cluster."""
    while time.monotonic() < at:
        cluster.watch()
        time.sleep(min(1.0, max(0.0, at - time.monotonic())))


def run_chaos(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """One chaos run; its figures and the failed checks."""
    bars = int(args.duration * EVENT_SPEED / BAR_SECONDS * 1.5) + 100
    config, ticks, rows = write_input(
        log_dir,
        symbols=args.symbols,
        bars=bars,
        bar_seconds=BAR_SECONDS,
        ticks_per_bar=TICKS_PER_BAR,
        seed=args.seed,
    )
    universe = load_universe(config)
    gap_min, gap_max = args.gap or default_gap(args.duration)
    faults = make_schedule(
        args.seed, args.duration, gap_min, gap_max, warmup=args.warmup, tail=args.tail
    )
    _say(
        f"input: {rows:,} ticks of {args.symbols} symbols, {bars:,} 1-second bars; "
        f"{len(faults)} faults: " + ", ".join(f"{f.at:.0f}s {f.kind}" for f in faults)
    )
    lacking = covers_required(faults)
    proxy_port = free_port()
    injected: list[Injected] = []
    with (
        embedded_broker(log_path=log_dir / "broker.log", advertised_port=proxy_port) as (
            direct,
            _broker,
        ),
        Proxy(int(direct.rsplit(":", 1)[1]), proxy_port) as proxy,
    ):
        bootstrap = f"127.0.0.1:{proxy_port}"
        asyncio.run(ensure_topics(bootstrap))
        cluster = Cluster(bootstrap, config, ticks, log_dir)
        kafka: KafkaObserver | None = None
        websocket: WebsocketObserver | None = None
        try:
            gateway = cluster.start_gateway()
            cluster.start_worker(0)
            cluster.start_worker(1)
            wait_for_port(cluster.gateway_port, gateway)
            wait_ready(cluster.workers)
            kafka = KafkaObserver(bootstrap)
            websocket = WebsocketObserver(cluster.url)
            if not websocket.connected.wait(60):
                raise TimeoutError("the websocket subscriber could not connect in 60 s")
            cluster.start_feed()
            started = time.monotonic()
            _say(f"running: gateway {cluster.url}, 2 workers, feed at x{EVENT_SPEED:g}")
            for fault in faults:
                pause_until(cluster, started + fault.at)
                # A fault on a part still starting up would test start-up, not recovery.
                wait_until_ready(cluster, READY_WAIT_S)
                at = time.monotonic()
                code = None
                if fault.target == "broker":
                    proxy.cut()
                    pause_until(cluster, at + args.cut_seconds)
                    proxy.restore()
                else:
                    code = cluster.kill(fault)
                    cluster.restart(fault)
                injected.append(Injected(fault, at, time.monotonic(), time.time(), code))
                _say(
                    f"  {at - started:6.1f} s  {fault.kind}"
                    + (f" (worker {fault.slot})" if fault.target == "worker" else "")
                    + (f", exit {code}" if code is not None else "")
                )
            pause_until(cluster, started + args.duration)
            run_s = time.monotonic() - started
            if cluster.feed is not None and not cluster.feed_done:
                cluster.feed_done = True  # stopped on purpose: not restarted, not a failure
                cluster.feed.stop()
            _say("feed stopped; reading quotes.ticks for the offline run ...")
            expected = offline_run(universe, read_ticks(bootstrap))
            _say(
                f"offline: {expected.tick_messages:,} tick messages, "
                f"{len(expected.metrics):,} snapshots, {len(expected.signal_ids)} signals; "
                "waiting for the observers ..."
            )
            deadline = time.monotonic() + args.catch_up
            while time.monotonic() < deadline:
                cluster.watch()
                if (
                    expected.metrics.keys() <= kafka.metrics.keys()
                    and expected.signal_ids <= set(kafka.signal_ids)
                    and expected.signal_ids <= set(websocket.log.signal_ids)
                ):
                    break
                time.sleep(0.5)
            caught_up_s = time.monotonic() - (started + run_s)
            if args.log_dir:
                # For a post-mortem of a failed run: what stage one handed to stage two.
                with (log_dir / "rotation.bars.jsonl").open("wb") as out:
                    for value in read_topic(bootstrap, DEFAULT_TOPICS.bars.name):
                        out.write(value + b"\n")
        finally:
            for observer in (websocket, kafka):
                if observer is not None:
                    observer.stop()
            cluster.stop()
    assert kafka is not None and websocket is not None
    verdict = compare(expected, kafka, websocket.log)
    for item in injected:
        arrivals = websocket.arrivals if item.fault.target == "gateway" else kafka.arrivals
        first = arrivals.first_after(item.back, item.back_wall)
        item.recovery_s = None if first is None else first - item.at
    slopes = {kind: slope_mb_per_min(samples) for kind, samples in cluster.rss.items()}
    failures = [f"the schedule lacks {', '.join(lacking)}"] if lacking else []
    failures += cluster.failures + verdict.failures + memory_failures(slopes, run_s)
    failures += [
        f"no new output reached an observer after the {i.fault.kind} at {i.at - started:.0f} s"
        for i in injected
        if i.recovery_s is None
    ]
    result = summary(args, injected, verdict, slopes, failures, run_s, caught_up_s, websocket)
    result["incidents"] = cluster.incidents
    # At-least-once on Kafka: how many records were copies of one already read.
    result["kafka_copies"] = {
        "metrics": kafka.metric_copies - len(kafka.metrics),
        "signals": sum(kafka.signal_ids.values()) - len(kafka.signal_ids),
    }
    return result


def summary(
    args: argparse.Namespace,
    injected: list[Injected],
    verdict: Verdict,
    slopes: dict[str, float | None],
    failures: list[str],
    run_s: float,
    caught_up_s: float,
    websocket: WebsocketObserver,
) -> dict[str, Any]:
    recoveries = [i.recovery_s for i in injected if i.recovery_s is not None]
    by_kind: dict[str, list[float | None]] = {}
    for i in injected:
        by_kind.setdefault(i.fault.kind, []).append(i.recovery_s)
    return {
        "duration_s": round(run_s, 1),
        "seed": args.seed,
        "symbols": args.symbols,
        "faults": len(injected),
        "faults_by_kind": {k: len(v) for k, v in sorted(by_kind.items())},
        "recovery_s": {
            "p50": round(statistics.median(recoveries), 2) if recoveries else None,
            "max": round(max(recoveries), 2) if recoveries else None,
        },
        "recovery_s_by_kind": {
            k: {
                "p50": round(statistics.median(done), 2) if done else None,
                "max": round(max(done), 2) if done else None,
            }
            for k, v in sorted(by_kind.items())
            for done in [[x for x in v if x is not None]]
        },
        "mismatches": verdict.mismatches,
        "mismatch_details": verdict.details,
        "mismatch_examples": verdict.examples,
        "signals_checked": verdict.signals_checked,
        "metrics_checked": verdict.metrics_checked,
        "memory_mb_per_min": {k: None if v is None else round(v, 2) for k, v in slopes.items()},
        "websocket": {
            "connects": websocket.log.connects,
            "resumed": websocket.log.resumed,
            "snapshots": websocket.log.snapshots,
            "told_gaps": len(websocket.log.told_gaps),
            "untold_gaps": len(websocket.log.untold_gaps),
        },
        "catch_up_s": round(caught_up_s, 1),
        "faults_log": [
            {
                "kind": i.fault.kind,
                "slot": i.fault.slot,
                "at_s": i.fault.at,
                "exit_code": i.exit_code,
                "recovery_s": None if i.recovery_s is None else round(i.recovery_s, 2),
            }
            for i in injected
        ],
        "failures": failures,
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"chaos run: {result['duration_s']:.0f} s, seed {result['seed']}, "
        f"{result['symbols']} symbols, {result['faults']} faults",
        f"{'fault':<16} {'count':>5} {'recovery p50':>13} {'max':>8}",
    ]
    for kind, count in result["faults_by_kind"].items():
        r = result["recovery_s_by_kind"][kind]
        lines.append(f"{kind:<16} {count:>5} {_s(r['p50']):>13} {_s(r['max']):>8}")
    r = result["recovery_s"]
    lines.append(f"{'all':<16} {result['faults']:>5} {_s(r['p50']):>13} {_s(r['max']):>8}")
    lines.append(
        f"checked: {result['metrics_checked']:,} metrics snapshots, "
        f"{result['signals_checked']:,} signals; mismatches {result['mismatches']}"
    )
    memory = ", ".join(
        f"{k} {'n/a' if v is None else f'{v:+.2f}'} MB/min"
        for k, v in result["memory_mb_per_min"].items()
    )
    lines.append(f"RSS slope: {memory}")
    ws = result["websocket"]
    lines.append(
        f"websocket: {ws['connects']} connections, {ws['resumed']} resumes, "
        f"{ws['told_gaps']} told gaps, {ws['untold_gaps']} untold"
    )
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def write_json(path: Path, result: dict[str, Any]) -> None:
    """Merge ``{"chaos": result}`` into the JSON file at ``path`` (kept if present)."""
    data: dict[str, Any] = {}
    if path.exists():
        with contextlib.suppress(ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            data = loaded if isinstance(loaded, dict) else {}
    data["chaos"] = result
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def default_gap(duration: float) -> tuple[float, float]:
    """20-60 s between faults; on runs under 10 minutes a twelfth to an eighth of the run,
    so a short run still has room for every kind of fault."""
    if duration >= FULL_RUN_S:
        return 20.0, 60.0
    return duration / 12, duration / 8


def run(duration: float, seed: int, json_path: Path | None, log_dir: Path | None) -> int:
    """``rotation bench --chaos SECONDS``: run, print the table, exit status 1 on failure."""
    argv = ["--duration", str(duration), "--seed", str(seed)]
    if json_path:
        argv += ["--json", str(json_path)]
    if log_dir:
        argv += ["--log-dir", str(log_dir)]
    return main(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.chaos", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=1800.0,
        metavar="S",
        help="seconds of faults and feed (default 1800)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the schedule and the ticks")
    parser.add_argument(
        "--gap",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="seconds between faults (default 20 60; on runs under 10 minutes "
        "a twelfth to an eighth of the run)",
    )
    parser.add_argument(
        "--cut-seconds", type=float, default=5.0, help="seconds each broker cut lasts (default 5)"
    )
    parser.add_argument(
        "--warmup", type=float, default=20.0, help="seconds before the first fault (default 20)"
    )
    parser.add_argument(
        "--tail",
        type=float,
        default=20.0,
        help="seconds without faults before the end (default 20)",
    )
    parser.add_argument(
        "--symbols",
        type=int,
        default=SYMBOLS,
        help=f"symbols of the synthetic universe (default {SYMBOLS})",
    )
    parser.add_argument(
        "--catch-up",
        type=float,
        default=300.0,
        metavar="S",
        help="at most this long after the feed stops for the outputs to arrive (default 300)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="merge the totals into PATH under the key 'chaos'"
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        metavar="DIR",
        help="keep the input and every process's log here (default: temporary)",
    )
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Ctrl-C and SIGTERM stop the run wherever it waits; the `finally` blocks on the way
    # out stop every process it started and the broker.
    previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.ExitStack() as stack:
            if args.log_dir:
                args.log_dir.mkdir(parents=True, exist_ok=True)
                log_dir = args.log_dir
            else:
                log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
            result = run_chaos(args, log_dir)
    except KeyboardInterrupt:
        print("\ninterrupted; every process this run started has been stopped", file=sys.stderr)
        return 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(format_table(result))
    if args.json:
        write_json(args.json, result)
    for incident in result["incidents"]:
        print(f"note: {incident}", file=sys.stderr)
    for failure in result["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if result["failures"] else 0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
