"""Child processes that never outlive their parent.

Every process the project spawns (the embedded broker, the worker, the feed, the
gateway) is started through :func:`spawn`: on Linux the kernel sends it SIGTERM when
the parent dies, even by SIGKILL, so no orphan is left behind; :func:`stop` and
:func:`stop_all` end them politely, then by force after :data:`STOP_GRACE_SECONDS`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # Ctrl-C in the terminal goes to the parent, which stops its children in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a child that is terminated when this process dies."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        preexec_fn=_die_with_parent,
    )


STOP_GRACE_SECONDS = 10.0
"""How long a child has to exit after SIGTERM before it gets SIGKILL."""


def stop(proc: subprocess.Popen[bytes], timeout: float = STOP_GRACE_SECONDS) -> int:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; return the exit code."""
    return stop_all([proc], timeout)[0]


def stop_all(
    procs: Sequence[subprocess.Popen[bytes]], grace: float = STOP_GRACE_SECONDS
) -> list[int]:
    """SIGTERM to every process at once, SIGKILL to those still running ``grace``
    seconds later; return the exit codes. Never takes much longer than ``grace``."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return [proc.returncode for proc in procs]


def rotation_command(*args: str) -> list[str]:
    """The argv that runs a ``rotation`` subcommand with this interpreter."""
    return [sys.executable, "-m", "rotation.cli", *args]
