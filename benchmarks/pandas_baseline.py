"""The comparison a user would make: a plain pandas job recomputing everything each second.

The job keeps the raw ticks of a window and, once per wall second, rebuilds from
scratch what the streaming path keeps up to date: event-time OHLCV bars of every
symbol (``groupby``), per symbol the change vs the previous close, the SMA and
above-SMA flag, the rolling high/low and new highs/lows, up/down volume; per group
advancers/decliners/unchanged, net advances, the A/D line, % above SMA, NH-NL, the
McClellan oscillator (EMA 19 - EMA 39 of net advances) and the equal-weight index;
per pair the RS line, its SMA, the distance from it, its change and the z-score of
its log return. All of it vectorised (panels of intervals x symbols, a membership
matrix for the groups): the fast way to write it in pandas, not a loop. RRG and the
signal rules are left out, which favours pandas.

The window is the longest lookback of the universe's parameters in bars (53 with
the synthetic universe: 52-bar highs/lows need 53 bars) plus the open interval. EMAs
start afresh at the window's start each time, so McClellan here only approximates
the streaming figure, which keeps its EMAs from the first bar.

It is fed the very frames the paced feed sent in the streaming run, each available
from the moment the broker acknowledged it, and replays that schedule: recompute
``j`` starts at ``start + j`` seconds (or when recompute ``j - 1`` ends, if later),
decodes the frames acknowledged since the last one (JSON, as it would read them
from Kafka) and recomputes. An interval ending at ``E`` is in its result once every
partition's watermark has passed ``E`` (the same rule as the streaming path), so its
latency is ``end of the first recompute that has it - cause(E)``, by the same
definition as the streaming latency. CPU is the job's CPU time (decode + recompute)
over the run's wall time. Kafka's fetch cost is left out (it is small: see the raw
consume figure), which favours pandas again.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from agents.analytics.universe import Universe
from benchmarks.latency import causes, latencies_ms, summary, watermark
from benchmarks.paced import Appended
from streams.records import ColumnarTickFrame
from streams.units import MICROS

_frame_decoder = msgspec.json.Decoder(ColumnarTickFrame)


def window_bars(universe: Universe) -> int:
    """Bars the indicators look back, at most (the window each recompute covers)."""
    s, rs = universe.symbol, universe.relative_strength
    return max(
        s.sma_bars,
        s.high_low_bars + 1,
        s.return_bars + 1,
        rs.sma_bars,
        rs.change_bars + 1,
        rs.zscore_bars + 1,
    )


class Indicators:
    """The universe's structure as arrays, and the recompute itself."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        self.symbols = list(universe.symbols)
        self.code = {s: i for i, s in enumerate(self.symbols)}
        groups = universe.groups
        membership = np.zeros((len(self.symbols), len(groups)))
        for j, members in enumerate(groups.values()):
            for m in members:
                membership[self.code[m], j] = 1.0
        self.membership = pd.DataFrame(membership, index=range(len(self.symbols)), columns=groups)
        self.pairs = list(universe.all_pairs())
        self.interval_us = universe.bar_seconds * MICROS

    def recompute(self, ticks: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Every indicator on every interval of ``ticks`` (columns symbol, ts, price, size)."""
        u = self.universe
        sp, rp, bp = u.symbol, u.relative_strength, u.breadth
        ticks = ticks.assign(start=ticks["ts"] - ticks["ts"] % self.interval_us)
        bars = ticks.groupby(["start", "symbol"], sort=True).agg(
            open=("price", "first"),
            high=("price", "max"),
            low=("price", "min"),
            close=("price", "last"),
            volume=("size", "sum"),
        )
        columns = range(len(self.symbols))
        close = bars["close"].unstack("symbol").reindex(columns=columns)
        high = bars["high"].unstack("symbol").reindex(columns=columns)
        low = bars["low"].unstack("symbol").reindex(columns=columns)
        volume = bars["volume"].unstack("symbol").reindex(columns=columns)

        # Per symbol (on the panel of intervals; a symbol without a bar is NaN there).
        last_close = close.ffill()
        prev_close = last_close.shift(1)
        change = (close / prev_close - 1) * 100
        direction = np.sign(change)
        sma = last_close.rolling(sp.sma_bars).mean()
        above = (close > sma).astype(float).where(close.notna() & sma.notna())
        high_n = high.rolling(sp.high_low_bars, min_periods=1).max().shift(1)
        low_n = low.rolling(sp.high_low_bars, min_periods=1).min().shift(1)
        new_high = (high > high_n).astype(float)
        new_low = (low < low_n).astype(float)
        up_volume = volume.where(direction > 0, 0.0)
        down_volume = volume.where(direction < 0, 0.0)
        returns = (last_close / last_close.shift(sp.return_bars) - 1) * 100

        # Per group: counts through the membership matrix.
        m = self.membership
        advancers = (direction > 0).astype(float) @ m
        decliners = (direction < 0).astype(float) @ m
        unchanged = (direction == 0).astype(float) @ m
        reporting = close.notna().astype(float) @ m
        net = advancers - decliners
        fast = net.ewm(alpha=2 / (bp.mcclellan_fast + 1), adjust=False).mean()
        slow = net.ewm(alpha=2 / (bp.mcclellan_slow + 1), adjust=False).mean()
        above_count = above.fillna(0.0) @ m
        above_known = above.notna().astype(float) @ m
        relative = last_close / last_close.bfill().iloc[0]
        equal_weight = (relative.fillna(0.0) @ m) / (relative.notna().astype(float) @ m)
        groups = pd.concat(
            {
                "advancers": advancers,
                "decliners": decliners,
                "unchanged": unchanged,
                "reporting": reporting,
                "net_advances": net,
                "ad_line": net.cumsum(),
                "pct_above_sma": 100 * above_count / above_known,
                "nh_nl": new_high @ m - new_low @ m,
                "up_volume": up_volume.fillna(0.0) @ m,
                "down_volume": down_volume.fillna(0.0) @ m,
                "mcclellan_oscillator": fast - slow,
                "equal_weight_index": equal_weight,
            },
            axis=1,
        )

        # Per pair: legs are group indices or symbol closes.
        def leg(name: str) -> pd.Series:
            if name in equal_weight.columns:
                return equal_weight[name]
            return last_close[self.code[name]]

        pairs = {}
        for pair in self.pairs:
            rs = leg(pair.numerator) / leg(pair.denominator)
            rs_sma = rs.rolling(rp.sma_bars).mean()
            log_return = np.log(rs / rs.shift(1))
            window = log_return.rolling(rp.zscore_bars)
            pairs[pair.name] = pd.DataFrame(
                {
                    "rs": rs,
                    "rs_sma": rs_sma,
                    "rs_vs_sma_pct": (rs / rs_sma - 1) * 100,
                    "rs_change_pct": (rs / rs.shift(rp.change_bars) - 1) * 100,
                    "zscore": (log_return - window.mean()) / window.std(),
                }
            )
        return {
            "bars": bars,
            "change_pct": change,
            "return_pct": returns,
            "above_sma": above,
            "groups": groups,
            "pairs": pd.concat(pairs, axis=1),
        }


class _Window:
    """The raw ticks the job holds, as column chunks, and each partition's max event time."""

    def __init__(self, indicators: Indicators, partitions: list[int]) -> None:
        self.code = indicators.code
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.max_ts = {p: -1 for p in partitions}

    def ingest(self, frame: Appended) -> None:
        assert frame.data is not None
        frame_ = _frame_decoder.decode(frame.data)  # the columnar frames the worker reads
        codes = np.array([self.code[s] for s in frame_.symbols], dtype=np.int64)
        self.chunks.append(
            (
                codes[np.array(frame_.symbol, dtype=np.int64)],
                np.array(frame_.ts, dtype=np.int64),
                np.array(frame_.price, dtype=float),
                np.zeros(len(frame_.ts)) if frame_.size is None else np.array(frame_.size),
            )
        )
        if frame.partition in self.max_ts:
            self.max_ts[frame.partition] = max(self.max_ts[frame.partition], frame.max_ts)

    def frame(self, since: int) -> pd.DataFrame:
        """The ticks with ts >= ``since``, time-ordered, as a new DataFrame; drops older chunks."""
        self.chunks = [c for c in self.chunks if c[1][-1] >= since]
        if not self.chunks:
            return pd.DataFrame({"symbol": [], "ts": [], "price": [], "size": []})
        symbol, ts, price, size = (np.concatenate([c[i] for c in self.chunks]) for i in range(4))
        order = np.argsort(ts, kind="stable")
        keep = order[ts[order] >= since]
        return pd.DataFrame(
            {"symbol": symbol[keep], "ts": ts[keep], "price": price[keep], "size": size[keep]}
        )


def run_baseline(
    universe: Universe,
    appended: list[Appended],
    partitions: list[int],
    *,
    every_s: float = 1.0,
    warmup_until: float | None = None,
) -> dict[str, Any]:
    """Replay the feed's schedule through the pandas job; its latency and CPU.

    ``warmup_until`` (time.time()): intervals caused before it are left out of the
    latency figures, as in the streaming run.
    """
    frames = sorted((a for a in appended if a.acked is not None), key=lambda a: a.acked or 0.0)
    if not frames:
        raise ValueError("no acknowledged frames to replay")
    indicators = Indicators(universe)
    interval = indicators.interval_us
    lateness = int(universe.allowed_lateness_seconds * MICROS)
    bars = window_bars(universe)
    window = _Window(indicators, partitions)
    cause = causes(appended, interval, lateness, partitions)

    start = frames[0].acked or 0.0
    end = frames[-1].acked or 0.0
    recompute_ms: list[float] = []
    decode_cpu = compute_cpu = 0.0
    ready_at: dict[int, float] = {}
    done_through = -1
    finished = start
    taken = 0
    j = 0
    gc.collect()
    while taken < len(frames):
        j += 1
        due = start + j * every_s
        began = max(due, finished)
        wall0 = time.perf_counter()
        cpu0 = time.process_time()
        while taken < len(frames) and (frames[taken].acked or 0.0) <= began:
            window.ingest(frames[taken])
            taken += 1
        cpu1 = time.process_time()
        if min(window.max_ts.values()) < 0:
            finished = began + (time.perf_counter() - wall0)
            decode_cpu += cpu1 - cpu0
            continue
        through = min(watermark(ts, interval, lateness) for ts in window.max_ts.values())
        newest = max(window.max_ts.values())
        since = newest - newest % interval - bars * interval
        result = indicators.recompute(window.frame(since))
        _ = result["pairs"].iloc[-1:], result["groups"].iloc[-1:]
        wall = time.perf_counter() - wall0
        decode_cpu += cpu1 - cpu0
        compute_cpu += time.process_time() - cpu1
        recompute_ms.append(wall * 1000)
        finished = began + wall
        for e in cause:
            if done_through < e <= through:
                ready_at[e] = finished
        done_through = max(done_through, through)

    measured = {e: c for e, c in cause.items() if warmup_until is None or c >= warmup_until}
    latency = latencies_ms(measured, ready_at)
    span = max(end - start, 1e-9)
    return {
        "every_s": every_s,
        "window_bars": bars,
        "recomputes": len(recompute_ms),
        "recompute_ms": summary(recompute_ms),
        "latency_ms": summary(latency.values()),
        "intervals": len(measured),
        "cpu_cores": (decode_cpu + compute_cpu) / span,
        "decode_cpu_cores": decode_cpu / span,
        "recompute_cpu_cores": compute_cpu / span,
        "cpu_s_per_recompute": compute_cpu / max(len(recompute_ms), 1),
    }
