"""The chaos run's input: a synthetic universe and a long CSV of ticks the feed replays.

The universe is :func:`benchmarks.synthetic.universe_toml` (24-hour calendar, no
allowed lateness). The ticks are random-walk prices, ``ticks_per_bar`` per symbol in
every bar at seeded random times, written in time order as ``symbol,timestamp,price,size``
(timestamp in microseconds since the epoch) for ``rotation replay --kafka``, which sends
them paced by event time and keeps a checkpoint, so a killed feed resumes where it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.synthetic import START_US, symbol_names, write_universe

CHUNK_BARS = 500


def write_ticks(
    path: Path, symbols: int, bars: int, bar_seconds: int, ticks_per_bar: int, seed: int
) -> int:
    """Write ``bars`` bars of ticks of ``symbols`` symbols to ``path``; the row count."""
    names = np.array(symbol_names(symbols))
    rng = np.random.default_rng(seed)
    interval_us = bar_seconds * 1_000_000
    price = rng.uniform(5.0, 500.0, symbols)
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("symbol,timestamp,price,size\n")
        for first in range(0, bars, CHUNK_BARS):
            count = min(CHUNK_BARS, bars - first)
            per_bar = symbols * ticks_per_bar
            sym = np.tile(np.arange(symbols), count * ticks_per_bar)
            bar = np.repeat(np.arange(first, first + count), per_bar)
            ts = START_US + bar * interval_us + rng.integers(0, interval_us, sym.size)
            order = np.argsort(ts, kind="stable")
            sym, ts = sym[order], ts[order]
            steps = np.exp(rng.normal(0.0, 0.0008, sym.size))
            px = np.empty(sym.size)
            for s in range(symbols):
                mine = np.flatnonzero(sym == s)
                walk = price[s] * np.cumprod(steps[mine])
                px[mine] = walk
                price[s] = walk[-1]
            size = rng.integers(1, 50, sym.size) * 100
            lines = [
                f"{n},{t},{p:.4f},{z}\n"
                for n, t, p, z in zip(
                    names[sym].tolist(), ts.tolist(), px.tolist(), size.tolist(), strict=True
                )
            ]
            out.writelines(lines)
            rows += len(lines)
    return rows


def write_input(
    directory: Path,
    *,
    symbols: int,
    bars: int,
    bar_seconds: int,
    ticks_per_bar: int,
    seed: int,
) -> tuple[Path, Path, int]:
    """The universe file, the ticks file and its row count, in ``directory``."""
    universe = write_universe(directory, symbols, bar_seconds)
    ticks = directory / f"ticks-{symbols}x{bars}-seed{seed}.csv"
    rows = write_ticks(ticks, symbols, bars, bar_seconds, ticks_per_bar, seed)
    return universe, ticks, rows
