"""The long-running services: ``rotation broker``, ``worker``, ``gateway``, ``monitor``,
``up``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time

from rotation.config import load_universe
from rotation.running import UsageError, interrupt, kafka_settings


def cmd_broker(args: argparse.Namespace) -> int:
    from rotation.broker import embedded_broker

    with embedded_broker(port=args.port or None) as (bootstrap, proc):
        # The handlers first: whoever reads the line below may stop us at once. SIGINT
        # explicitly too, as the other commands do: a shell starts background jobs with
        # SIGINT ignored, and Python then leaves it ignored.
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            print(
                f"broker ready: KAFKA_BOOTSTRAP={bootstrap} (pid {proc.pid}); Ctrl-C stops it",
                flush=True,
            )
            proc.wait()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    started = time.monotonic()
    import faust

    from agents.app import create_app
    from agents.snapshot_store import snapshot_topic
    from streams.admin import ensure_topics

    settings = kafka_settings(args)
    universe = load_universe(args.config)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    topics = [*universe.topics, snapshot_topic(settings.app_id, universe.topics.ticks.partitions)]
    loop.run_until_complete(ensure_topics(settings.bootstrap, topics, settings.security))
    app = create_app(settings, universe, started)
    worker = faust.Worker(app, loop=loop, loglevel=args.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.messages import CLOSE_GOING_AWAY, CLOSE_SERVICE_RESTART
    from gateway.server import Gateway
    from gateway.settings import GatewaySettings
    from streams.admin import ensure_topics

    settings = kafka_settings(args)
    universe = load_universe(args.config)
    # ROTATION_FETCH_MAX_WAIT_MS, unless the [gateway] table or a flag says otherwise.
    configured = {"fetch_max_wait_ms": settings.fetch_max_wait_ms, **(universe.gateway or {})}
    try:
        gateway_settings = GatewaySettings.from_args(args, configured, os.environ)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    async def run() -> None:
        # SIGTERM (a supervisor restarting it) closes clients with 1012, "come back";
        # SIGINT (Ctrl-C) with 1001, "going away".
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[int | None] = loop.create_future()
        for sig, code in (
            (signal.SIGTERM, CLOSE_SERVICE_RESTART),
            (signal.SIGINT, CLOSE_GOING_AWAY),
        ):
            loop.add_signal_handler(sig, lambda c=code: stop.done() or stop.set_result(c))
        await ensure_topics(settings.bootstrap, universe.topics, settings.security)
        gateway = Gateway(
            settings.bootstrap,
            gateway_settings,
            topics=universe.topics,
            security=settings.security,
        )
        await gateway.serve(stop)

    try:
        asyncio.run(run())
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {gateway_settings.host}:{gateway_settings.port}: {exc.strerror}"
        ) from None
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    from monitor.app import RotationMonitor
    from monitor.headline import DEFAULT_REGIME_PAIRS, parse_pairs
    from monitor.quotes import DEFAULT_QUOTES, parse_symbols

    quotes = DEFAULT_QUOTES if args.quotes is None else parse_symbols(args.quotes)
    pairs = DEFAULT_REGIME_PAIRS if args.regime_pairs is None else parse_pairs(args.regime_pairs)
    RotationMonitor(args.url, quotes=quotes, regime_pairs=pairs).run()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from rotation.up import run_up

    return run_up(args)
