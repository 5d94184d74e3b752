"""Where a worker's time goes: py-spy (every thread, sampled) or cProfile (main thread).

py-spy is attached to the running worker from its ``worker ready`` line until it has
taken in every tick, and writes collapsed stacks (``--format raw``); by default it
leaves out idle samples, so the shares are of the time the worker was busy.
Without py-spy, the worker runs under cProfile from start to stop; that sees only
the main thread (Faust's consumer runs in a thread of its own) and includes
start-up and idle waits.
"""

from __future__ import annotations

import collections
import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rotation import processes

PY_SPY_RATE = 200
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_OWN_CODE = ("agents/", "streams/")


@dataclass(frozen=True)
class ProfileRequest:
    """How to profile a worker run, and where its raw output goes."""

    kind: Literal["py-spy", "cprofile"]
    output: Path
    py_spy: str | None = None


def choose(output_dir: Path, py_spy: str | None) -> ProfileRequest:
    """py-spy when given, beside this interpreter or on PATH; else cProfile."""
    beside = Path(sys.executable).parent / "py-spy"
    found = py_spy or (str(beside) if beside.exists() else shutil.which("py-spy"))
    if found:
        return ProfileRequest("py-spy", output_dir / "worker.pyspy.txt", found)
    return ProfileRequest("cprofile", output_dir / "worker.prof")


class PySpyRecorder:
    """``py-spy record`` attached to one process until :meth:`stop`."""

    def __init__(self, request: ProfileRequest, pid: int, log_path: Path) -> None:
        assert request.py_spy is not None
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115
        self.proc = processes.spawn(
            [
                request.py_spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(PY_SPY_RATE),
                "--format",
                "raw",
                "--threads",
                "--nonblocking",
                "--output",
                str(request.output),
            ],
            stdout=self._log,
            stderr=self._log,
        )

    def stop(self) -> None:
        """Stop sampling (SIGINT makes py-spy write its output), then wait for it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                processes.stop(self.proc, timeout=5)
        self._log.close()


def summarize(request: ProfileRequest, top: int) -> dict[str, Any]:
    if not request.output.exists():
        return {"tool": request.kind, "error": f"{request.kind} wrote no {request.output.name}"}
    if request.kind == "py-spy":
        return summarize_py_spy(request.output, top)
    return summarize_cprofile(request.output, top)


def summarize_py_spy(path: Path, top: int) -> dict[str, Any]:
    """Shares of busy samples: per thread, per function (own time), per project function."""
    threads: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        thread, *frames = stack.split(";")
        threads[_thread_name(thread)] += count
        names = [_function(frame) for frame in frames]
        if names:
            own[names[-1]] += count
        for name in set(names):
            if name.split("(", 1)[-1].startswith(_OWN_CODE) and "cli.py" not in name:
                inclusive[name] += count
    total = total or 1

    def shares(counter: collections.Counter[str], n: int) -> list[dict[str, Any]]:
        return [
            {"function": name, "samples": c, "share": c / total}
            for name, c in counter.most_common(n)
        ]

    return {
        "tool": "py-spy",
        "samples": total,
        "rate_hz": PY_SPY_RATE,
        "threads": shares(threads, 5),
        "own_time": shares(own, top),
        "project_inclusive": shares(inclusive, top),
    }


def _thread_name(frame: str) -> str:
    match = re.search(r"\((?:\d+)\): (.*)$", frame)
    return match.group(1) if match else frame


def _function(frame: str) -> str:
    """``func (file:line)`` -> ``func (file)``: one entry per function, not per line."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('func')} ({match.group('file')})"


def summarize_cprofile(path: Path, top: int) -> dict[str, Any]:
    """The functions with the most own time (tottime), main thread only."""
    entries = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in entries.values()) or 1.0
    rows = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    own = []
    for (file, line, func), (_cc, calls, tottime, _cumtime, _callers) in rows:
        where = func if file == "~" else f"{func} ({_short_path(file)}:{line})"
        own.append(
            {"function": where, "calls": calls, "seconds": tottime, "share": tottime / total}
        )
    return {"tool": "cprofile", "seconds": total, "own_time": own}


def _short_path(file: str) -> str:
    for marker in ("site-packages/", f"{Path.cwd()}/", "/lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return os.path.basename(file)


def format_summary(summary: dict[str, Any]) -> list[str]:
    """Lines for the results table."""
    if "error" in summary:
        return [f"profile: {summary['error']}"]
    if summary["tool"] == "cprofile":
        lines = ["cProfile, main thread only, start to stop; own time:"]
        lines += [
            f"  {row['share']:6.1%} {row['seconds']:7.2f} s {row['calls']:>9,}  {row['function']}"
            for row in summary["own_time"]
        ]
        return lines
    lines = [
        f"py-spy, all threads, ready to done, {summary['samples']:,} busy samples "
        f"at {summary['rate_hz']} Hz",
        "  threads: "
        + ", ".join(f"{row['function']} {row['share']:.0%}" for row in summary["threads"]),
        "  own time (function, file):",
    ]
    lines += [f"  {row['share']:6.1%}  {row['function']}" for row in summary["own_time"]]
    lines.append("  project code, including what it calls:")
    lines += [f"  {row['share']:6.1%}  {row['function']}" for row in summary["project_inclusive"]]
    return lines
