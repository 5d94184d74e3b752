"""A ``rotation`` subcommand as a child process: output to a log, ready line noted, stopped.

Like :class:`benchmarks.worker.WorkerProcess` (which runs the worker), for the other
commands the end-to-end benchmark starts: ``rotation gateway`` and ``rotation up``.
Children are started with :func:`rotation.processes.spawn`, so they die with the
benchmark even if it is killed.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import psutil

from rotation import processes


class ServiceFailed(RuntimeError):
    """The child exited before it was asked to."""


class ServiceProcess:
    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_path: Path,
        ready_marker: str | None = None,
    ) -> None:
        self.name = name
        self.ready_marker = ready_marker
        self.ready_at: float | None = None
        self.lines: list[tuple[float, str]] = []  # (monotonic, line) of every output line
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115
        self.started_at = time.monotonic()
        self.started_wall = time.time()
        self.proc = processes.spawn(
            processes.rotation_command(*args),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.ps = psutil.Process(self.proc.pid)
        self._pump = threading.Thread(target=self._copy_output, name=f"{name}-log", daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            now = time.monotonic()
            self.lines.append((now, line))
            if self.ready_at is None and self.ready_marker and self.ready_marker in line:
                self.ready_at = now
            self._log.write(line + "\n")
            self._log.flush()

    def check(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise ServiceFailed(f"{self.name} exited with status {code}; see {self._log.name}")

    def stop(self, timeout: float = 20.0) -> int:
        code = processes.stop(self.proc, timeout=timeout)
        self._pump.join(timeout=5)
        self._log.close()
        return code
