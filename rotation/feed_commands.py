"""``rotation feed SOURCE``: the simulator, a file replay and the live providers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Callable

from rotation import argtypes
from rotation.config import load_universe
from rotation.operations import cmd_replay
from rotation.running import UsageError, kafka_settings, run_until_signal


def add_feed_sources(
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

    p = source("sim", "The simulator (also `rotation feed` alone).", cmd_feed_sim)
    with_sim(p)
    p.add_argument("--days", type=int, help="stop after this many trading sessions")
    p.add_argument("--duration", type=argtypes.positive_float, help="stop after this many seconds")

    p = source(
        "replay",
        "Send a CSV or Parquet file of bars or ticks, as frames, paced and resumable "
        "(`rotation replay FILE --kafka`).",
        cmd_feed_replay,
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="CSV or Parquet file of bars or ticks (as for `rotation replay`), or a folder",
    )
    p.add_argument("--symbol", metavar="NAME", help="the symbol of a file without one")
    p.add_argument("--adjusted", action="store_true", help="replay 'Adj Close' as the close")
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

    live("yahoo", "the Yahoo Finance streamer", cmd_feed_yahoo)

    p = live("alpaca", "Alpaca (stocks, v2)", cmd_feed_alpaca)
    p.add_argument(
        "--feed",
        default="iex",
        choices=["iex", "sip", "delayed_sip"],
        help="Alpaca data feed (default iex, the free plan's)",
    )
    p.add_argument("--key", help="API key id (default: ALPACA_API_KEY_ID)")
    p.add_argument("--secret", help="API secret key (default: ALPACA_API_SECRET_KEY)")
    p.add_argument("--no-quotes", action="store_true", help="trades only")

    p = live("polygon", "Polygon.io / Massive (stocks)", cmd_feed_polygon)
    p.add_argument("--key", help="API key (default: POLYGON_API_KEY)")
    p.add_argument(
        "--delayed", action="store_true", help="the 15-minute delayed cluster (default real time)"
    )
    p.add_argument("--no-quotes", action="store_true", help="trades only")


def cmd_feed(args: argparse.Namespace) -> int:
    """``rotation feed`` without a source: the simulator with its defaults."""
    from rotation.cli import build_parser  # the parser holds every command

    sim = build_parser().parse_args(["feed", "sim"])
    return cmd_feed_sim(sim)


def cmd_feed_sim(args: argparse.Namespace) -> int:
    from streams.admin import ensure_topics
    from streams.feeds.sim import run_feed

    settings = kafka_settings(args)
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
                then_speed=args.then_speed,
                days=args.days,
                duration=args.duration,
                flush_seconds=settings.feed_flush_ms / 1000,
                compression=settings.compression_type,
            )
        )
        await asyncio.wait({feed, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not feed.done():
            feed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            sent = await feed
            print(f"feed sent {sent} ticks", flush=True)

    run_until_signal(run)
    return 0


def cmd_feed_replay(args: argparse.Namespace) -> int:
    args.kafka, args.out = True, None
    args.sort, args.chunk_rows = False, None
    return cmd_replay(args)


def feed_symbols(args: argparse.Namespace) -> list[str]:
    symbols = [s.upper() for s in args.symbols] or list(load_universe(args.config).symbols)
    if not symbols:
        raise UsageError("no symbols: name some, or use a universe (--config) that has some")
    return list(dict.fromkeys(symbols))


def credential(flag: str | None, env: str, what: str, option: str) -> str:
    value = flag or os.environ.get(env, "")
    if not value:
        raise UsageError(f"no {what}: set {env} (or pass {option})")
    return value


def cmd_feed_yahoo(args: argparse.Namespace) -> int:
    from streams.feeds.errors import FeedError
    from streams.feeds.yahoo import URL, YahooStream

    try:
        provider = YahooStream(feed_symbols(args), url=args.url or URL)
    except FeedError as exc:
        raise UsageError(str(exc)) from None
    return run_live_feed(args, provider)


def cmd_feed_alpaca(args: argparse.Namespace) -> int:
    from streams.feeds.alpaca import KEY_ENV, SECRET_ENV, AlpacaStream

    key = credential(args.key, KEY_ENV, "Alpaca API key id", "--key")
    secret = credential(args.secret, SECRET_ENV, "Alpaca API secret key", "--secret")
    provider = AlpacaStream(
        feed_symbols(args), key, secret, feed=args.feed, quotes=not args.no_quotes, url=args.url
    )
    return run_live_feed(args, provider)


def cmd_feed_polygon(args: argparse.Namespace) -> int:
    from streams.feeds.polygon import DELAYED_URL, KEY_ENV, URL, PolygonStream

    key = credential(args.key, KEY_ENV, "Polygon API key", "--key")
    url = args.url or (DELAYED_URL if args.delayed else URL)
    provider = PolygonStream(feed_symbols(args), key, quotes=not args.no_quotes, url=url)
    return run_live_feed(args, provider)


def run_live_feed(args: argparse.Namespace, provider: object) -> int:
    from aiokafka.errors import KafkaError

    from streams.admin import ensure_topics
    from streams.feeds.errors import FeedError
    from streams.feeds.shell import Limits, run_live

    settings = kafka_settings(args)
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
            provider,  # type: ignore[arg-type]  # each live provider implements the Provider protocol
            settings.bootstrap,
            stopping,
            limits=limits,
            max_ticks=universe.simulator.frame_max_ticks,
            duration=args.duration,
            topic=universe.topics.ticks,
            security=settings.security,
            flush_seconds=settings.feed_flush_ms / 1000,
            compression=settings.compression_type,
        )
        stats = result.stats
        print(
            f"{args.source} feed sent {result.ticks_sent} ticks in {result.frames_sent} frames; "
            f"{stats.connections} connection(s), {stats.gaps} gap(s), "
            f"{stats.provider_errors} provider error(s), {stats.rejected} rejected tick(s)",
            flush=True,
        )

    try:
        run_until_signal(run)
    except FeedError as exc:
        raise UsageError(str(exc)) from None
    except KafkaError as exc:
        raise UsageError(f"cannot use Kafka at {settings.bootstrap}: {exc}") from None
    return 0
