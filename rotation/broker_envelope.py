"""How far the embedded broker has gone towards the end of its envelope, and one warning.

The embedded Tansu broker keeps every record batch in memory, never gives it back, and
its CPU per Fetch grows with the batches held in the partitions fetched (measured by
``python -m benchmarks.broker``; the README's "The embedded broker's envelope" has the
figures). :class:`EnvelopeWatch` reads the broker process's resident memory from
``/proc/<pid>/status`` (``VmRSS``, see proc(5)) and its CPU time from
``/proc/<pid>/stat`` (``utime`` + ``stime``), and says once, when the memory passes
``rss_mb``, the CPU over the last ``window`` seconds passes ``cpu_cores``, or a process
reports that a consumer's fetch wait had to grow (:meth:`EnvelopeWatch.note`, see
:mod:`streams.fetch_wait`), that the run is past what the embedded broker serves well
and where real Kafka is. Without ``/proc`` only the last of these works.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from streams.kafka import SettingsError

RSS_ENV = "ROTATION_BROKER_WARN_RSS_MB"
CPU_ENV = "ROTATION_BROKER_WARN_CPU"
DEFAULT_RSS_MB = 1000.0
DEFAULT_CPU_CORES = 0.5
WINDOW_SECONDS = 30.0

ADVICE = (
    "for long runs use Apache Kafka: `docker compose up` (docker-compose.yml), or any "
    "cluster with KAFKA_BOOTSTRAP=host:port and ROTATION_FETCH_MAX_WAIT_MS=500"
)


@dataclass(frozen=True)
class Thresholds:
    """Warn when the broker's RSS passes ``rss_mb`` or its CPU passes ``cpu_cores``."""

    rss_mb: float = DEFAULT_RSS_MB
    cpu_cores: float = DEFAULT_CPU_CORES

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> Thresholds:
        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r}: expected a number") from None
            if value <= 0:
                raise SettingsError(f"{name}={raw!r}: must be > 0")
            return value

        return cls(number(RSS_ENV, DEFAULT_RSS_MB), number(CPU_ENV, DEFAULT_CPU_CORES))


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB (10^6 bytes), from /proc; None when unreadable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024 / 1e6  # the field is in kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far, from /proc; None when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
        # After the command: state is field 3, utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class EnvelopeWatch:
    """Samples the broker every ``interval`` seconds; calls ``say`` once when past a
    threshold or told (:meth:`note`)."""

    def __init__(
        self,
        pid: int,
        thresholds: Thresholds,
        say: Callable[[str], None],
        *,
        interval: float = 2.0,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.pid = pid
        self.thresholds = thresholds
        self.say = say
        self.interval = interval
        self.window = window
        self.warned: str | None = None
        self._started = time.monotonic()
        self._samples: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="broker-envelope", daemon=True)

    def start(self) -> EnvelopeWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def note(self, what: str) -> str | None:
        """A process says the broker fell behind (``what``); the warning, the first time."""
        return self._warn(f"could not answer a fetch within its wait ({what})")

    def _warn(self, reason: str) -> str | None:
        with self._lock:
            if self.warned is not None:
                return None
            minutes = (time.monotonic() - self._started) / 60
            self.warned = (
                f"warning: the embedded broker {reason} after {minutes:.1f} min; it keeps "
                f"every message in memory and slows as it fills, so latency grows from "
                f"here; {ADVICE}"
            )
        self.say(self.warned)
        return self.warned

    def check(self) -> str | None:
        """One sample; the warning, the first time a threshold is passed."""
        if self.warned is not None:
            return None
        now = time.monotonic()
        rss, cpu = rss_mb(self.pid), cpu_seconds(self.pid)
        if cpu is not None:
            self._samples.append((now, cpu))
            while self._samples and now - self._samples[0][0] > self.window:
                self._samples.popleft()
        reason = None
        if rss is not None and rss >= self.thresholds.rss_mb:
            reason = f"holds {rss:,.0f} MB (threshold {self.thresholds.rss_mb:,.0f} MB)"
        elif len(self._samples) >= 2:
            (t0, c0), (t1, c1) = self._samples[0], self._samples[-1]
            cores = (c1 - c0) / (t1 - t0) if t1 - t0 >= self.window / 2 else 0.0
            if cores >= self.thresholds.cpu_cores:
                reason = (
                    f"uses {cores:.2f} of a core (threshold {self.thresholds.cpu_cores:g}) "
                    f"over the last {t1 - t0:.0f} s"
                )
        if reason is None:
            return None
        return self._warn(reason)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()
            if self.warned is not None:
                return
