"""Group breadth per interval: one BreadthTable against one GroupBreadth per group.

The groups are those of the synthetic benchmark universe (``benchmarks/synthetic.py``):
ten sectors, ``small_caps`` (the smallest fifth by cap), ``mega_cap_tech`` (the
largest hundredth), plus ``all`` (every symbol): 13 groups. The intervals are random
``SymbolStats`` made before any clock starts: about 95% of the symbols report in
each, first bars without a direction, SMAs warming up over the first intervals.

Three ways to get every group's breadth of an interval are timed, each a fresh
object fed every interval in order:

- ``GroupBreadth loop``: ``on_interval(metrics)`` of one GroupBreadth per group, as
  the rotation engine does today;
- ``BreadthTable, from SymbolStats``: ``table.on_interval(table.columns(metrics))``,
  the columns built from the same dict of ``SymbolStats``;
- ``BreadthTable, columns given``: ``table.on_interval(columns)`` with the columns
  built beforehand (a producer that already holds arrays).

Then the counting step alone (the 8 integer figures and 2 volume sums per group)
in the layouts that were considered: the table's one coded ``np.bincount`` plus two
``np.add.reduceat``; ten weighted ``np.bincount``; a dense groups x symbols float64
0/1 matrix times an (N x 10) matrix, and as ten matrix-vector products; a dense
boolean matrix with ten masked row sums. Every figure is the median of the runs.

    .venv/bin/python -m benchmarks.breadth_table
    .venv/bin/python -m benchmarks.breadth_table --symbols 500 5000 --intervals 20 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agents.analytics.breadth import BreadthParams, GroupBreadth
from agents.analytics.breadth_table import BreadthTable, IntervalColumns
from benchmarks.synthetic import SECTORS, symbol_names
from streams.records import GroupStats, SymbolStats


def positive_int(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def benchmark_groups(count: int) -> tuple[dict[str, list[str]], dict[str, float]]:
    """The synthetic universe's groups (as ``universe_toml`` draws them) plus ``all``."""
    names = symbol_names(count)
    rng = np.random.default_rng(count)
    rng.uniform(5.0, 500.0, count)  # the prices, drawn first there
    caps = np.round(rng.lognormal(2.0, 1.5, count), 3)
    groups = {f"sector_{k:02d}": names[k::SECTORS] for k in range(SECTORS)}
    by_cap = sorted(range(count), key=lambda i: caps[i])
    groups["small_caps"] = [names[i] for i in sorted(by_cap[: max(2, count // 5)])]
    groups["mega_cap_tech"] = [names[i] for i in sorted(by_cap[-max(2, count // 100) :])]
    groups["all"] = list(names)
    return groups, dict(zip(names, caps.tolist(), strict=True))


def random_intervals(names: list[str], intervals: int, seed: int) -> list[dict[str, SymbolStats]]:
    rng = np.random.default_rng(seed)
    out = []
    seen = np.zeros(len(names), dtype=bool)
    for t in range(intervals):
        reports = rng.random(len(names)) < 0.95
        direction = rng.integers(-1, 2, len(names)).tolist()
        close = rng.uniform(5.0, 500.0, len(names)).tolist()
        above = (rng.random(len(names)) < 0.5).tolist()
        high = (rng.random(len(names)) < 0.05).tolist()
        low = (rng.random(len(names)) < 0.05).tolist()
        volume = (rng.integers(1, 500, len(names)) * 100.0).tolist()
        metrics = {}
        for i in np.flatnonzero(reports).tolist():
            d = direction[i] if seen[i] else None
            metrics[names[i]] = SymbolStats(
                close=close[i],
                prev_close=None if d is None else close[i],
                change_pct=None,
                return_pct=None,
                sma=None,
                ema=close[i],
                above_sma=above[i] if t >= 5 else None,
                high_n=close[i],
                low_n=close[i],
                new_high=high[i],
                new_low=low[i],
                direction=d,
                up_volume=volume[i] if d == 1 else 0.0,
                down_volume=volume[i] if d == -1 else 0.0,
                bars=t + 1,
            )
        seen |= reports
        out.append(metrics)
    return out


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds (this process, all threads) of the runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def layouts(
    groups: dict[str, list[str]], names: list[str], repeat: int, loops: int
) -> dict[str, tuple[float, float]]:
    """Microseconds per interval of the counting step in each layout: (wall, CPU)."""
    count, n, k = len(groups), len(names), 10
    position = {s: i for i, s in enumerate(names)}
    flat = np.array([position[m] for ms in groups.values() for m in ms], dtype=np.intp)
    sizes = [len(ms) for ms in groups.values()]
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
    group_of = np.repeat(np.arange(count, dtype=np.intp), sizes)
    bins = group_of * 49
    dense = np.zeros((count, n))
    dense[group_of, flat] = 1.0
    mask = dense.astype(bool)
    rng = np.random.default_rng(1)
    figures = rng.random((n, k))
    by_row = np.ascontiguousarray(figures.T)
    flags = by_row > 0.5
    code = rng.integers(0, 49, n)

    def coded() -> object:
        counts = np.bincount(bins + code[flat], minlength=count * 49)
        return counts, np.add.reduceat(np.take(by_row[:2], flat, axis=1), offsets, axis=1)

    kernels: dict[str, Callable[[], object]] = {
        "coded bincount + 2 reduceat (the table)": coded,
        "10 weighted bincount": lambda: [
            np.bincount(group_of, weights=row[flat], minlength=count) for row in by_row
        ],
        "dense float64 matrix @ (N x 10)": lambda: dense @ figures,
        "dense float64, 10 matrix-vector": lambda: [dense @ row for row in by_row],
        "dense bool, 10 masked row sums": lambda: [(mask & f).sum(axis=1) for f in flags],
    }
    out = {}
    for name, kernel in kernels.items():
        kernel()

        def repeated(kernel: Callable[[], object] = kernel) -> object:
            return [kernel() for _ in range(loops)]

        wall, cpu = timed(repeated, repeat)
        out[name] = (wall / loops * 1e6, cpu / loops * 1e6)
    return out


@dataclass
class Result:
    groups: int
    memberships: int
    runs: dict[str, tuple[float, float]]  # median seconds per run (wall, CPU) of each way
    layouts: dict[str, tuple[float, float]]  # microseconds per interval (wall, CPU)


def measure(count: int, intervals: int, repeat: int, seed: int) -> Result:
    groups, caps = benchmark_groups(count)
    names = symbol_names(count)
    params = BreadthParams()
    frames = random_intervals(names, intervals, seed)
    probe = BreadthTable(groups, names, params, caps)
    columns = [probe.columns(metrics) for metrics in frames]

    def loop() -> list[list[GroupStats]]:
        breadths = [GroupBreadth(tuple(ms), params, caps) for ms in groups.values()]
        return [[g.on_interval(metrics) for g in breadths] for metrics in frames]

    def from_stats() -> object:
        table = BreadthTable(groups, names, params, caps)
        return [table.on_interval(table.columns(metrics)) for metrics in frames]

    def given(cols: list[IntervalColumns] = columns) -> list[list[GroupStats]]:
        table = BreadthTable(groups, names, params, caps)
        return [table.on_interval(c) for c in cols]

    # Both give the same records (to 1e-12 on the four sums); one field as a check.
    if [[s.ad_line for s in row] for row in loop()] != [
        [s.ad_line for s in row] for row in given()
    ]:
        raise RuntimeError("BreadthTable and GroupBreadth disagree on the A/D line")
    return Result(
        groups=len(groups),
        memberships=sum(len(ms) for ms in groups.values()),
        runs={
            "loop": timed(loop, repeat),
            "from_stats": timed(from_stats, repeat),
            "given": timed(given, repeat),
        },
        layouts=layouts(groups, names, repeat, loops=max(1, 20_000 // count)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=positive_int, nargs="+", default=[500, 5000, 10000])
    parser.add_argument("--intervals", type=positive_int, default=30, help="per run")
    parser.add_argument("--repeat", type=positive_int, default=5, help="runs; medians")
    parser.add_argument("--seed", type=positive_int, default=7)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(
        f"group breadth: {args.intervals} intervals per run, median of {args.repeat}, "
        f"{os.cpu_count()} CPUs, load average {load:.2f} at the start"
    )
    for count in args.symbols:
        if count < 20:
            parser.error("the synthetic universe needs at least 20 symbols")
        result = measure(count, args.intervals, args.repeat, args.seed)
        rate = {key: args.intervals / wall for key, (wall, _) in result.runs.items()}
        cpu = {key: c / args.intervals * 1e3 for key, (_, c) in result.runs.items()}
        print(
            f"\n{count:>6} symbols, {result.groups} groups, {result.memberships:,} memberships"
            f"{'intervals/s':>15}{'vs loop':>9}{'CPU ms/interval':>17}{'vs loop':>9}"
        )
        for key, label in (
            ("loop", "GroupBreadth loop"),
            ("from_stats", "BreadthTable, from SymbolStats"),
            ("given", "BreadthTable, columns given"),
        ):
            print(
                f"    {label:<48}{rate[key]:>11,.0f}{rate[key] / rate['loop']:>8.1f}x"
                f"{cpu[key]:>17.3f}{cpu['loop'] / cpu[key]:>8.1f}x"
            )
        print(f"  counting step alone, us per interval{'wall':>25}{'CPU':>17}")
        for name, (wall, c) in result.layouts.items():
            print(f"    {name:<48}{wall:>11,.0f}{c:>26,.0f}")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
