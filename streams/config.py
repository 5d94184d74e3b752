"""The universe configuration (symbols, groups, pairs, parameters, simulator regimes).

A TOML file; the default ships inside the package (``streams/universe.toml``) and
``ROTATION_CONFIG`` or ``--config`` points at another. Errors name the file and the
key so a user can fix them without reading a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from agents.analytics.breadth import BreadthParams
from agents.analytics.rrg import RRGParams
from agents.analytics.signal_rules import RegimeParams, SignalParams
from agents.analytics.symbols import SymbolParams

DEFAULT_CONFIG_NAME = "universe.toml"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or holds a bad value."""


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
class PairSpec:
    """Numerator vs denominator. ``regime``: run the rotation-regime detector on it,
    with ``breadth`` naming the groups whose breadth confirms each side."""

    name: str
    numerator: str
    denominator: str
    origin: str = "configured"
    regime: bool = False
    breadth: tuple[str, str] | None = None


@dataclass(frozen=True)
class Regime:
    name: str
    days: int
    market_pct: float
    size_pct: float
    tech_pct: float


@dataclass(frozen=True)
class RelativeStrengthParams:
    sma_bars: int
    change_bars: int
    hysteresis_pct: float
    cooldown_bars: int
    zscore_bars: int = 20
    benchmark: str | None = None
    symbol_pairs: bool = True
    group_pairs: bool = True


@dataclass(frozen=True)
class SimulatorParams:
    start: datetime
    session_seconds: int
    tick_interval_seconds: float
    frame_max_ticks: int
    regimes: tuple[Regime, ...]


@dataclass(frozen=True)
class Universe:
    symbols: dict[str, SymbolSpec]
    groups: dict[str, tuple[str, ...]]
    pairs: tuple[PairSpec, ...]
    bar_seconds: int
    allowed_lateness_seconds: float
    relative_strength: RelativeStrengthParams
    simulator: SimulatorParams
    source: str
    symbol: SymbolParams = field(default_factory=SymbolParams)
    breadth: BreadthParams = field(default_factory=BreadthParams)
    rrg: RRGParams = field(default_factory=RRGParams)
    signals: SignalParams = field(default_factory=SignalParams)
    regime: RegimeParams = field(default_factory=RegimeParams)

    def members(self, name: str) -> tuple[str, ...]:
        """The symbols behind a pair leg: a group's members, or the symbol itself."""
        return self.groups.get(name, (name,))

    def all_pairs(self) -> tuple[PairSpec, ...]:
        """The configured pairs, then each group and each symbol against the benchmark."""
        pairs = list(self.pairs)
        benchmark = self.relative_strength.benchmark
        if benchmark:
            taken = {p.name for p in pairs}
            legs: list[tuple[str, str]] = []
            if self.relative_strength.group_pairs:
                legs += [(g, "group_vs_benchmark") for g in self.groups]
            if self.relative_strength.symbol_pairs:
                legs += [(s, "symbol_vs_benchmark") for s in self.symbols if s != benchmark]
            for leg, origin in legs:
                name = f"{leg}/{benchmark}"
                if name not in taken:
                    pairs.append(PairSpec(name, leg, benchmark, origin))
        return tuple(pairs)


def default_config_path() -> Path:
    return Path(str(resources.files("streams").joinpath(DEFAULT_CONFIG_NAME)))


def load_universe(path: str | os.PathLike[str] | None = None) -> Universe:
    """Read and validate a universe file (default: ``ROTATION_CONFIG`` or the shipped one)."""
    chosen = Path(path or os.environ.get("ROTATION_CONFIG") or default_config_path())
    try:
        raw = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{chosen}: no such configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{chosen}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    return _parse(raw, str(chosen))


_REQUIRED = object()


