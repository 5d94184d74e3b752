"""The ``rotation`` command line.

rotation up        broker (embedded unless KAFKA_BOOTSTRAP) + worker + gateway + feed + monitor
rotation broker    the embedded Tansu broker alone
rotation worker    the Faust worker (agents bars and rotation)
rotation feed      the simulator feed
rotation gateway   the websocket gateway
rotation monitor   the terminal monitor, a client of a gateway
rotation schemas   write (or --check) the JSON Schema files in schemas/
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence

from streams.config import ConfigError, load_universe
from streams.settings import Settings, SettingsError

log = logging.getLogger("rotation")


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rotation", description="Streaming monitor for market rotation."
    )
    parser.add_argument("--log-level", default=os.environ.get("ROTATION_LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, help_text: str, func: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config", help="universe TOML (default: ROTATION_CONFIG or the shipped one)"
        )

    def with_sim(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
        p.add_argument(
            "--speed",
            type=float,
            default=11_700.0,
            help="trading seconds per wall second (default 11700: one session in 2 s; "
            "0 = as fast as possible)",
        )

    p = add(
        "up", "Run everything: broker, worker, gateway, simulator feed and the monitor.", _cmd_up
    )
    with_config(p)
    with_sim(p)
    p.add_argument("--headless", action="store_true", help="no monitor: log signals to stdout")
    p.add_argument("--duration", type=_positive_float, help="stop cleanly after this many seconds")
    p.add_argument("--gateway-port", type=_port, default=8765, help="websocket port (default 8765)")
    p.add_argument("--log-dir", default=".rotation/logs", help="where the processes' logs go")

    p = add("broker", "Run the embedded Tansu broker until interrupted.", _cmd_broker)
    p.add_argument("--port", type=_port, default=9092, help="listen port (default 9092, 0 = any)")

    p = add("worker", "Run the Faust worker (needs KAFKA_BOOTSTRAP or --bootstrap).", _cmd_worker)
    with_config(p)
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")

    p = add("feed", "Produce simulated ticks to quotes.ticks.", _cmd_feed)
    p.add_argument("source", nargs="?", default="sim", choices=["sim"], help="tick source")
    with_config(p)
    with_sim(p)
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    p.add_argument("--days", type=int, help="stop after this many trading sessions")
    p.add_argument("--duration", type=_positive_float, help="stop after this many seconds")

    p = add("gateway", "Serve rotation.metrics and rotation.signals over websockets.", _cmd_gateway)
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8765, help="listen port (default 8765)")

    p = add("monitor", "Open the terminal monitor on a running gateway.", _cmd_monitor)
    p.add_argument("--url", default="ws://127.0.0.1:8765/ws", help="gateway websocket URL")

    p = add(
        "replay",
        "Replay bars or ticks from a CSV or Parquet file through the analytics (no broker), "
        "or with --kafka into a running system.",
        _cmd_replay,
    )
    p.add_argument("file", help="long-format CSV or Parquet file of bars or ticks")
    with_config(p)
    p.add_argument(
        "--out", metavar="PATH", help="write the JSON lines to this file (default: stdout)"
    )
    p.add_argument(
        "--bar-seconds",
        type=int,
        metavar="N",
        help="bar interval of the file (default: inferred from the bars; for ticks the config's)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--kafka", action="store_true", help="send the ticks to quotes.ticks of a running system"
    )
    p.add_argument(
        "--bootstrap",
        metavar="HOST:PORT",
        help="with --kafka: Kafka host:port (default: KAFKA_BOOTSTRAP)",
    )
    p.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="with --kafka: event seconds per wall second (default 0: as fast as possible)",
    )
    p.add_argument(
        "--start-row",
        type=int,
        metavar="N",
        help="skip the first N rows (in timestamp order, from 0)",
    )
    p.add_argument(
        "--resume", action="store_true", help="with --kafka: continue from the checkpoint"
    )
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="with --kafka: checkpoint file (default: .rotation/replay/<file>-<hash>.json)",
    )

    p = add("schemas", "Write the JSON Schema files of schemas/ from the records.", _cmd_schemas)
    p.add_argument("--check", action="store_true", help="fail if the files differ from the code")
    p.add_argument("--dir", default="schemas", help="target folder (default: schemas)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except (UsageError, ConfigError, SettingsError) as exc:
        print(f"rotation {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(getattr(args, "bootstrap", None))


def _run_until_signal(coro_factory: Callable[[asyncio.Future[None]], object]) -> None:
    """Run ``coro_factory(stop)`` where ``stop`` resolves on SIGINT/SIGTERM."""

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        stop: asyncio.Future[None] = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        await coro_factory(stop)  # type: ignore[misc]

    asyncio.run(runner())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cmd_broker(args: argparse.Namespace) -> int:
    from streams.broker import embedded_broker

    with embedded_broker(port=args.port or None) as (bootstrap, proc):
        print(
            f"broker ready: KAFKA_BOOTSTRAP={bootstrap} (pid {proc.pid}); Ctrl-C stops it",
            flush=True,
        )
        signal.signal(signal.SIGTERM, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            proc.wait()
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    started = time.monotonic()
    import faust

    from streams.admin import ensure_topics
    from streams.app import create_app

    settings = _settings(args)
    universe = load_universe(args.config)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(ensure_topics(settings.bootstrap))
    app = create_app(settings, universe, started)
    worker = faust.Worker(app, loop=loop, loglevel=args.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
    return 0


def _cmd_feed(args: argparse.Namespace) -> int:
    from streams.admin import ensure_topics
    from streams.feed import run_feed

    settings = _settings(args)
    universe = load_universe(args.config)

    async def run(stop: asyncio.Future[None]) -> None:
        await ensure_topics(settings.bootstrap)
        feed = asyncio.ensure_future(
            run_feed(
                settings.bootstrap,
                universe,
                seed=args.seed,
                speed=args.speed,
                days=args.days,
                duration=args.duration,
            )
        )
        await asyncio.wait({feed, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not feed.done():
            feed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            sent = await feed
            print(f"feed sent {sent} ticks", flush=True)

    _run_until_signal(run)
    return 0


def _cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.server import Gateway
    from streams.admin import ensure_topics

    settings = _settings(args)

    async def run(stop: asyncio.Future[None]) -> None:
        await ensure_topics(settings.bootstrap)
        await Gateway(settings.bootstrap, args.host, args.port).serve(stop)

    try:
        _run_until_signal(run)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0


def _cmd_monitor(args: argparse.Namespace) -> int:
    from monitor.app import RotationMonitor

    RotationMonitor(args.url).run()
    return 0


def _cmd_schemas(args: argparse.Namespace) -> int:
    from streams.schemagen import check_schemas, write_schemas

    if args.check:
        drift = check_schemas(args.dir)
        for line in drift:
            print(line, file=sys.stderr)
        return 1 if drift else 0
    for path in write_schemas(args.dir):
        print(path)
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from streams.replay import ReplayError, run_replay

    try:
        return run_replay(args)
    except ReplayError as exc:
        raise UsageError(str(exc)) from None


def _cmd_up(args: argparse.Namespace) -> int:
    from streams.up import run_up

    return run_up(args)


if __name__ == "__main__":
    sys.exit(main())
