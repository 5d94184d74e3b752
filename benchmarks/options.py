"""The options of ``rotation bench`` (also ``python -m benchmarks.bench``).

Kept apart from the benchmark itself, which imports the heavy modules, so that
building the ``rotation`` command line stays cheap.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rotation.argtypes import positive_float

QUICK = {
    "duration": 20.0,
    "drain_ticks": 200_000,
    "raw_messages": 200_000,
    "repeat": 1,
    "extra_duration": 10.0,
    "search_steps": 2,
    "symbols": [500, 5000],
}
FULL = {
    "duration": 60.0,
    "drain_ticks": 1_000_000,
    "raw_messages": 1_000_000,
    "repeat": 3,
    "extra_duration": 20.0,
    "search_steps": 4,
    "symbols": [500, 5000, 10000],
}
RATE = 20_000.0
EXTRA_RATES = (200_000.0,)
SEARCH_DURATION = 10.0
RECOVERY_SIZES = (100_000, 1_000_000, 10_000_000)


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _steps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _symbols(text: str) -> int:
    value = _positive_int(text)
    if value < 20:
        raise argparse.ArgumentTypeError(f"a synthetic universe needs >= 20 symbols, got {value}")
    return value


def history_sizes(text: str) -> list[int]:
    """``100000,1000000`` as a list of positive whole numbers."""
    return list(dict.fromkeys(_positive_int(part) for part in text.split(",") if part.strip()))


RECOVERY_MODES = ("snapshots", "replay")


def recovery_modes(text: str) -> tuple[str, ...]:
    """``snapshots,replay`` (either or both) as a tuple, in the order given."""
    modes = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [m for m in modes if m not in RECOVERY_MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(
            f"expected snapshots, replay or both, comma-separated; got {text!r}"
        )
    return modes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one repetition, 20 s paced runs (10 s at the extra rates), 200,000-tick "
        "backlogs, 500 and 5000 symbols, 2 search steps (about 4 minutes)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="also write every figure as JSON to PATH"
    )
    parser.add_argument(
        "--symbols",
        type=_symbols,
        nargs="+",
        metavar="N",
        help="universe sizes; the first is the headline (default: "
        + " ".join(map(str, FULL["symbols"]))
        + "; "
        + " ".join(map(str, QUICK["symbols"]))
        + " with --quick)",
    )
    rates = parser.add_mutually_exclusive_group()
    rates.add_argument(
        "--rate",
        type=positive_float,
        metavar="TICKS_PER_S",
        help=f"paced feed rate for the latency runs of every universe size (default "
        f"{RATE:.0f}); the same as the first of --rates",
    )
    rates.add_argument(
        "--rates",
        type=positive_float,
        nargs="+",
        metavar="TICKS_PER_S",
        help=f"paced rates: the first for every universe size, the others for the first "
        f"(headline) size only (default {RATE:.0f} "
        + " ".join(f"{r:.0f}" for r in EXTRA_RATES)
        + ")",
    )
    parser.add_argument(
        "--duration",
        type=positive_float,
        metavar="S",
        help=f"measured seconds of each paced run (default {FULL['duration']:.0f}; "
        f"{QUICK['duration']:.0f} with --quick)",
    )
    parser.add_argument(
        "--extra-duration",
        type=positive_float,
        metavar="S",
        help=f"measured seconds of each paced run at the rates after the first (default "
        f"{FULL['extra_duration']:.0f}; {QUICK['extra_duration']:.0f} with --quick)",
    )
    parser.add_argument(
        "--search-steps",
        type=_steps,
        metavar="N",
        help="when a paced rate falls behind: at most N more paced runs (headline size) "
        "to find the highest rate one worker keeps up with; 0: no search (default "
        f"{FULL['search_steps']}; {QUICK['search_steps']} with --quick)",
    )
    parser.add_argument(
        "--search-duration",
        type=positive_float,
        default=SEARCH_DURATION,
        metavar="S",
        help=f"measured seconds of each paced run of the search (default {SEARCH_DURATION:.0f})",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds of paced feed before the measured part (default 3)",
    )
    parser.add_argument(
        "--event-speed",
        type=positive_float,
        default=10.0,
        metavar="X",
        help="event seconds per wall second of the paced feed (default 10: with 1 s bars, "
        "ten intervals close per second)",
    )
    parser.add_argument(
        "--bar-seconds",
        type=_positive_int,
        default=1,
        metavar="N",
        help="bar interval of the paced runs (default 1)",
    )
    parser.add_argument(
        "--drain-ticks",
        type=_positive_int,
        metavar="N",
        help=f"ticks of each backlog run (default {FULL['drain_ticks']:,}; "
        f"{QUICK['drain_ticks']:,} with --quick)",
    )
    parser.add_argument(
        "--raw-messages",
        type=_positive_int,
        metavar="N",
        help=f"single-tick messages of the raw ceiling (default {FULL['raw_messages']:,}; "
        f"{QUICK['raw_messages']:,} with --quick)",
    )
    parser.add_argument(
        "--repeat",
        type=_positive_int,
        metavar="R",
        help=f"repetitions; figures are medians (default {FULL['repeat']}; 1 with --quick)",
    )
    parser.add_argument(
        "--soak",
        type=positive_float,
        metavar="S",
        help="also run the paced feed for S seconds and report RSS over time "
        "(600 for the 10-minute claim; default: no soak)",
    )
    parser.add_argument(
        "--soak-rate",
        type=positive_float,
        default=5_000.0,
        metavar="TICKS_PER_S",
        help="paced rate of the soak (default 5000)",
    )
    parser.add_argument(
        "--soak-event-speed",
        type=positive_float,
        default=1.0,
        metavar="X",
        help="event seconds per wall second of the soak (default 1: real time, one "
        "interval a second)",
    )
    parser.add_argument(
        "--pandas-every",
        type=positive_float,
        default=1.0,
        metavar="S",
        help="seconds between recomputes of the pandas baseline (default 1)",
    )
    parser.add_argument(
        "--recovery",
        action="store_true",
        help="instead of the figures above: seconds from a SIGKILLed worker's replacement "
        "start to its first metrics, per history size (benchmarks.recovery; uses --repeat, "
        "--json, --seed, --log-dir)",
    )
    parser.add_argument(
        "--recovery-sizes",
        type=history_sizes,
        default=list(RECOVERY_SIZES),
        metavar="N,N,...",
        help="history sizes in ticks of --recovery (default "
        + ",".join(map(str, RECOVERY_SIZES))
        + ")",
    )
    parser.add_argument(
        "--recovery-modes",
        type=recovery_modes,
        default=RECOVERY_MODES,
        metavar="M,M",
        help="--recovery from snapshots, by replay of the history, or both (default "
        "snapshots,replay: each size measured both ways, alternating)",
    )
    parser.add_argument(
        "--chaos",
        type=positive_float,
        metavar="SECONDS",
        help="instead of the figures above: the chaos run (benchmarks.chaos) for SECONDS "
        "(1800 for the 30-minute run): two workers, gateway and feed killed and restarted "
        "on a seeded schedule, the broker cut off twice; every output checked against an "
        "offline run (uses --json, --seed, --log-dir)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic ticks")
    parser.add_argument(
        "--log-dir",
        type=Path,
        metavar="DIR",
        help="keep the universes and every process's log here (default: temporary, deleted)",
    )


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in the defaults that depend on ``--quick``."""
    preset = QUICK if args.quick else FULL
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.symbols = list(dict.fromkeys(args.symbols))
    if args.rates is None:
        args.rates = [args.rate or RATE, *EXTRA_RATES]
    args.rates = list(dict.fromkeys(args.rates))
    args.rate = args.rates[0]
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rotation bench",
        description="End-to-end benchmark against the embedded broker: raw consume ceiling, "
        "ticks/s through worker and gateway, tick-to-subscriber latency, RSS and CPU, "
        "time to the first metrics, and a pandas recompute for comparison.",
    )
    add_arguments(parser)
    return parser
