"""Ctrl-C and SIGTERM: cancel the main task, and make every later check stop the run.

A cancellation alone can be lost when it lands in library code that swallows it,
so the request is also kept as a flag that the waiting loops and the steps between
runs check. Every process the run started is then stopped on the way out.
"""

from __future__ import annotations

import asyncio
import signal


class Interrupted(Exception):
    """The user asked the run to stop."""


_requested = False


def install(loop: asyncio.AbstractEventLoop, task: asyncio.Task[object]) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _on_signal, task)


def _on_signal(task: asyncio.Task[object]) -> None:
    global _requested
    _requested = True
    task.cancel()


def check() -> None:
    """Raise :class:`Interrupted` once a stop was asked for."""
    if _requested:
        raise Interrupted
