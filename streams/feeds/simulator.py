"""A deterministic market simulator: a factor model with scripted regimes.

Log price of symbol i between two of its ticks, event times t0 < t1 of a session:

    ln P_i(t1) - ln P_i(t0) = b_mkt,i dM + b_size,i dS + b_tech,i dT + b_sec,i dX_k(i)
                              + sigma_i sqrt(t1 - t0) Z - sigma_i^2 (t1 - t0) / 2

M, S and T are the market, small-minus-big and tech-minus-rest factors and X_k the
factor of sector k (the symbol's ``sector``); each has a drift set by the current
regime (its ``*_pct`` is the factor's total return over the regime's ``days``, a
sector's is in ``sectors_pct``) and a diffusion, and d is the factor's change over
[t0, t1] on its per-second path. Z is standard normal: the symbol's own noise is a
Brownian motion sampled at the symbol's tick times (Glasserman, "Monte Carlo Methods
in Financial Engineering", 2003, section 3.1: exact simulation of Brownian increments
at arbitrary times), so a session costs O(seconds x factors + ticks) in time and
memory, never O(seconds x symbols). Ticks arrive per symbol as a Poisson process with
mean gap ``tick_interval_seconds``. Sessions are those of the universe's calendar
(``[calendar]``: holidays skipped, each from its open, for ``session_seconds`` but
never past its close, so an early close cuts the day short); without a calendar,
weekdays from the start's time of day.

The same seed and configuration always give the same ticks, whatever the speed at
which a feed later replays them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np

from streams.sessions import Sessions
from streams.units import MICROS, micros_from_datetime

TRADING_DAYS_PER_YEAR = 252
FACTOR_VOL = np.array([0.08, 0.03, 0.03])  # annualised: market, size, tech
SECTOR_VOL = 0.04  # annualised vol of each sector factor


@dataclass(frozen=True)
class SymbolSpec:
    """A symbol of the universe. ``price``, the betas and ``vol`` drive the simulator
    only; ``cap`` (market capitalisation, any unit) weights the cap-weight indices.
    ``sector`` names the sector factor the symbol loads on with ``beta_sector``
    ("": none)."""

    symbol: str
    price: float = 100.0
    beta_market: float = 1.0
    beta_size: float = 0.0
    beta_tech: float = 0.0
    vol: float = 0.2
    cap: float = 1.0
    sector: str = ""
    beta_sector: float = 0.0


@dataclass(frozen=True)
class Regime:
    """A stretch of trading days with set factor returns (percent over ``days``);
    ``sectors_pct``: sector name -> its sector factor's return (absent: 0)."""

    name: str
    days: int
    market_pct: float
    size_pct: float
    tech_pct: float
    sectors_pct: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulatorParams:
    """The ``[simulator]`` table: when sessions start, how long they last, how dense ticks are."""

    start: datetime
    session_seconds: int
    tick_interval_seconds: float
    frame_max_ticks: int
    regimes: tuple[Regime, ...]


class SimulatedMarket(Protocol):
    """What the simulator needs of a configuration (the universe has both)."""

    @property
    def symbols(self) -> Mapping[str, SymbolSpec]: ...

    @property
    def simulator(self) -> SimulatorParams: ...


@dataclass(frozen=True)
class SessionTicks:
    """All ticks of one trading session, sorted by event time."""

    day: int
    regime: str
    ts: np.ndarray  # int64 microseconds since the epoch
    clock: np.ndarray  # float64 trading seconds since the simulation start
    symbol: np.ndarray  # int32 index into Simulator.symbols
    price: np.ndarray  # float64
    size: np.ndarray  # float64


