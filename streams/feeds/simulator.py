"""A deterministic market simulator: a three-factor model with scripted regimes.

Log price of symbol i, per event-time second s of a trading session:

    d ln P_i = b_mkt,i dM + b_size,i dS + b_tech,i dT + sigma_i dW_i

M, S and T are the market, small-minus-big and tech-minus-rest factors; each has a
drift set by the current regime (its ``*_pct`` is the factor's total return over the
regime's ``days``) and a diffusion; W_i is the symbol's own noise. Ticks arrive per
symbol as a Poisson process with mean gap ``tick_interval_seconds``. Sessions are those
of the universe's calendar (``[calendar]``: holidays skipped, each from its open, for
``session_seconds`` but never past its close, so an early close cuts the day short);
without a calendar, weekdays from the start's time of day.

The same seed and configuration always give the same ticks, whatever the speed at
which a feed later replays them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np

from streams.sessions import Sessions
from streams.units import MICROS, micros_from_datetime

TRADING_DAYS_PER_YEAR = 252
FACTOR_VOL = np.array([0.08, 0.03, 0.03])  # annualised: market, size, tech


@dataclass(frozen=True)
class SymbolSpec:
    """A symbol of the universe. ``price``, the betas and ``vol`` drive the simulator
    only; ``cap`` (market capitalisation, any unit) weights the cap-weight indices."""

    symbol: str
    price: float = 100.0
    beta_market: float = 1.0
    beta_size: float = 0.0
    beta_tech: float = 0.0
    vol: float = 0.2
    cap: float = 1.0


@dataclass(frozen=True)
class Regime:
    """A stretch of trading days with set factor returns (percent over ``days``)."""

    name: str
    days: int
    market_pct: float
    size_pct: float
    tech_pct: float


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
        self._betas = np.array([[s.beta_market, s.beta_size, s.beta_tech] for s in specs])
        self._idio_vol = np.array([s.vol for s in specs])
        self._log_price = np.log([s.price for s in specs])
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

    def sessions(self, days: int | None = None) -> Iterator[SessionTicks]:
        """Yield the ticks of each session in order (forever, unless ``days`` is given)."""
        sim = self.universe.simulator
        seconds = sim.session_seconds
        n = len(self.symbols)
        per_second_vol = 1.0 / math.sqrt(TRADING_DAYS_PER_YEAR * seconds)
        for day, open_time in enumerate(self.session_opens()):
            if days is not None and day >= days:
                return
            regime = self.regime_on(day)
            drift = np.array(
                [
                    math.log1p(pct / 100.0) / (regime.days * seconds)
                    for pct in (regime.market_pct, regime.size_pct, regime.tech_pct)
                ]
            )
            factors = drift + FACTOR_VOL * per_second_vol * self._rng.standard_normal((seconds, 3))
            idio = self._idio_vol * per_second_vol * self._rng.standard_normal((seconds, n))
            # Idiosyncratic noise has no drift in log terms; remove the Ito term so
            # the factor drifts set the expected returns the regimes promise.
            idio -= 0.5 * (self._idio_vol * per_second_vol) ** 2
            paths = self._log_price + np.cumsum(factors @ self._betas.T + idio, axis=0)
            self._log_price = paths[-1].copy()

            counts = self._rng.poisson(seconds / sim.tick_interval_seconds, size=n)
            symbol = np.repeat(np.arange(n, dtype=np.int32), counts)
            start_us = micros_from_datetime(open_time)
            offset_us = self._rng.integers(0, self._session_us(start_us, seconds), size=symbol.size)
            size = np.round(self._rng.lognormal(4.0, 1.0, size=symbol.size))
            order = np.argsort(offset_us, kind="stable")
            symbol, offset_us, size = symbol[order], offset_us[order], size[order]
            price = np.round(np.exp(paths[offset_us // MICROS, symbol]), 2)
            price = np.maximum(price, 0.01)
            yield SessionTicks(
                day=day,
                regime=regime.name,
                ts=start_us + offset_us,
                clock=day * seconds + offset_us / MICROS,
                symbol=symbol,
                price=price,
                size=np.maximum(size, 1.0),
            )
