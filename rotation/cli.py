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
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from rotation import argtypes
from rotation.checkout import NoCheckout, benchmarks_module
from rotation.feed_commands import add_feed_sources, cmd_feed
from rotation.operations import add_operations_commands, cmd_bench, cmd_replay, cmd_schemas
from rotation.services import cmd_broker, cmd_gateway, cmd_monitor, cmd_up, cmd_worker
from streams.errors import RotationError


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
            help="trading seconds per wall second while the scripted regimes run "
            "(default 11700: one session in 2 s; 0 = as fast as possible)",
        )
        p.add_argument(
            "--then-speed",
            type=argtypes.positive_float,
            default=1.0,
            metavar="X",
            help="trading seconds per wall second once they are over, in the last regime "
            "(default 1: real time, which the embedded broker holds for hours)",
        )

    p = add(
        "up", "Run everything: broker, worker, gateway, simulator feed and the monitor.", cmd_up
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
    p.add_argument(
        "--no-dashboard",
        dest="dashboard",
        action="store_false",
        help="the gateway serves no browser dashboard (it does at http://127.0.0.1:PORT/)",
    )

    p = add("broker", "Run the embedded Tansu broker until interrupted.", cmd_broker)
    p.add_argument(
        "--port", type=argtypes.port, default=9092, help="listen port (default 9092, 0 = any)"
    )

    p = add("worker", "Run the Faust worker (needs KAFKA_BOOTSTRAP or --bootstrap).", cmd_worker)
    with_config(p)
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")

    p = add(
        "feed",
        "Produce ticks to quotes.ticks: the simulator (the default), a file, or a live "
        "provider (see streams/feeds/README.md).",
        cmd_feed,
    )
    add_feed_sources(p, with_config, with_sim)

    p = add("gateway", "Serve rotation.metrics and rotation.signals over websockets.", cmd_gateway)
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    with_config(p)
    from gateway.settings import add_arguments as add_gateway_arguments

    add_gateway_arguments(p)

    p = add("monitor", "Open the terminal monitor on a running gateway.", cmd_monitor)
    p.add_argument("--url", default="ws://127.0.0.1:8765/ws", help="gateway websocket URL")
    p.add_argument(
        "--quotes",
        metavar="SYMBOLS",
        help="the quote panel's symbols, comma-separated (default: AAPL,MSFT,NVDA,GOOGL,GOOG,"
        "AMZN,META,TSLA,AVGO and the sector ETFs XLK,XLF,XLI,XLRE,XLE,XLV,XLY,XLP,XLU,XLB,"
        "XLC,KRE)",
    )
    p.add_argument(
        "--regime-pairs",
        metavar="PAIRS",
        help="pairs the top line lists before any regime shows, comma-separated "
        "(default: IWM/QQQ,small_caps/mega_cap_tech)",
    )

    p = add(
        "replay",
        "Replay bars or ticks from CSV or Parquet files through the analytics (no broker), "
        "or with --kafka into a running system.",
        cmd_replay,
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="CSV or Parquet file of bars or ticks (long format, or one symbol's bars such as "
        "a Yahoo download), or a folder of them; several are merged in time order",
    )
    p.add_argument(
        "--symbol",
        metavar="NAME",
        help="the symbol of a single file without a 'symbol' column (default: its file name)",
    )
    p.add_argument(
        "--adjusted",
        action="store_true",
        help="replay 'Adj Close' as the close (open, high, low scaled to it) instead of 'Close'",
    )
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
        "--sort",
        action="store_true",
        help="read the whole file and sort it by time in memory (default: a file in time "
        "order is read in chunks; one whose first chunk is not is sorted in memory)",
    )
    p.add_argument(
        "--chunk-rows",
        type=int,
        metavar="N",
        help="rows read at a time from a file in time order (default 200,000)",
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
        cmd_bench,
    )
    with contextlib.suppress(NoCheckout):  # `rotation bench` then says why it cannot run
        benchmarks_module("options").add_arguments(p)

    p = add("schemas", "Write the JSON Schema files of schemas/ from the records.", cmd_schemas)
    p.add_argument("--check", action="store_true", help="fail if the files differ from the code")
    p.add_argument("--dir", default="schemas", help="target folder (default: schemas)")

    add_operations_commands(add)
    return parser


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


if __name__ == "__main__":
    sys.exit(main())
