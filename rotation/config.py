"""The configuration: universe, groups, pairs, every parameter, topics and limits.

One TOML file; the default ships inside the package (``rotation/universe.toml``) and
``ROTATION_CONFIG`` or ``--config`` points at another. Every value can be overridden
by an environment variable ``ROTATION__<TABLE>__<KEY>`` (see
:mod:`rotation.config_source`). Errors name the file, the line and the key (or the
variable that set it) so a user can fix them without reading a traceback.
docs/configuration.md describes every key.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agents.analytics.breadth import BreadthParams
from agents.analytics.rrg import RRGParams
from agents.analytics.rules.rotation_regime import RegimeParams
from agents.analytics.symbols import SymbolParams
from agents.analytics.tick_checks import TickRules
from agents.analytics.universe import (
    PairSpec,
    RelativeStrengthParams,
    SignalParams,
    SnapshotParams,
    Universe,
)
from rotation.calendar import DEFAULT_EXCHANGE, UnknownExchange, sessions_for
from rotation.config_source import (
    DEFAULT_CONFIG_NAME,
    ConfigError,
    ConfigSource,
    KeyPath,
    default_config_path,
    read_source,
)
from rotation.config_topics import topics_from
from streams.feeds.simulator import Regime, SimulatorParams, SymbolSpec
from streams.sessions import Sessions

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ConfigError",
    "PairSpec",
    "Regime",
    "RelativeStrengthParams",
    "SimulatorParams",
    "SymbolSpec",
    "Universe",
    "default_config_path",
    "load_universe",
]


def load_universe(path: str | os.PathLike[str] | None = None) -> Universe:
    """Read and validate the configuration (default: ``ROTATION_CONFIG`` or the shipped
    file), with the ``ROTATION__*`` environment overrides applied."""
    return parse_source(read_source(path))


@dataclass(frozen=True)
class _Table:
    """A table of the configuration and where it is, for error messages."""

    source: ConfigSource
    path: KeyPath
    label: str  # "[bars]", "[symbols.SPY]", "[[pairs]] #1"; "" for the top level

    def fail(self, key: str | None, message: str) -> ConfigError:
        """``file:LINE: [table]: message``, LINE that of ``key`` (or of the table)."""
        path = self.path if key is None else (*self.path, key)
        return self.source.error(path, f"{self.label}: {message}" if self.label else message)

    def child(self, key: str | int, label: str) -> _Table:
        return _Table(self.source, (*self.path, key), label)


_REQUIRED = object()


def _get(
    table: dict[str, Any], key: str, kind: type, where: _Table, default: Any = _REQUIRED
) -> Any:
    if key not in table:
        if default is not _REQUIRED:
            return default
        return _missing(where, key, kind)
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise where.fail(
            key, f"key '{key}' must be {_kind_name(kind)}, got {type(value).__name__} {value!r}"
        )
    return value


def _missing(where: _Table, key: str, kind: type) -> Any:
    if kind is dict and not where.label:
        raise where.fail(None, f"missing table [{key}]")
    raise where.fail(None, f"missing key '{key}'")


def _kind_name(kind: type) -> str:
    return {dict: "a table", list: "an array"}.get(kind, kind.__name__)


def _known(table: dict[str, Any], where: _Table, allowed: list[str] | tuple[str, ...]) -> None:
    """Refuse keys no one reads: a typo (in the file or an environment variable) would
    otherwise be ignored without a word."""
    for key in table:
        if key not in allowed:
            kind = "key" if where.label else "table"
            raise where.fail(key, f"unknown {kind} '{key}'; known: {', '.join(allowed)}")


def _params(raw: dict[str, Any], section: str, cls: type, root: _Table) -> Any:
    """Build the parameter dataclass ``cls`` from table ``[section]`` (all keys optional)."""
    table = _get(raw, section, dict, root, {})
    where = root.child(section, f"[{section}]")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _known(table, where, list(fields))
    values = {key: _get(table, key, type(fields[key].default), where) for key in table}
    try:
        return cls(**values)
    except ValueError as exc:
        named = [key for key in values if re.search(rf"\b{key}\b", str(exc))]
        raise where.fail(named[0] if named else None, str(exc)) from None


def _symbol_pairs(rs: dict[str, Any], where: _Table) -> bool | tuple[str, ...]:
    """``[relative_strength] symbol_pairs``: true, false or a list of symbols and groups."""
    value = rs.get("symbol_pairs", True)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if not isinstance(value, bool):
        raise where.fail(
            "symbol_pairs",
            f"key 'symbol_pairs' must be true, false or a list of symbols and groups, "
            f"got {value!r}",
        )
    return value


def _positive(value: float, key: str, where: _Table) -> None:
    if value <= 0:
        raise where.fail(key, f"key '{key}' must be > 0, got {value!r}")


def _table(value: Any, where: _Table) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.fail(None, f"must be a table, got {type(value).__name__} {value!r}")
    return value


TABLES = (
    "bars",
    "ticks",
    "relative_strength",
    "symbol",
    "breadth",
    "rrg",
    "signals",
    "regime",
    "groups",
    "pairs",
    "symbols",
    "simulator",
    "topics",
    "gateway",
    "calendar",
    "snapshots",
)
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=/]*$")  # streams.records.Symbol


def parse_source(source: ConfigSource) -> Universe:
    """Validate a read configuration and build the :class:`Universe`."""
    raw = dict(source.data)  # its tables are replaced, never changed: `config show` reads it
    root = _Table(source, (), "")
    _known(raw, root, TABLES)

    symbols: dict[str, SymbolSpec] = {}
    symbol_fields = [f.name for f in dataclasses.fields(SymbolSpec) if f.name != "symbol"]
    for sym, value in _get(raw, "symbols", dict, root).items():
        where = root.child("symbols", "[symbols]").child(sym, f"[symbols.{sym}]")
        spec = _table(value, where)
        if len(sym) > 32 or not SYMBOL_PATTERN.match(sym):
            raise where.fail(
                None, f"'{sym}' is no ticker symbol (upper case letters, digits and . - ^ = /)"
            )
        _known(spec, where, symbol_fields)
        default = SymbolSpec(sym)
        price = _get(spec, "price", float, where, default.price)
        vol = _get(spec, "vol", float, where, default.vol)
        cap = _get(spec, "cap", float, where, default.cap)
        for key, number in (("price", price), ("vol", vol), ("cap", cap)):
            _positive(number, key, where)
        symbols[sym] = SymbolSpec(
            sym,
            price,
            _get(spec, "beta_market", float, where, default.beta_market),
            _get(spec, "beta_size", float, where, default.beta_size),
            _get(spec, "beta_tech", float, where, default.beta_tech),
            vol,
            cap,
            _get(spec, "sector", str, where, default.sector),
            _get(spec, "beta_sector", float, where, default.beta_sector),
        )
    if not symbols:
        raise root.child("symbols", "[symbols]").fail(None, "needs at least one symbol")

    groups: dict[str, tuple[str, ...]] = {}
    for name, members in _get(raw, "groups", dict, root, {}).items():
        where = root.child("groups", "[groups]").child(name, f"[groups] {name}")
        if not isinstance(members, list) or not members:
            raise where.fail(None, "must be a non-empty list of symbols")
        unknown = [m for m in members if m not in symbols]
        if unknown:
            raise where.fail(None, f"unknown symbols {unknown} (add them to [symbols])")
        groups[name] = tuple(members)

    pairs = []
    for i, value in enumerate(_get(raw, "pairs", list, root, [])):
        where = root.child("pairs", "[[pairs]]").child(i, f"[[pairs]] #{i + 1}")
        spec = _table(value, where)
        _known(spec, where, ("name", "numerator", "denominator", "regime", "breadth"))
        breadth = _get(spec, "breadth", list, where, None)
        if breadth is not None and (len(breadth) != 2 or any(g not in groups for g in breadth)):
            raise where.fail("breadth", f"key 'breadth' must name two groups, got {breadth!r}")
        pair = PairSpec(
            _get(spec, "name", str, where),
            _get(spec, "numerator", str, where),
            _get(spec, "denominator", str, where),
            regime=_get(spec, "regime", bool, where, False),
            breadth=None if breadth is None else (breadth[0], breadth[1]),
        )
        for key, leg in (("numerator", pair.numerator), ("denominator", pair.denominator)):
            if leg not in symbols and leg not in groups:
                raise where.fail(key, f"'{leg}' is neither a symbol nor a group")
        pairs.append(pair)

    where = root.child("bars", "[bars]")
    bars = _get(raw, "bars", dict, root)
    _known(bars, where, ("seconds", "allowed_lateness_seconds"))
    bar_seconds = _get(bars, "seconds", int, where)
    _positive(bar_seconds, "seconds", where)
    if bar_seconds > 86_400:
        raise where.fail(
            "seconds", f"key 'seconds' must be at most 86400 (a day), got {bar_seconds}"
        )
    lateness = _get(bars, "allowed_lateness_seconds", float, where, 0.0)
    if lateness < 0:
        raise where.fail("allowed_lateness_seconds", "key 'allowed_lateness_seconds' must be >= 0")

    calendar = _calendar(raw, root)
    _trading_days(raw, source, bar_seconds, calendar)

    where = root.child("relative_strength", "[relative_strength]")
    rs = _get(raw, "relative_strength", dict, root)
    _known(rs, where, [f.name for f in dataclasses.fields(RelativeStrengthParams)])
    rs_params = RelativeStrengthParams(
        _get(rs, "sma_bars", int, where),
        _get(rs, "change_bars", int, where),
        _get(rs, "hysteresis_pct", float, where),
        _get(rs, "cooldown_bars", int, where),
        _get(rs, "zscore_bars", int, where, 20),
        _get(rs, "benchmark", str, where, None),
        _symbol_pairs(rs, where),
        _get(rs, "group_pairs", bool, where, True),
    )
    if rs_params.zscore_bars < 2:
        raise where.fail("zscore_bars", "key 'zscore_bars' must be >= 2")
    if rs_params.benchmark is not None and rs_params.benchmark not in symbols:
        if source.shipped(("relative_strength", "benchmark")):
            # The shipped benchmark of a universe that lacks it: no benchmark pairs.
            rs_params = dataclasses.replace(rs_params, benchmark=None)
        else:
            raise where.fail("benchmark", f"benchmark '{rs_params.benchmark}' is not in [symbols]")
    _positive(rs_params.sma_bars, "sma_bars", where)
    _positive(rs_params.change_bars, "change_bars", where)
    if rs_params.hysteresis_pct < 0:
        raise where.fail("hysteresis_pct", "key 'hysteresis_pct' must be >= 0")
    if rs_params.cooldown_bars < 0:
        raise where.fail("cooldown_bars", "key 'cooldown_bars' must be >= 0")

    where = root.child("simulator", "[simulator]")
    sim = _get(raw, "simulator", dict, root, {})
    _known(
        sim,
        where,
        ("start", "session_seconds", "tick_interval_seconds", "frame_max_ticks", "regimes"),
    )
    try:
        start = datetime.fromisoformat(_get(sim, "start", str, where, "2026-01-02T09:30:00-05:00"))
    except ValueError:
        raise where.fail("start", "key 'start' must be an ISO 8601 time with offset") from None
    if start.tzinfo is None:
        raise where.fail("start", "key 'start' needs a UTC offset, e.g. -04:00")
    regimes = []
    flat = [{"name": "flat", "days": 1000, "market_pct": 0, "size_pct": 0, "tech_pct": 0}]
    for i, value in enumerate(_get(sim, "regimes", list, where, flat)):
        rwhere = where.child("regimes", "[[simulator.regimes]]").child(
            i, f"[[simulator.regimes]] #{i + 1}"
        )
        spec = _table(value, rwhere)
        _known(spec, rwhere, [f.name for f in dataclasses.fields(Regime)])
        sectors = _get(spec, "sectors_pct", dict, rwhere, {})  # sector -> percent
        regime = Regime(
            _get(spec, "name", str, rwhere),
            _get(spec, "days", int, rwhere),
            _get(spec, "market_pct", float, rwhere),
            _get(spec, "size_pct", float, rwhere),
            _get(spec, "tech_pct", float, rwhere),
            {k: _get(sectors, k, float, rwhere) for k in sectors},
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
        raise where.fail("regimes", "at least one [[simulator.regimes]] is needed")

    signals = _params(raw, "signals", SignalParams, root)
    regime_params = _params(raw, "regime", RegimeParams, root)
    # A sample z-score over N values can never exceed (N - 1) / sqrt(N).
    z_max = (rs_params.zscore_bars - 1) / rs_params.zscore_bars**0.5
    for section, key, number in (
        ("signals", "breakout_z", signals.breakout_z),
        ("regime", "shock_z", regime_params.shock_z),
    ):
        if number >= z_max:
            raise root.child(section, f"[{section}]").fail(
                key,
                f"key '{key}' = {number} can never be reached with "
                f"[relative_strength] zscore_bars = {rs_params.zscore_bars} (|z| < {z_max:.2f})",
            )
    symbol_params = _params(raw, "symbol", SymbolParams, root)
    _check_window_memory(symbol_params, len(symbols), bar_seconds, root.child("symbol", "[symbol]"))
    return Universe(
        symbols,
        groups,
        tuple(pairs),
        bar_seconds,
        lateness,
        rs_params,
        sim_params,
        str(source.path),
        symbol=symbol_params,
        breadth=_params(raw, "breadth", BreadthParams, root),
        rrg=_params(raw, "rrg", RRGParams, root),
        signals=signals,
        regime=regime_params,
        ticks=_params(raw, "ticks", TickRules, root),
        topics=topics_from(source),
        gateway=_gateway(raw, root),
        snapshots=_params(raw, "snapshots", SnapshotParams, root),
        calendar=calendar,
    )


DAY_WINDOWS: dict[str, tuple[str, ...]] = {
    "symbol": ("sma", "ema", "return", "high_low"),
    "relative_strength": ("sma", "change"),
    "regime": ("sma", "short", "long"),
}
"""Windows that may be given in trading days (``<name>_days``) instead of bars
(``<name>_bars``)."""


def bars_per_session(bar_seconds: int, calendar: Sessions) -> int:
    """Bars in a regular trading session: 1 for daily bars, else the session's length
    (the most common one of the calendar: 6.5 hours on XNYS; 24 hours without a
    calendar) over the bar interval, rounded up (a last, shorter bar is a bar)."""
    if bar_seconds >= 86_400:
        return 1
    session = 86_400 if calendar.is_continuous else calendar.regular_session_seconds
    return -(-session // bar_seconds)


def _trading_days(
    raw: dict[str, Any], source: ConfigSource, bar_seconds: int, calendar: Sessions
) -> None:
    """Turn every ``<name>_days`` window into ``<name>_bars`` for the bar interval:
    ``days * bars_per_session`` (so on daily bars, 252 days are 252 bars; on 15-minute
    XNYS bars, 26 bars a day). Of a window given both ways, the key set by the higher
    layer wins (your file over the shipped defaults); both in one layer is an error."""
    per_day = bars_per_session(bar_seconds, calendar)
    for section, names in DAY_WINDOWS.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            continue
        table = raw[section] = dict(table)
        where = _Table(source, (section,), f"[{section}]")
        for name in names:
            days_key, bars_key = f"{name}_days", f"{name}_bars"
            if days_key not in table:
                continue
            days = _get(table, days_key, int, where)
            _positive(days, days_key, where)
            if bars_key in table:
                days_rank = source.rank((section, days_key))
                bars_rank = source.rank((section, bars_key))
                if days_rank == bars_rank:
                    raise where.fail(bars_key, f"give '{days_key}' or '{bars_key}', not both")
                if bars_rank > days_rank:
                    del table[days_key]
                    continue
            del table[days_key]
            table[bars_key] = days * per_day


WINDOW_MEMORY_LIMIT = 1 << 30
"""Bytes the per-symbol windows may take (8 per bar and symbol) before the
configuration is refused: a day window on short bars is easily millions of bars."""


def _check_window_memory(
    params: SymbolParams, symbols: int, bar_seconds: int, where: _Table
) -> None:
    """Refuse windows whose per-symbol history would not fit: the closes, the SMA and
    the high and low windows keep 8 bytes per bar and symbol."""
    bars = params.return_bars + params.sma_bars + 2 * params.high_low_bars
    need = 8 * bars * symbols
    if need > WINDOW_MEMORY_LIMIT:
        raise where.fail(
            None,
            f"the windows are {params.sma_bars} (SMA), {params.return_bars} (return) and "
            f"{params.high_low_bars} (high/low) bars of {bar_seconds} s, "
            f"{need / 2**20:,.0f} MB for {symbols} symbols (limit "
            f"{WINDOW_MEMORY_LIMIT / 2**20:,.0f} MB): give them in bars "
            "(high_low_bars, sma_bars, ...) or use fewer days or longer bars",
        )


def _calendar(raw: dict[str, Any], root: _Table) -> Sessions:
    """``[calendar]``: the exchange whose sessions the bars follow (:mod:`rotation.calendar`)."""
    table = _get(raw, "calendar", dict, root, {})
    where = root.child("calendar", "[calendar]")
    _known(table, where, ("exchange",))
    exchange = _get(table, "exchange", str, where, DEFAULT_EXCHANGE)
    try:
        return sessions_for(exchange)
    except UnknownExchange as exc:
        raise where.fail("exchange", f"key 'exchange': {exc}") from None


GATEWAY_SECRET = "token"


def _gateway(raw: dict[str, Any], root: _Table) -> dict[str, Any]:
    """``[gateway]``: any field of ``GatewaySettings`` but the token, checked by it."""
    table = _get(raw, "gateway", dict, root, {})
    if not table:
        return {}
    from gateway.settings import GatewaySettings

    where = root.child("gateway", "[gateway]")
    fields = {f.name: f for f in dataclasses.fields(GatewaySettings) if f.name != GATEWAY_SECRET}
    if GATEWAY_SECRET in table:
        raise where.fail(
            GATEWAY_SECRET,
            "a token does not belong in the configuration file: set ROTATION_GATEWAY_TOKEN",
        )
    _known(table, where, list(fields))
    values = {}
    for key in table:
        default = fields[key].default
        kind = list if isinstance(default, tuple) else str if default is None else type(default)
        values[key] = _get(table, key, kind, where)
    try:
        GatewaySettings(**values)
    except (TypeError, ValueError) as exc:
        named = [key for key in values if re.search(rf"\b{key}\b", str(exc))]
        raise where.fail(named[0] if named else None, str(exc)) from None
    return values
