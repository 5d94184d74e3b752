"""``rotation replay`` offline on a real stock archive: seconds, rows per second, peak RSS.

The input is built from the daily closes of the dsturdy/Factor_Attribution
repository (split- and dividend-adjusted Yahoo closes of US stocks, one CSV per
symbol, ``Date,Close``), as a long CSV ``symbol,timestamp,close`` in time order: the
first ``--symbols`` symbols (alphabetical) that have a close on each of the last
``--days`` trading days of the archive. The archive's last row of each file was saved
mid-session and is dropped. The universe holds those symbols, three groups from index
membership lists (S&P 500, Nasdaq-100 and the Russell 2000 holdings of iShares'
IWM), a group of all of them, and two group pairs.

Each run is ``rotation replay FILE --config UNIVERSE --out FILE`` as its own process
under ``/usr/bin/time -v`` (peak RSS from there); the figure is the median of
``--repeat`` runs. Nothing is asserted. Without the archive (a fresh clone does not
have it) the module says so and exits 0.

    .venv/bin/python -m benchmarks.replay                      # about 1 minute
    .venv/bin/python -m benchmarks.replay --symbols 100 --days 250 --repeat 1
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKETDATA = ROOT.parent / "shared" / "marketdata"
ARCHIVE = MARKETDATA / "breadth" / "dsturdy_factor-attribution_close_to_2026-08-03.tar.xz"
MEMBERSHIP = {
    "sp500": MARKETDATA / "universe" / "sp500_members_at_episode_dates.txt",
    "nasdaq100": MARKETDATA / "universe" / "ndx_members_at_episode_dates.txt",
    "russell2000": MARKETDATA / "universe" / "russell2000_iwm_holdings_2025-11.txt",
}


def read_closes(archive: Path) -> dict[str, list[tuple[str, str]]]:
    """(date, close) rows of every symbol of the archive, the last (mid-session) row dropped."""
    closes: dict[str, list[tuple[str, str]]] = {}
    with tarfile.open(archive, "r:xz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".csv"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            rows = list(csv.reader(io.TextIOWrapper(handle, encoding="utf-8")))[1:-1]
            closes[Path(member.name).stem.upper()] = [(r[0], r[1]) for r in rows if len(r) >= 2]
    return closes


def build_input(symbols: int, days: int, work: Path) -> tuple[Path, Path, int]:
    """Write the long CSV and the universe into ``work``; returns their paths and rows."""
    data = work / f"dsturdy_{symbols}x{days}.csv"
    config = work / f"dsturdy_{symbols}x{days}.toml"
    if data.exists():
        with data.open() as handle:
            rows = list(csv.reader(handle))[1:]
        first = rows[0][1]
        config.write_text(universe_toml([r[0] for r in rows if r[1] == first]))
        return data, config, len(rows)
    closes = read_closes(ARCHIVE)
    all_days = sorted({d for rows in closes.values() for d, c in rows if c})
    window = set(all_days[-days:])
    chosen: list[str] = []
    for symbol in sorted(closes):
        valid = [(d, c) for d, c in closes[symbol] if d in window and c and float(c) > 0]
        if len({d for d, _ in valid}) == len(window):
            chosen.append(symbol)
            if len(chosen) == symbols:
                break
    by_day: dict[str, list[tuple[str, str]]] = {}
    for symbol in chosen:
        for d, c in closes[symbol]:
            if d in window:
                by_day.setdefault(d, []).append((symbol, c))
    tmp = data.with_suffix(".tmp")
    rows = 0
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["symbol", "timestamp", "close"])
        for d in sorted(by_day):
            for symbol, c in by_day[d]:
                writer.writerow([symbol, d, c])
                rows += 1
    tmp.replace(data)
    config.write_text(universe_toml(chosen))
    return data, config, rows


def universe_toml(symbols: list[str]) -> str:
    members = set(symbols)
    groups = {
        name: sorted(members & set(path.read_text().split())) for name, path in MEMBERSHIP.items()
    }
    groups = {name: g for name, g in groups.items() if len(g) >= 2}
    groups["all"] = sorted(members)
    lines = ["[bars]", "seconds = 86400", "", "[relative_strength]", "sma_bars = 50"]
    lines += ["change_bars = 20", "hysteresis_pct = 1.0", "cooldown_bars = 10", "", "[groups]"]
    lines += [f"{name} = [{', '.join(f'{s!r}' for s in g)}]" for name, g in groups.items()]
    for num, den in (("russell2000", "sp500"), ("nasdaq100", "sp500")):
        if num in groups and den in groups:
            lines += ["", "[[pairs]]", f'name = "{num}/{den}"']
            lines += [f'numerator = "{num}"', f'denominator = "{den}"']
    lines += ["", "[symbols]"] + [f'"{s}" = {{}}' for s in symbols]
    return "\n".join(lines).replace("'", '"') + "\n"


def run_once(data: Path, config: Path, out: Path, code: Path) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS in MB and the replay's
    summary line of one run of the ``rotation`` in checkout ``code``."""
    command = [sys.executable, "-m", "rotation.cli", "replay", str(data), "--config", str(config)]
    command += ["--out", str(out), "--quiet"]
    timed = ["/usr/bin/time", "-v", *command] if Path("/usr/bin/time").exists() else command
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(timed, capture_output=True, text=True, cwd=code, env=env, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"rotation replay failed ({done.returncode}):\n{done.stderr}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = sum(
        float(m.group(1))
        for m in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    )
    summary = next((line for line in done.stderr.splitlines() if line.startswith("replayed")), "")
    rss = int(peak.group(1)) / 1024 if peak else float("nan")
    return seconds, cpu or float("nan"), rss, summary