class Simulator:
    """Generates the sessions of the configured universe, one at a time."""

    def __init__(self, universe: SimulatedMarket, seed: int = 7) -> None:
        self.universe = universe
        self.seed = seed
        self.symbols: list[str] = list(universe.symbols)
        specs = [universe.symbols[s] for s in self.symbols]
        self.sectors: list[str] = sorted({s.sector for s in specs if s.sector})
        self._betas = np.array(
            [[s.beta_market, s.beta_size, s.beta_tech] for s in specs], dtype=float
        ).reshape(len(specs), 3)
        index = {name: k for k, name in enumerate(self.sectors)}
        self._sector = np.array([index.get(s.sector, -1) for s in specs], dtype=np.int64)
        self._beta_sector = np.array(
            [s.beta_sector if s.sector else 0.0 for s in specs], dtype=float
        )
        self._idio_vol = np.array([s.vol for s in specs], dtype=float)
        self._log_price = np.log(np.array([s.price for s in specs], dtype=float))
        self._rng = np.random.Generator(np.random.PCG64(seed))

    def regime_on(self, day: int) -> Regime:
        """The regime in force on trading day ``day`` (0-based); the last one lasts."""
        regimes = self.universe.simulator.regimes
        for regime in regimes:
            if day < regime.days:
                return regime
            day -= regime.days
        return regimes[-1]

    def session_opens(self) -> Iterator[datetime]:
        """Open of every trading session from the configured start: the calendar's
        (from the first session not closed at the start) or, without one, weekdays."""
        calendar = self._calendar()
        if calendar is None:
            day = self.universe.simulator.start
            while True:
                if day.weekday() < 5:
                    yield day
                day += timedelta(days=1)
        start = micros_from_datetime(self.universe.simulator.start)
        first = int(np.searchsorted(calendar.close, start, side="right"))
        for open_us in calendar.open[first:].tolist():
            yield datetime.fromtimestamp(open_us / MICROS, UTC)

    def _calendar(self) -> Sessions | None:
        calendar: Sessions | None = getattr(self.universe, "calendar", None)
        return None if calendar is None or calendar.is_continuous else calendar

    def _session_us(self, open_us: int, seconds: int) -> int:
        """Length of the session opening at ``open_us``: ``seconds``, cut at its close."""
        calendar = self._calendar()
        if calendar is None:
            return seconds * MICROS
        i = int(np.searchsorted(calendar.open, open_us, side="right")) - 1
        return min(seconds * MICROS, int(calendar.close[i]) - open_us)

    def _factor_paths(self, regime: Regime, seconds: int) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative log returns of the three factors and of each sector factor at
        every second 0..``seconds`` of a session (row 0 is zero)."""
        per_second_vol = 1.0 / math.sqrt(TRADING_DAYS_PER_YEAR * seconds)
        steps = regime.days * seconds
        drift = np.array(
            [
                math.log1p(pct / 100.0) / steps
                for pct in (regime.market_pct, regime.size_pct, regime.tech_pct)
            ]
        )
        sector_drift = np.array(
            [math.log1p(regime.sectors_pct.get(k, 0.0) / 100.0) / steps for k in self.sectors]
        )
        shocks = self._rng.standard_normal((seconds, 3 + len(self.sectors)))
        vol = np.concatenate([FACTOR_VOL, np.full(len(self.sectors), SECTOR_VOL)])
        steps_all = np.concatenate([drift, sector_drift]) + vol * per_second_vol * shocks
        paths = np.zeros((seconds + 1, steps_all.shape[1]))
        np.cumsum(steps_all, axis=0, out=paths[1:])
        return paths[:, :3], paths[:, 3:]

    def _idio(
        self, symbol: np.ndarray, offset_s: np.ndarray, seconds: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each symbol's own log-price noise at its ticks and at the session close.

        ``symbol`` and ``offset_s`` are sorted by symbol, then time. Increments are
        sigma sqrt(gap) Z - sigma^2 gap / 2 (no drift in price terms), the gap of a
        symbol's first tick counted from the open and the last one's to the close.
        """
        n = len(self.symbols)
        first = np.ones(symbol.size, dtype=bool)
        first[1:] = symbol[1:] != symbol[:-1]
        gap = np.diff(offset_s, prepend=0.0)
        gap[first] = offset_s[first]
        per_second_var = self._idio_vol**2 / (TRADING_DAYS_PER_YEAR * seconds)
        var = per_second_var[symbol] * gap
        step = np.sqrt(var) * self._rng.standard_normal(symbol.size) - 0.5 * var
        total = np.cumsum(step)
        # Restart the running sum at each symbol's first tick.
        starts = np.flatnonzero(first)
        before = np.zeros(symbol.size)
        if starts.size:
            base = total[starts] - step[starts]
            before = np.repeat(base, np.diff(np.append(starts, symbol.size)))
        at_tick = total - before
        last_offset = np.zeros(n)
        at_last = np.zeros(n)
        ends = np.append(starts[1:] - 1, symbol.size - 1) if starts.size else starts
        last_offset[symbol[ends]] = offset_s[ends]
        at_last[symbol[ends]] = at_tick[ends]
        tail_var = per_second_var * (seconds - last_offset)
        at_close = at_last + np.sqrt(tail_var) * self._rng.standard_normal(n) - 0.5 * tail_var
        return at_tick, at_close

    def sessions(self, days: int | None = None) -> Iterator[SessionTicks]:
        """Yield the ticks of each session in order (forever, unless ``days`` is given)."""
        sim = self.universe.simulator
        seconds = sim.session_seconds
        n = len(self.symbols)
        for day, open_time in enumerate(self.session_opens()):
            if days is not None and day >= days:
                return
            regime = self.regime_on(day)
            factors, sectors = self._factor_paths(regime, seconds)

            counts = self._rng.poisson(seconds / sim.tick_interval_seconds, size=n)
            symbol = np.repeat(np.arange(n, dtype=np.int32), counts)
            start_us = micros_from_datetime(open_time)
            offset_us = self._rng.integers(0, self._session_us(start_us, seconds), size=symbol.size)
            size = np.round(self._rng.lognormal(4.0, 1.0, size=symbol.size))
            by_symbol = np.lexsort((offset_us, symbol))
            symbol, offset_us, size = symbol[by_symbol], offset_us[by_symbol], size[by_symbol]
            idio, idio_close = self._idio(symbol, offset_us / MICROS, seconds)

            second = offset_us // MICROS
            common = np.einsum("ij,ij->i", self._betas[symbol], factors[second])
            sector = self._sector[symbol]
            has = sector >= 0
            common[has] += self._beta_sector[symbol][has] * sectors[second[has], sector[has]]
            log_price = self._log_price[symbol] + common + idio

            close = self._betas @ factors[-1] + idio_close
            if self.sectors:
                has_all = self._sector >= 0
                close[has_all] += self._beta_sector[has_all] * sectors[-1, self._sector[has_all]]
            self._log_price = self._log_price + close

            order = np.argsort(offset_us, kind="stable")
            symbol, offset_us, size = symbol[order], offset_us[order], size[order]
            price = np.maximum(np.round(np.exp(log_price[order]), 2), 0.01)
            yield SessionTicks(
                day=day,
                regime=regime.name,
                ts=start_us + offset_us,
                clock=day * seconds + offset_us / MICROS,
                symbol=symbol,
                price=price,
                size=np.maximum(size, 1.0),
            )
