"""Looking after a system: ``rotation schemas``, ``deadletter``, ``config check|show``,
``topics``, ``replay``, ``bench``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from rotation.checkout import benchmarks_module
from rotation.config import ConfigError, load_universe
from rotation.running import UsageError, kafka_settings, run_until_signal

if TYPE_CHECKING:
    from agents.analytics.universe import Universe
    from rotation.config_source import ConfigSource

log = logging.getLogger("rotation")


def add_operations_commands(
    add: Callable[[str, str, Callable[[argparse.Namespace], int]], argparse.ArgumentParser],
) -> None:
    """``deadletter``, ``config`` and ``topics``: looking after a running system."""
    from rotation.deadletter_report import REASONS

    p = add(
        "deadletter",
        "Show the dead-letter topic: counts by reason and the latest entries "
        "(read from the start, without a consumer group).",
        cmd_deadletter,
    )
    p.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    p.add_argument(
        "--limit", type=count, default=20, metavar="N", help="latest entries to show (default 20)"
    )
    p.add_argument("--reason", choices=REASONS, help="show only the entries of this reason")
    p.add_argument(
        "--follow", action="store_true", help="then print new entries as they come (Ctrl-C stops)"
    )
    p.add_argument(
        "--json", action="store_true", help="JSON (with --follow: one JSON object per line)"
    )

    p = add("config", "Work with the configuration file.", cmd_config_check)
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
    check.set_defaults(func=cmd_config_check)
    show = sub.add_parser(
        "show",
        help="print the effective configuration and where each value came from",
        description="Print the configuration the other commands would use, as TOML: the "
        "shipped defaults, the shipped universe (unless your file has [symbols]), your file "
        "and the ROTATION__* environment overrides merged, each value with a comment naming "
        "the file and line, or the variable, that set it.",
    )
    show.add_argument(
        "path",
        nargs="?",
        help="your file (default: ROTATION_CONFIG, else only the shipped files)",
    )
    show.add_argument(
        "--no-env", action="store_true", help="ignore the ROTATION__* environment overrides"
    )
    show.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="NAME",
        help="show only this table (repeatable), e.g. --table relative_strength",
    )
    show.set_defaults(func=cmd_config_show)

    p = add("topics", "List the configured topics, or create them on a broker.", cmd_topics_list)
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    listing = sub.add_parser("list", help="the configured topics (no broker needed)")
    listing.set_defaults(func=cmd_topics_list)
    create = sub.add_parser(
        "create",
        help="create every missing topic with its partition count (idempotent)",
        description="Create every configured topic that is missing, with its partition "
        "count; check the partition count of those that exist. Exit status 0 when all exist.",
    )
    create.add_argument("--bootstrap", help="Kafka host:port (default: KAFKA_BOOTSTRAP)")
    create.set_defaults(func=cmd_topics_create)


def cmd_schemas(args: argparse.Namespace) -> int:
    from rotation.schemagen import check_schemas, write_schemas

    if args.check:
        drift = check_schemas(args.dir)
        for line in drift:
            print(line, file=sys.stderr)
        return 1 if drift else 0
    for path in write_schemas(args.dir):
        print(path)
    return 0


def cmd_deadletter(args: argparse.Namespace) -> int:
    from aiokafka.errors import KafkaError

    from rotation import deadletter_report as report_

    settings = kafka_settings(args)
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
        run_until_signal(run)
    except KafkaError as exc:
        raise UsageError(f"cannot read {DEADLETTER.name} at {settings.bootstrap}: {exc}") from None
    return 0


def _checked_source(args: argparse.Namespace, action: str) -> tuple[ConfigSource, Universe] | None:
    """The configuration ``args`` name, validated; None after printing the error."""
    from rotation.config import parse_source
    from rotation.config_source import read_source

    try:
        source = read_source(args.path, environ={} if args.no_env else None)
        return source, parse_source(source)
    except ConfigError as exc:
        print(f"rotation config {action}: error: {exc}", file=sys.stderr)
        if exc.path is not None and exc.line is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError, IndexError):
                text = exc.path.read_text(encoding="utf-8").splitlines()[exc.line - 1]
                print(f"  {exc.line:>5} | {text}", file=sys.stderr)
        return None


def cmd_config_show(args: argparse.Namespace) -> int:
    from rotation.config import TABLES
    from rotation.config_show import render

    unknown = [t for t in args.table if t not in TABLES]
    if unknown:
        raise UsageError(f"--table {unknown[0]}: no such table; known: {', '.join(TABLES)}")
    checked = _checked_source(args, "show")
    if checked is None:
        return 1
    sys.stdout.write(render(checked[0], tuple(args.table)))
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    checked = _checked_source(args, "check")
    if checked is None:
        return 1
    source, universe = checked
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


def cmd_topics_list(args: argparse.Namespace) -> int:
    topics = load_universe(getattr(args, "config", None)).topics.roles()
    width = max(len(t.name) for t in topics.values())
    print(f"{'role':<11} {'topic':<{width}} {'partitions':>10}  key")
    for role, spec in topics.items():
        print(f"{role:<11} {spec.name:<{width}} {spec.partitions:>10}  {spec.key}")
    return 0


def cmd_topics_create(args: argparse.Namespace) -> int:
    from aiokafka.errors import KafkaError

    from streams.admin import ensure_topics

    settings = kafka_settings(args)
    topics = load_universe(getattr(args, "config", None)).topics.roles()
    try:
        done = asyncio.run(ensure_topics(settings.bootstrap, topics.values(), settings.security))
    except KafkaError as exc:
        raise UsageError(f"cannot create the topics at {settings.bootstrap}: {exc}") from None
    for spec in topics.values():
        print(f"{done[spec.name]:<8} {spec.name} ({spec.partitions} partitions)")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from rotation.replay import run_replay
    from rotation.replay_errors import ReplayError

    try:
        return run_replay(args)
    except ReplayError as exc:
        raise UsageError(str(exc)) from None


def cmd_bench(args: argparse.Namespace) -> int:
    return benchmarks_module("bench").run(args)


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value