def _get(table: dict[str, Any], key: str, kind: type, where: str, default: Any = _REQUIRED) -> Any:
    if key not in table:
        if default is not _REQUIRED:
            return default
        raise ConfigError(f"{where}: missing key '{key}'")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(
            f"{where}: key '{key}' must be {kind.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _params(raw: dict[str, Any], section: str, cls: type, source: str) -> Any:
    """Build the parameter dataclass ``cls`` from table ``[section]`` (all keys optional)."""
    table = _get(raw, section, dict, source, {})
    where = f"{source}: [{section}]"
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key in table:
        if key not in fields:
            raise ConfigError(f"{where}: unknown key '{key}'; known: {', '.join(fields)}")
        default = fields[key].default
        values[key] = _get(table, key, type(default), where)
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _positive(value: float, key: str, where: str) -> None:
    if value <= 0:
        raise ConfigError(f"{where}: key '{key}' must be > 0, got {value!r}")


def _parse(raw: dict[str, Any], source: str) -> Universe:
    symbols: dict[str, SymbolSpec] = {}
    for sym, spec in _get(raw, "symbols", dict, source).items():
        where = f"{source}: [symbols.{sym}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: must be a table")
        default = SymbolSpec(sym)
        price = _get(spec, "price", float, where, default.price)
        vol = _get(spec, "vol", float, where, default.vol)
        cap = _get(spec, "cap", float, where, default.cap)
        for key, value in (("price", price), ("vol", vol), ("cap", cap)):
            _positive(value, key, where)
        symbols[sym] = SymbolSpec(
            sym,
            price,
            _get(spec, "beta_market", float, where, default.beta_market),
            _get(spec, "beta_size", float, where, default.beta_size),
            _get(spec, "beta_tech", float, where, default.beta_tech),
            vol,
            cap,
        )

    groups: dict[str, tuple[str, ...]] = {}
    for name, members in _get(raw, "groups", dict, source).items():
        where = f"{source}: [groups] {name}"
        if not isinstance(members, list) or not members:
            raise ConfigError(f"{where}: must be a non-empty list of symbols")
        unknown = [m for m in members if m not in symbols]
        if unknown:
            raise ConfigError(f"{where}: unknown symbols {unknown} (add them to [symbols])")
        groups[name] = tuple(members)

    pairs = []
    for i, spec in enumerate(_get(raw, "pairs", list, source)):
        where = f"{source}: [[pairs]] #{i + 1}"
        breadth = _get(spec, "breadth", list, where, None)
        if breadth is not None and (
            len(breadth) != 2 or any(g not in _get(raw, "groups", dict, source) for g in breadth)
        ):
            raise ConfigError(f"{where}: key 'breadth' must name two groups, got {breadth!r}")
        pair = PairSpec(
            _get(spec, "name", str, where),
            _get(spec, "numerator", str, where),
            _get(spec, "denominator", str, where),
            regime=_get(spec, "regime", bool, where, False),
            breadth=None if breadth is None else (breadth[0], breadth[1]),
        )
        for leg in (pair.numerator, pair.denominator):
            if leg not in symbols and leg not in groups:
                raise ConfigError(f"{where}: '{leg}' is neither a symbol nor a group")
        pairs.append(pair)

    bars = _get(raw, "bars", dict, source)
    bar_seconds = _get(bars, "seconds", int, f"{source}: [bars]")
    _positive(bar_seconds, "seconds", f"{source}: [bars]")
    lateness = _get(bars, "allowed_lateness_seconds", float, f"{source}: [bars]", 0.0)
    if lateness < 0:
        raise ConfigError(f"{source}: [bars]: key 'allowed_lateness_seconds' must be >= 0")

    where = f"{source}: [relative_strength]"
    rs = _get(raw, "relative_strength", dict, source)
    rs_params = RelativeStrengthParams(
        _get(rs, "sma_bars", int, where),
        _get(rs, "change_bars", int, where),
        _get(rs, "hysteresis_pct", float, where),
        _get(rs, "cooldown_bars", int, where),
        _get(rs, "zscore_bars", int, where, 20),
        _get(rs, "benchmark", str, where, None),
        _get(rs, "symbol_pairs", bool, where, True),
        _get(rs, "group_pairs", bool, where, True),
    )
    if rs_params.zscore_bars < 2:
        raise ConfigError(f"{where}: key 'zscore_bars' must be >= 2")
    if rs_params.benchmark is not None and rs_params.benchmark not in symbols:
        raise ConfigError(f"{where}: benchmark '{rs_params.benchmark}' is not in [symbols]")
    _positive(rs_params.sma_bars, "sma_bars", where)
    _positive(rs_params.change_bars, "change_bars", where)
    if rs_params.hysteresis_pct < 0 or rs_params.cooldown_bars < 0:
        raise ConfigError(f"{where}: hysteresis_pct and cooldown_bars must be >= 0")

    where = f"{source}: [simulator]"
    sim = _get(raw, "simulator", dict, source, {})
    try:
        start = datetime.fromisoformat(_get(sim, "start", str, where, "2026-09-01T09:30:00-04:00"))
    except ValueError:
        raise ConfigError(f"{where}: key 'start' must be an ISO 8601 time with offset") from None
    if start.tzinfo is None:
        raise ConfigError(f"{where}: key 'start' needs a UTC offset, e.g. -04:00")
    regimes = []
    flat = [{"name": "flat", "days": 1000, "market_pct": 0, "size_pct": 0, "tech_pct": 0}]
    for i, spec in enumerate(_get(sim, "regimes", list, where, flat)):
        rwhere = f"{source}: [[simulator.regimes]] #{i + 1}"
        regime = Regime(
            _get(spec, "name", str, rwhere),
            _get(spec, "days", int, rwhere),
            _get(spec, "market_pct", float, rwhere),
            _get(spec, "size_pct", float, rwhere),
            _get(spec, "tech_pct", float, rwhere),
        )
        _positive(regime.days, "days", rwhere)
        regimes.append(regime)
    sim_params = SimulatorParams(
        start,
        _get(sim, "session_seconds", int, where, 23_400),
        _get(sim, "tick_interval_seconds", float, where, 30.0),
        _get(sim, "frame_max_ticks", int, where, 2000),
        tuple(regimes),
    )
    _positive(sim_params.session_seconds, "session_seconds", where)
    _positive(sim_params.tick_interval_seconds, "tick_interval_seconds", where)
    _positive(sim_params.frame_max_ticks, "frame_max_ticks", where)
    if not regimes:
        raise ConfigError(f"{where}: at least one [[simulator.regimes]] is needed")

    signals = _params(raw, "signals", SignalParams, source)
    regime = _params(raw, "regime", RegimeParams, source)
    # A sample z-score over N values can never exceed (N - 1) / sqrt(N).
    z_max = (rs_params.zscore_bars - 1) / rs_params.zscore_bars**0.5
    for section, key, value in (
        ("signals", "breakout_z", signals.breakout_z),
        ("regime", "shock_z", regime.shock_z),
    ):
        if value >= z_max:
            raise ConfigError(
                f"{source}: [{section}]: key '{key}' = {value} can never be reached with "
                f"[relative_strength] zscore_bars = {rs_params.zscore_bars} (|z| < {z_max:.2f})"
            )
    return Universe(
        symbols,
        groups,
        tuple(pairs),
        bar_seconds,
        lateness,
        rs_params,
        sim_params,
        source,
        symbol=_params(raw, "symbol", SymbolParams, source),
        breadth=_params(raw, "breadth", BreadthParams, source),
        rrg=_params(raw, "rrg", RRGParams, source),
        signals=signals,
        regime=regime,
    )
