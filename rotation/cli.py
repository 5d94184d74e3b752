"""The ``rotation`` command line.

rotation up        broker (embedded unless KAFKA_BOOTSTRAP) + worker + gateway + feed + monitor
rotation broker    the embedded Tansu broker alone
rotation worker    the Faust worker (agents bars and rotation)
rotation feed      tick sources: sim (default), replay FILE, yahoo, alpaca, polygon
rotation gateway   the websocket gateway
rotation monitor   the terminal monitor, a client of a gateway
rotation schemas   write (or --check) the JSON Schema files in schemas/
rotation deadletter   counts by reason and the latest entries of the dead-letter topic
rotation config check validate the configuration file (and its ROTATION__* overrides)
rotation topics       list the configured topics, or create them on a broker
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

from rotation import argtypes
from rotation.checkout import NoCheckout, benchmarks_module
from rotation.config import ConfigError, load_universe
from rotation.environment import settings_from_env
from streams.errors import RotationError
from streams.kafka import Settings

log = logging.getLogger("rotation")


class UsageError(RotationError):
    """A wrong flag or argument; printed without a traceback, exit status 2."""


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
    p.add_argument(
        "--duration", type=argtypes.positive_float, help="stop cleanly after this many seconds"
    )
    p.add_argument(
        "--gateway-port", type=argtypes.port, default=8765, help="websocket port (default 8765)"
    )
    p.add_argument("--log-dir", default=".rotation/logs", help="where the processes' logs go")

    p = add("broker", "Run the embedded Tansu broker until interrupted.", _cmd_broker)
    p.add_argument(
        "--port", type=argtypes.port, default=9092, help="listen port (default 9092, 0 = any)"
    )

    p = add("worker", "Run the Faust worker (needs KAFKA_BOOTSTRAP or --bootstrap).", _cmd_worker)
    with_config(p)
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")

    p = add(
        "feed",
        "Produce ticks to quotes.ticks: the simulator (the default), a file, or a live "
        "provider (see streams/feeds/README.md).",
        _cmd_feed,
    )
    _add_feed_sources(p, with_config, with_sim)

    p = add("gateway", "Serve rotation.metrics and rotation.signals over websockets.", _cmd_gateway)
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    with_config(p)
    from gateway.settings import add_arguments as add_gateway_arguments

    add_gateway_arguments(p)

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

    p = add(
        "bench",
        "Benchmark the whole path against the embedded broker: raw consume ceiling, ticks/s, "
        "tick-to-subscriber latency, RSS/CPU, time to first metrics, a pandas comparison.",
        _cmd_bench,
    )
    with contextlib.suppress(NoCheckout):  # `rotation bench` then says why it cannot run
        benchmarks_module("options").add_arguments(p)

    p = add("schemas", "Write the JSON Schema files of schemas/ from the records.", _cmd_schemas)
    p.add_argument("--check", action="store_true", help="fail if the files differ from the code")
    p.add_argument("--dir", default="schemas", help="target folder (default: schemas)")

    _add_operations_commands(add)
    return parser


def _add_operations_commands(
    add: Callable[[str, str, Callable[[argparse.Namespace], int]], argparse.ArgumentParser],
) -> None:
    """``deadletter``, ``config`` and ``topics``: looking after a running system."""
    from rotation.deadletter_report import REASONS

    p = add(
        "deadletter",
        "Show the dead-letter topic: counts by reason and the latest entries "
        "(read from the start, without a consumer group).",
        _cmd_deadletter,
    )
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    p.add_argument(
        "--limit", type=_count, default=20, metavar="N", help="latest entries to show (default 20)"
    )
    p.add_argument("--reason", choices=REASONS, help="show only the entries of this reason")
    p.add_argument(
        "--follow", action="store_true", help="then print new entries as they come (Ctrl-C stops)"
    )
    p.add_argument(
        "--json", action="store_true", help="JSON (with --follow: one JSON object per line)"
    )

    p = add("config", "Work with the configuration file.", _cmd_config_check)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="validate a configuration file",
        description="Validate a configuration file with its ROTATION__* environment overrides: "
        "a short summary and exit status 0 when it is fine, the file, line and key of the "
        "first problem and exit status 1 when not.",
    )
    check.add_argument(
        "path",
        nargs="?",
        help="the file (default: ROTATION_CONFIG, else the shipped rotation/universe.toml)",
    )
    check.add_argument(
        "--no-env", action="store_true", help="ignore the ROTATION__* environment overrides"
    )
    check.set_defaults(func=_cmd_config_check)

    p = add("topics", "List the configured topics, or create them on a broker.", _cmd_topics_list)
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    listing = sub.add_parser("list", help="the configured topics (no broker needed)")
    listing.set_defaults(func=_cmd_topics_list)
    create = sub.add_parser(
        "create",
        help="create every missing topic with its partition count (idempotent)",
        description="Create every configured topic that is missing, with its partition "
        "count; check the partition count of those that exist. Exit status 0 when all exist.",
    )
    create.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    create.set_defaults(func=_cmd_topics_create)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        # The processes `rotation up` starts read the same file.
        os.environ["ROTATION_CONFIG"] = args.config
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except RotationError as exc:
        print(f"rotation {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace) -> Settings:
    return settings_from_env(getattr(args, "bootstrap", None))


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
    from rotation.broker import embedded_broker

    with embedded_broker(port=args.port or None) as (bootstrap, proc):
        # The handlers first: whoever reads the line below may stop us at once. SIGINT
        # explicitly too, as the other commands do: a shell starts background jobs with
        # SIGINT ignored, and Python then leaves it ignored.
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, _interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            print(
                f"broker ready: KAFKA_BOOTSTRAP={bootstrap} (pid {proc.pid}); Ctrl-C stops it",
                flush=True,
            )
            proc.wait()
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    started = time.monotonic()
    import faust

    from agents.app import create_app
    from streams.admin import ensure_topics

    settings = _settings(args)
    universe = load_universe(args.config)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(ensure_topics(settings.bootstrap, universe.topics, settings.security))
    app = create_app(settings, universe, started)
    worker = faust.Worker(app, loop=loop, loglevel=args.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
    return 0


def _add_feed_sources(
    feed: argparse.ArgumentParser,
    with_config: Callable[[argparse.ArgumentParser], None],
    with_sim: Callable[[argparse.ArgumentParser], None],
) -> None:
    """``rotation feed SOURCE``: one subcommand per tick source."""
    sources = feed.add_subparsers(dest="source", metavar="SOURCE")

    def source(
        name: str, help_text: str, func: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = sources.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        with_config(p)
        p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
        return p

    p = source("sim", "The simulator (also `rotation feed` alone).", _cmd_feed_sim)
    with_sim(p)
    p.add_argument("--days", type=int, help="stop after this many trading sessions")
    p.add_argument("--duration", type=argtypes.positive_float, help="stop after this many seconds")

    p = source(
        "replay",
        "Send a CSV or Parquet file of bars or ticks, as frames, paced and resumable "
        "(`rotation replay FILE --kafka`).",
        _cmd_feed_replay,
    )
    p.add_argument("file", help="long-format CSV or Parquet file of bars or ticks")
    p.add_argument(
        "--speed",
        type=float,
        metavar="X",
        help="event seconds per wall second (default 0: as fast as possible)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="checkpoint file (default: .rotation/replay/<file>-<hash>.json)",
    )
    p.add_argument(
        "--start-row", type=int, metavar="N", help="skip the first N rows (in timestamp order)"
    )
    p.add_argument(
        "--bar-seconds", type=int, metavar="N", help="bar interval of the file (default: inferred)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def live(
        name: str, provider: str, func: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = source(
            name,
            f"Stream live trades and quotes from {provider} (extra: rotation[{name}]).",
            func,
        )
        p.add_argument(
            "symbols",
            nargs="*",
            metavar="SYMBOL",
            help="symbols to subscribe to (default: the universe's symbols)",
        )
        p.add_argument("--url", help="websocket URL (default: the provider's)")
        p.add_argument(
            "--duration", type=argtypes.positive_float, help="stop after this many seconds"
        )
        p.add_argument(
            "--gap-seconds",
            type=argtypes.positive_float,
            default=30.0,
            metavar="S",
            help="log a gap after S seconds without ticks (default 30)",
        )
        p.add_argument(
            "--stale-seconds",
            type=argtypes.positive_float,
            default=300.0,
            metavar="S",
            help="reconnect after S seconds without ticks (default 300)",
        )
        p.add_argument(
            "--reconnect-delay",
            type=argtypes.positive_float,
            default=1.0,
            metavar="S",
            help="first reconnect backoff ceiling; doubles per failed attempt (default 1)",
        )
        p.add_argument(
            "--max-reconnect-delay",
            type=argtypes.positive_float,
            default=60.0,
            metavar="S",
            help="backoff ceiling (default 60)",
        )
        return p

    live("yahoo", "the Yahoo Finance streamer", _cmd_feed_yahoo)

    p = live("alpaca", "Alpaca (stocks, v2)", _cmd_feed_alpaca)
    p.add_argument(
        "--feed",
        default="iex",
        choices=["iex", "sip", "delayed_sip"],
        help="Alpaca data feed (default iex, the free plan's)",
    )
    p.add_argument("--key", help="API key id (default: ALPACA_API_KEY_ID)")
    p.add_argument("--secret", help="API secret key (default: ALPACA_API_SECRET_KEY)")
    p.add_argument("--no-quotes", action="store_true", help="trades only")

    p = live("polygon", "Polygon.io / Massive (stocks)", _cmd_feed_polygon)
    p.add_argument("--key", help="API key (default: POLYGON_API_KEY)")
    p.add_argument(
        "--delayed", action="store_true", help="the 15-minute delayed cluster (default real time)"
    )
    p.add_argument("--no-quotes", action="store_true", help="trades only")


def _cmd_feed(args: argparse.Namespace) -> int:
    """``rotation feed`` without a source: the simulator with its defaults."""
    sim = build_parser().parse_args(["feed", "sim"])
    return _cmd_feed_sim(sim)


def _cmd_feed_sim(args: argparse.Namespace) -> int:
    from streams.admin import ensure_topics
    from streams.feeds.sim import run_feed

    settings = _settings(args)
    universe = load_universe(args.config)

    async def run(stop: asyncio.Future[None]) -> None:
        await ensure_topics(settings.bootstrap, universe.topics, settings.security)
        feed = asyncio.ensure_future(
            run_feed(
                settings.bootstrap,
                universe,
                ticks_topic=universe.topics.ticks,
                security=settings.security,
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


def _cmd_feed_replay(args: argparse.Namespace) -> int:
    args.kafka, args.out = True, None
    return _cmd_replay(args)


def _feed_symbols(args: argparse.Namespace) -> list[str]:
    symbols = [s.upper() for s in args.symbols] or list(load_universe(args.config).symbols)
    if not symbols:
        raise UsageError("no symbols: name some, or use a universe (--config) that has some")
    return list(dict.fromkeys(symbols))


def _credential(flag: str | None, env: str, what: str, option: str) -> str:
    value = flag or os.environ.get(env, "")
    if not value:
        raise UsageError(f"no {what}: set {env} (or pass {option})")
    return value


def _cmd_feed_yahoo(args: argparse.Namespace) -> int:
    from streams.feeds.errors import FeedError
    from streams.feeds.yahoo import URL, YahooStream

    try:
        provider = YahooStream(_feed_symbols(args), url=args.url or URL)
    except FeedError as exc:
        raise UsageError(str(exc)) from None
    return _run_live_feed(args, provider)


def _cmd_feed_alpaca(args: argparse.Namespace) -> int:
    from streams.feeds.alpaca import KEY_ENV, SECRET_ENV, AlpacaStream

    key = _credential(args.key, KEY_ENV, "Alpaca API key id", "--key")
    secret = _credential(args.secret, SECRET_ENV, "Alpaca API secret key", "--secret")
    provider = AlpacaStream(
        _feed_symbols(args), key, secret, feed=args.feed, quotes=not args.no_quotes, url=args.url
    )
    return _run_live_feed(args, provider)


def _cmd_feed_polygon(args: argparse.Namespace) -> int:
    from streams.feeds.polygon import DELAYED_URL, KEY_ENV, URL, PolygonStream

    key = _credential(args.key, KEY_ENV, "Polygon API key", "--key")
    url = args.url or (DELAYED_URL if args.delayed else URL)
    provider = PolygonStream(_feed_symbols(args), key, quotes=not args.no_quotes, url=url)
    return _run_live_feed(args, provider)


def _run_live_feed(args: argparse.Namespace, provider: object) -> int:
    from aiokafka.errors import KafkaError

    from streams.admin import ensure_topics
    from streams.feeds.errors import FeedError
    from streams.feeds.shell import Limits, run_live

    settings = _settings(args)
    universe = load_universe(args.config)
    limits = Limits(
        gap_seconds=args.gap_seconds,
        stale_seconds=args.stale_seconds,
        backoff_initial=args.reconnect_delay,
        backoff_max=max(args.max_reconnect_delay, args.reconnect_delay),
    )

    async def run(stop: asyncio.Future[None]) -> None:
        stopping = asyncio.Event()
        stop.add_done_callback(lambda _: stopping.set())
        await ensure_topics(settings.bootstrap, universe.topics, settings.security)
        result = await run_live(
            provider,  # type: ignore[arg-type]
            settings.bootstrap,
            stopping,
            limits=limits,
            max_ticks=universe.simulator.frame_max_ticks,
            duration=args.duration,
            topic=universe.topics.ticks,
            security=settings.security,
        )
        stats = result.stats
        print(
            f"{args.source} feed sent {result.ticks_sent} ticks in {result.frames_sent} frames; "
            f"{stats.connections} connection(s), {stats.gaps} gap(s), "
            f"{stats.provider_errors} provider error(s), {stats.rejected} rejected tick(s)",
            flush=True,
        )

    try:
        _run_until_signal(run)
    except FeedError as exc:
        raise UsageError(str(exc)) from None
    except KafkaError as exc:
        raise UsageError(f"cannot use Kafka at {settings.bootstrap}: {exc}") from None
    return 0


def _cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.messages import CLOSE_GOING_AWAY, CLOSE_SERVICE_RESTART
    from gateway.server import Gateway
    from gateway.settings import GatewaySettings
    from streams.admin import ensure_topics

    settings = _settings(args)
    universe = load_universe(args.config)
    configured = universe.gateway
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


def _cmd_monitor(args: argparse.Namespace) -> int:
    from monitor.app import RotationMonitor

    RotationMonitor(args.url).run()
    return 0


def _cmd_schemas(args: argparse.Namespace) -> int:
    from rotation.schemagen import check_schemas, write_schemas

    if args.check:
        drift = check_schemas(args.dir)
        for line in drift:
            print(line, file=sys.stderr)
        return 1 if drift else 0
    for path in write_schemas(args.dir):
        print(path)
    return 0


def _cmd_deadletter(args: argparse.Namespace) -> int:
    from aiokafka.errors import KafkaError

    from rotation import deadletter_report as report_

    settings = _settings(args)
    DEADLETTER = load_universe(getattr(args, "config", None)).topics.deadletter
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    report = report_.Report(DEADLETTER.name, limit=args.limit, reason=args.reason)
    state = {"caught_up": False}

    def on_entry(entry: report_.Entry) -> None:
        report.add(entry)
        if state["caught_up"] and report.matches(entry):
            if args.json:
                report_.print_json({"type": "entry", **entry.to_json()}, sys.stdout, one_line=True)
            else:
                print(report_.line_of(entry), flush=True)

    def on_caught_up() -> None:
        state["caught_up"] = True
        if args.json:
            document = report.to_json()
            if args.follow:
                document = {"type": "summary", **document}
            report_.print_json(document, sys.stdout, one_line=args.follow)
        else:
            report_.render(report, sys.stdout)
            if args.follow:
                print(f"following {DEADLETTER.name} (Ctrl-C stops) ...", flush=True)

    async def run(stop: asyncio.Future[None]) -> None:
        await report_.read_topic(
            settings.kafka_kwargs(), DEADLETTER.name, on_entry, on_caught_up, args.follow, stop
        )

    try:
        _run_until_signal(run)
    except KafkaError as exc:
        raise UsageError(f"cannot read {DEADLETTER.name} at {settings.bootstrap}: {exc}") from None
    return 0


def _cmd_config_check(args: argparse.Namespace) -> int:
    from rotation.config import parse_source
    from rotation.config_source import read_source

    try:
        source = read_source(args.path, environ={} if args.no_env else None)
        universe = parse_source(source)
    except ConfigError as exc:
        print(f"rotation config check: error: {exc}", file=sys.stderr)
        if exc.path is not None and exc.line is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError, IndexError):
                text = exc.path.read_text(encoding="utf-8").splitlines()[exc.line - 1]
                print(f"  {exc.line:>5} | {text}", file=sys.stderr)
        return 1
    derived = len(universe.all_pairs()) - len(universe.pairs)
    benchmark = universe.relative_strength.benchmark
    ticks = universe.ticks
    gateway = ", ".join(f"{k}={v}" for k, v in universe.gateway.items()) or "defaults"
    lines = [
        f"{source.path}: OK",
        f"  universe   {len(universe.symbols)} symbols, {len(universe.groups)} groups, "
        f"{len(universe.pairs)} pairs"
        + (f" (+{derived} against {benchmark})" if benchmark and derived else ""),
        f"  bars       {universe.bar_seconds} s, allowed lateness "
        f"{universe.allowed_lateness_seconds:g} s",
        f"  ticks      max_ahead_seconds {ticks.max_ahead_seconds:g}"
        f"{' (off)' if not ticks.max_ahead_seconds else ''}, max_age_seconds "
        f"{ticks.max_age_seconds:g}{' (off)' if not ticks.max_age_seconds else ''}",
        "  topics     " + ", ".join(f"{t.name} ({t.partitions})" for t in universe.topics),
        f"  gateway    {gateway}",
    ]
    if source.env:
        lines.append(f"  overrides  {', '.join(dict.fromkeys(source.env.values()))}")
    print("\n".join(lines))
    return 0


def _cmd_topics_list(args: argparse.Namespace) -> int:
    topics = load_universe(getattr(args, "config", None)).topics.roles()
    width = max(len(t.name) for t in topics.values())
    print(f"{'role':<11} {'topic':<{width}} {'partitions':>10}  key")
    for role, spec in topics.items():
        print(f"{role:<11} {spec.name:<{width}} {spec.partitions:>10}  {spec.key}")
    return 0


def _cmd_topics_create(args: argparse.Namespace) -> int:
    from aiokafka.errors import KafkaError

    from streams.admin import ensure_topics

    settings = _settings(args)
    topics = load_universe(getattr(args, "config", None)).topics.roles()
    try:
        done = asyncio.run(ensure_topics(settings.bootstrap, topics.values(), settings.security))
    except KafkaError as exc:
        raise UsageError(f"cannot create the topics at {settings.bootstrap}: {exc}") from None
    for spec in topics.values():
        print(f"{done[spec.name]:<8} {spec.name} ({spec.partitions} partitions)")
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from rotation.replay import ReplayError, run_replay

    try:
        return run_replay(args)
    except ReplayError as exc:
        raise UsageError(str(exc)) from None


def _cmd_bench(args: argparse.Namespace) -> int:
    return benchmarks_module("bench").run(args)


def _cmd_up(args: argparse.Namespace) -> int:
    from rotation.up import run_up

    return run_up(args)


if __name__ == "__main__":
    sys.exit(main())
