"""Bars per second of the per-symbol indicators: SymbolTable against a SymbolState loop.

Every symbol of the universe closes a bar in every interval (random-walk OHLCV made
beforehand); both sides are first warmed up past their longest window (53 bars with
the default parameters), so the figures are those of a universe in its steady state.
Then, per interval:

- **SymbolState loop**: ``states[i].on_bar(open, high, low, close, volume)`` for every
  symbol, the way stage 1 does it one bar at a time (the records come with it);
- **SymbolTable**: one ``on_bars`` over the interval's arrays, then ``records`` (the
  wire records, as the loop gives them);
- **on_bars only**: the same without building the records;
- **from Python floats**: the same as SymbolTable, also building the five input
  arrays from lists of Python floats first (what a caller holding Bar objects pays);
- **90% shuffled**: on_bars + records for a random 90% of the symbols in random order
  (symbols that skip an interval; the windows are gathered instead of used in place).

Each figure is bars / seconds over ``--intervals`` intervals, the median of
``--repeat`` runs.

    .venv/bin/python -m benchmarks.symbol_table
    .venv/bin/python -m benchmarks.symbol_table --symbols 500 --intervals 50 --repeat 3
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from agents.analytics.symbol_table import SymbolTable
from agents.analytics.symbols import SymbolParams, SymbolState

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def make_bars(symbols: int, intervals: int, seed: int) -> list[Arrays]:
    """Per interval, (open, high, low, close, volume) arrays of every symbol."""
    rng = np.random.default_rng(seed)
    close = np.full(symbols, 100.0)
    out = []
    for _ in range(intervals):
        open_ = close
        close = np.round(open_ * np.exp(rng.normal(0, 0.01, symbols)), 2)
        high = np.maximum(open_, close) * rng.uniform(1.0, 1.01, symbols)
        low = np.minimum(open_, close) * rng.uniform(0.99, 1.0, symbols)
        volume = rng.integers(0, 10**6, symbols).astype(np.float64)
        out.append((open_, high, low, close, volume))
    return out


def timed(run: Callable[[], None]) -> float:
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(symbols: int, intervals: int, repeat: int, params: SymbolParams) -> dict[str, float]:
    warmup = max(params.sma_bars, params.high_low_bars, params.return_bars + 1) + 1
    bars = make_bars(symbols, warmup + intervals * repeat * 4, seed=symbols)
    index = np.arange(symbols, dtype=np.int64)
    states = [SymbolState(params) for _ in range(symbols)]
    table = SymbolTable(params, symbols)
    lists = [tuple(a.tolist() for a in interval) for interval in bars]
    for o, h, lo, c, v in lists[:warmup]:
        for i in range(symbols):
            states[i].on_bar(o[i], h[i], lo[i], c[i], v[i])
    for interval in bars[:warmup]:
        table.on_bars(index, *interval)

    # Each side moves on through the bars after the warm-up, so every run is timed on
    # fresh bars of a universe with full windows (the table takes four runs per round).
    at = {"state": warmup, "table": warmup}

    def take(side: str) -> range:
        start = at[side]
        at[side] += intervals
        return range(start, start + intervals)

    def state_loop() -> None:
        for t in take("state"):
            o, h, lo, c, v = lists[t]
            for i in range(symbols):
                states[i].on_bar(o[i], h[i], lo[i], c[i], v[i])

    def table_records() -> None:
        for t in take("table"):
            table.records(table.on_bars(index, *bars[t]))

    def table_only() -> None:
        for t in take("table"):
            table.on_bars(index, *bars[t])

    def table_from_floats() -> None:
        for t in take("table"):
            arrays = [np.array(column, dtype=np.float64) for column in lists[t]]
            table.records(table.on_bars(index, *arrays))

    some = int(symbols * 0.9)
    rng = np.random.default_rng(symbols + 1)
    subsets = [rng.permutation(symbols)[:some] for _ in bars]

    def table_subset() -> None:
        for t in take("table"):
            chosen = subsets[t]
            table.records(table.on_bars(chosen, *(a[chosen] for a in bars[t])))

    runs: dict[str, list[float]] = {
        "state": [],
        "table": [],
        "table_only": [],
        "floats": [],
        "subset": [],
    }
    for _ in range(repeat):
        runs["state"].append(timed(state_loop))
        runs["table"].append(timed(table_records))
        runs["table_only"].append(timed(table_only))
        runs["floats"].append(timed(table_from_floats))
        runs["subset"].append(timed(table_subset))
    n = symbols * intervals
    rates = {name: n / statistics.median(seconds) for name, seconds in runs.items()}
    rates["subset"] *= some / symbols
    return rates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, nargs="+", default=[500, 5000, 10000])
    parser.add_argument("--intervals", type=int, default=20, help="timed intervals per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; figures are medians")
    args = parser.parse_args(argv)
    params = SymbolParams()
    load = os.getloadavg()[0]
    print(
        f"symbol indicators, bars/s, median of {args.repeat} runs of {args.intervals} "
        f"intervals; {params}; {os.cpu_count()} CPUs, load average {load:.1f} at start"
    )
    print(
        f"{'symbols':>8}  {'SymbolState':>12}  {'SymbolTable':>12}  {'speed-up':>8}  "
        f"{'on_bars only':>12}  {'from floats':>12}  {'90% shuffled':>12}"
    )
    for symbols in args.symbols:
        r = measure(symbols, args.intervals, args.repeat, params)
        print(
            f"{symbols:>8,}  {r['state']:>12,.0f}  {r['table']:>12,.0f}  "
            f"{r['table'] / r['state']:>7.1f}x  {r['table_only']:>12,.0f}  {r['floats']:>12,.0f}  "
            f"{r['subset']:>12,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
