"""What every command shares: the usage error, Kafka settings from flags and the
environment, running until a signal."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable

from rotation.environment import settings_from_env
from streams.errors import RotationError
from streams.kafka import Settings


class UsageError(RotationError):
    """A wrong flag or argument; printed without a traceback, exit status 2."""


def kafka_settings(args: argparse.Namespace) -> Settings:
    return settings_from_env(getattr(args, "bootstrap", None))


def run_until_signal(coro_factory: Callable[[asyncio.Future[None]], object]) -> None:
    """Run ``coro_factory(stop)`` where ``stop`` resolves on SIGINT/SIGTERM."""

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[None] = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        await coro_factory(stop)  # type: ignore[misc]  # the factories return coroutines

    asyncio.run(runner())


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
