"""``rotation up``: the whole system from one command, and nothing left behind.

Starts the broker (embedded Tansu unless ``KAFKA_BOOTSTRAP`` is set), creates the
topics, then the worker, the gateway and the simulator feed as child processes
(their output goes to ``--log-dir``; in ``--headless`` mode it is echoed too), and
runs the monitor in the foreground, or a headless signal log. On exit, by
``--duration``, Ctrl-C, SIGTERM or an error, it sends SIGTERM to every child, SIGKILL
to any still running :data:`rotation.processes.STOP_GRACE_SECONDS` (10 s) later, then
stops the broker the same way (5 s); children also die with this process if it is
killed. ``--gateway-port 0`` lets the gateway take a free port, which is printed.

With the embedded broker it warns once, with the way to Apache Kafka, when the broker
passes its envelope (:mod:`rotation.broker_envelope`): its memory or CPU past a
threshold, or a fetch wait the worker or the gateway had to raise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from rotation import processes
from rotation.broker import broker_process
from rotation.broker_envelope import EnvelopeWatch, Thresholds
from rotation.config import load_universe
from streams.admin import ensure_topics
from streams.kafka import SettingsError

_NOTEWORTHY = re.compile(r"WARNING|ERROR|CRITICAL|Traceback|Error:")
_LISTENING = re.compile(r"gateway listening on ws://[^\s/]+:(\d+)/")  # gateway/server.py
_FETCH_WAIT_RAISED = re.compile(r"\w[\w ]*: fetch wait raised from \d+ to \d+ ms")  # FetchWait


class Child:
    """A ``rotation`` subcommand in a child process, its output copied to a log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_dir: Path,
        echo: IO[str] | None,
        started: float,
        verbose: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.verbose = verbose
        self.on_line = on_line
        self.ready_after: float | None = None
        self.ready_line: str | None = None
        self._ready = threading.Event()
        self._started = started
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115
        self.proc = processes.spawn(
            processes.rotation_command(*args),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._echo = echo
        self._reader = threading.Thread(target=self._pump, name=f"{name}-log", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self._log.write(line + "\n")
            self._log.flush()
            if self.on_line is not None:
                self.on_line(line)
            if self.ready_after is None and ("worker ready in" in line or _LISTENING.search(line)):
                self.ready_after = time.monotonic() - self._started
                self.ready_line = line.strip()
                print(
                    f"[up] {self.name} ready {self.ready_after:.2f} s after start ({line.strip()})",
                    flush=True,
                )
                self._ready.set()
            if self._echo is not None and (self.verbose or _NOTEWORTHY.search(line)):
                print(f"[{self.name}] {line}", file=self._echo, flush=True)

    def failed(self) -> str | None:
        code = self.proc.poll()
        if code is None:
            return None
        return f"{self.name} exited with status {code}; see {self.log_path}"

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def stop(self) -> None:
        stop_children([self])

    def close(self) -> None:
        """Finish copying the output of the (stopped) process; close the log."""
        self._reader.join(timeout=2)
        self._log.close()


def stop_children(children: list[Child]) -> None:
    """Stop ``children`` together: SIGTERM, then SIGKILL after the grace period."""
    processes.stop_all([child.proc for child in children])
    for child in children:
        child.close()


def _wait_for_gateway(gateway: Child, children: list[Child], timeout: float = 120.0) -> int:
    """The port the gateway listens on, once it says so (it picks one for port 0)."""
    deadline = time.monotonic() + timeout
    while not gateway.wait_ready(0.1):
        for child in children:
            if problem := child.failed():
                raise RuntimeError(problem)
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the gateway did not start listening within {timeout:.0f} s; "
                f"see {gateway.log_path}"
            )
    match = _LISTENING.search(gateway.ready_line or "")
    if match is None:
        raise RuntimeError(f"cannot read the gateway's port from {gateway.ready_line!r}")
    return int(match.group(1))


def _warn(log_dir: Path, headless: bool) -> Callable[[str], None]:
    """Where the broker's envelope warning goes: ``broker-envelope.log``, and stdout when
    headless (the monitor owns the screen otherwise: it is printed when it exits)."""

    def say(message: str) -> None:
        (log_dir / "broker-envelope.log").write_text(message + "\n", encoding="utf-8")
        if headless:
            print(f"[up] {message}", flush=True)

    return say


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    load_universe(args.config)  # fail fast, before anything starts, on a bad config
    log_dir = Path(args.log_dir)
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / ".writable").touch()
    except OSError as exc:
        print(
            f"rotation up: error: cannot write logs to {log_dir}: {exc.strerror}; "
            "choose another folder with --log-dir",
            file=sys.stderr,
        )
        return 2
    # SIGINT explicitly too: a shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    children: list[Child] = []
    echo = sys.stdout if args.headless else None
    try:
        thresholds = Thresholds.from_env(os.environ)
    except SettingsError as exc:
        print(f"rotation up: error: {exc}", file=sys.stderr)
        return 2
    try:
        with broker_process(log_path=log_dir / "broker.log") as (bootstrap, proc):
            print(
                f"[up] broker {bootstrap} ready after {time.monotonic() - started:.2f} s",
                flush=True,
            )
            watch = None
            if proc is not None:
                watch = EnvelopeWatch(proc.pid, thresholds, _warn(log_dir, args.headless))
                watch.start()
            try:
                return _run_stack(args, bootstrap, children, log_dir, echo, started, watch)
            finally:
                if watch is not None:
                    watch.stop()
                    if watch.warned and not args.headless:  # the monitor had the screen
                        print(f"[up] {watch.warned}", file=sys.stderr, flush=True)
                # Children first, while the broker still answers their last flush.
                stop_children(children)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"rotation up: error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        print(
            f"[up] stopped after {time.monotonic() - started:.1f} s; logs in {log_dir}", flush=True
        )