def plumbing(data: Path, config: Path) -> tuple[float, int]:
    """CPU seconds and ticks of what the replay does around the analytics, in this
    process: read and check the file in chunks, build each block's tick columns and
    split them by partition (``Pipeline.apply_columns`` without the stages)."""
    import numpy as np

    from rotation.config import load_universe
    from rotation.replay_offline import OFFLINE_BLOCK_TICKS
    from rotation.replay_plan import ReplayPlan
    from rotation.replay_source import Tally, TimeOrdered
    from streams.partitioning import partitioner

    universe = load_universe(config)
    home = partitioner(universe.topics.ticks.partitions)
    tally = Tally(frozenset(universe.symbols), universe.bar_seconds * 1_000_000)
    ticks = 0
    started = time.process_time()
    for chunk in TimeOrdered(data):
        fed = tally.in_universe(chunk.table)
        tally.add(chunk.table, fed)
        plan = ReplayPlan(chunk.table, fed, universe.bar_seconds, universe.calendar)
        for lo, hi in plan.blocks(0, OFFLINE_BLOCK_TICKS):
            columns = plan.columns(lo, hi)
            of_tick = np.array([home(s) for s in columns.symbols])[columns.symbol]
            for partition in np.unique(of_tick).tolist():
                ticks += len(columns.take(of_tick == partition))
    return time.process_time() - started, ticks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replay", description=__doc__)
    parser.add_argument("--symbols", type=int, default=800)
    parser.add_argument("--days", type=int, default=1905)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "rotation-replay-bench",
        help="where the built input and the output go (kept, reused)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="the checkout whose rotation runs (default: this one), e.g. an export of an "
        "older commit to compare with",
    )
    parser.add_argument(
        "--plumbing",
        action="store_true",
        help="also time, in this process, the replay's work around the analytics",
    )
    args = parser.parse_args(argv)
    if not ARCHIVE.is_file():
        print(f"skipped: the stock archive is not present ({ARCHIVE})", file=sys.stderr)
        return 0
    args.work_dir.mkdir(parents=True, exist_ok=True)
    data, config, rows = build_input(args.symbols, args.days, args.work_dir)
    print(f"input {data} ({rows:,} rows), universe {config}", file=sys.stderr)
    runs = []
    for i in range(args.repeat):
        run = run_once(data, config, args.work_dir / "out.jsonl", args.code.resolve())
        runs.append(run[:3])
        print(
            f"run {i + 1}: {run[0]:.2f} s, CPU {run[1]:.2f} s, peak RSS {run[2]:.0f} MB; {run[3]}",
            file=sys.stderr,
        )
    seconds, cpu, rss = (statistics.median(r[k] for r in runs) for k in range(3))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"rotation replay, {rows:,} rows: {seconds:.2f} s, {rows / seconds:,.0f} rows/s, "
        f"CPU {cpu:.2f} s ({rows / cpu:,.0f} rows per CPU second), peak RSS {rss:.0f} MB "
        f"(median of {len(runs)}; load average {load})"
    )
    if args.plumbing:
        cpu, ticks = plumbing(data, config)
        print(
            f"around the analytics (read, check, columns, split by partition): CPU {cpu:.2f} s, "
            f"{rows / cpu:,.0f} rows per CPU second ({ticks:,} ticks)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