def _run_stack(
    args: argparse.Namespace,
    bootstrap: str,
    children: list[Child],
    log_dir: Path,
    echo: IO[str] | None,
    started: float,
    watch: EnvelopeWatch | None = None,
) -> int:
    asyncio.run(ensure_topics(bootstrap, load_universe(args.config).topics))

    def on_line(line: str) -> None:
        if watch is not None and (found := _FETCH_WAIT_RAISED.search(line)):
            watch.note(found.group(0))

    env = {"KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"}
    config = ["--config", args.config] if args.config else []
    sim = ["--seed", str(args.seed), "--speed", str(args.speed)]
    sim += ["--then-speed", str(args.then_speed)]
    dashboard = [] if getattr(args, "dashboard", True) else ["--no-dashboard"]
    # The gateway first: a subscriber is then never later than the first metrics.
    gateway = Child(
        "gateway",
        ["gateway", "--port", str(args.gateway_port), *config, *dashboard],
        env,
        log_dir,
        echo,
        started,
        on_line=on_line,
    )
    children.append(gateway)
    children.append(
        Child("worker", ["worker", *config], env, log_dir, echo, started, on_line=on_line)
    )
    children.append(Child("feed", ["feed", "sim", *config, *sim], env, log_dir, echo, started))
    port = _wait_for_gateway(gateway, children)
    url = f"ws://127.0.0.1:{port}/ws"
    print(f"[up] gateway at {url}", flush=True)
    if getattr(args, "dashboard", True):
        print(f"[up] dashboard at http://127.0.0.1:{port}/ (open it in a browser)", flush=True)

    def watchdog() -> str | None:
        return next((p for c in children if (p := c.failed())), None)

    if args.headless:
        problem = asyncio.run(_headless(url, args.duration, started, watchdog))
    else:
        from monitor.app import RotationMonitor

        app = RotationMonitor(url, exit_after=args.duration, watchdog=watchdog)
        app.run()
        problem = app.problem
    if problem:
        print(f"rotation up: error: {problem}", file=sys.stderr)
        return 1
    return 0


async def _headless(url: str, duration: float | None, started: float, watchdog) -> str | None:
    """Log every signal until ``duration``; return a problem description, if any."""
    from gateway.client import GatewayClient
    from gateway.messages import MetricsMessage, SignalMessage

    first_metrics = first_signal = False

    async def log_signals() -> None:
        nonlocal first_metrics, first_signal
        async for kind, payload in GatewayClient(url).events():
            if kind == "status":
                print(f"[up] gateway {payload}", flush=True)
                continue
            if isinstance(payload, MetricsMessage) and not first_metrics:
                first_metrics = True
                print(
                    f"[up] first metrics {time.monotonic() - started:.2f} s after start", flush=True
                )
            elif isinstance(payload, SignalMessage):
                if not first_signal:
                    first_signal = True
                    print(
                        f"[up] first signal {time.monotonic() - started:.2f} s after start",
                        flush=True,
                    )
                data = payload.data
                print(
                    f"SIGNAL {data.kind} {data.subject} {data.direction} "
                    f"score={data.score:.2f} id={data.id} :: {data.summary}",
                    flush=True,
                )

    task = asyncio.create_task(log_signals())
    try:
        while duration is None or time.monotonic() - started < duration:
            if problem := watchdog():
                return problem
            if task.done():
                task.result()
            await asyncio.sleep(0.2)
        return None
    finally:
        # Cancel until it sticks: a library may swallow one cancellation (Python 3.11's
        # asyncio.wait_for does when its inner await completes at the same moment).
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
