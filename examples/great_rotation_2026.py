"""The Great Rotation of January 2026, replayed on real daily closes.

Builds a daily replay of IWM, QQQ, SPY, RSP, the sector SPDRs (and KRE) and every
Russell 2000 member (iShares IWM holdings, November 2025) and S&P 500 member with a
close in a public stock archive, runs it through ``rotation replay`` in this process,
and prints what the system said and when: IWM and QQQ from 2025-12-31 to 2026-01-26,
every headline and supporting signal from 2026-01-01 to 2026-02-13, the day the
IWM/QQQ regime detector reached rotation grade, the sector ETFs' RRG quadrants on
2026-01-26 (de Kempenaer's Relative Rotation Graph) and the breadth of the small caps.

Sources, in the market-data folder (``--data``, default ``../shared/marketdata``
beside the repository; a fresh clone does not have it):

- ``etf_daily/kittycapital_etf-seasonality/{IWM,QQQ,SPY}.csv``: Yahoo daily bars
  (``Date,Close,High,Low,Open,Volume``, split-adjusted, not dividend-adjusted);
- ``etf_daily/RajeshMPatel_sector_money_flow/<ETF>.csv``: the sector ETFs' daily bars
  (``date,open,high,low,close,volume``, 2025-02-19 to 2026-02-18, the same basis);
- ``breadth/dsturdy_factor-attribution_close_to_2026-08-03.tar.xz``: ``data/<SYM>.csv``
  (``Date,Close``, split- and dividend-adjusted; the last row is intraday, dropped),
  for the stocks and RSP;
- ``universe/russell2000_iwm_holdings_2025-11.txt`` (one ticker a line) and
  ``universe/datasets_s-and-p-500-companies/constituents_2025-08-12.csv`` (GICS sectors).

    python examples/great_rotation_2026.py [--data DIR] [--out DIR]

``--out`` keeps the built files (``bars.csv``, ``great_rotation.toml``) and the
replay's JSON lines (``results.jsonl``); without it they live in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "marketdata"

KITTY = Path("etf_daily/kittycapital_etf-seasonality")
SECTOR_DIR = Path("etf_daily/RajeshMPatel_sector_money_flow")
ARCHIVE = Path("breadth/dsturdy_factor-attribution_close_to_2026-08-03.tar.xz")
RUSSELL = Path("universe/russell2000_iwm_holdings_2025-11.txt")
SP500 = Path("universe/datasets_s-and-p-500-companies/constituents_2025-08-12.csv")

INDEX_ETFS = ("IWM", "QQQ", "SPY")
SECTOR_ETFS = ("XLK", "XLF", "XLI", "XLRE", "XLE", "XLV", "XLY", "XLP", "XLU", "XLB", "XLC", "KRE")
MEGA_CAP_TECH = ("AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "TSLA")
GICS_GROUPS = {
    "Communication Services": "sp500_communication_services",
    "Consumer Discretionary": "sp500_consumer_discretionary",
    "Consumer Staples": "sp500_consumer_staples",
    "Energy": "sp500_energy",
    "Financials": "sp500_financials",
    "Health Care": "sp500_health_care",
    "Industrials": "sp500_industrials",
    "Information Technology": "sp500_information_technology",
    "Materials": "sp500_materials",
    "Real Estate": "sp500_real_estate",
    "Utilities": "sp500_utilities",
}

FIRST_DAY = "2024-09-03"  # > 252 sessions before January 2026: every window is warm
LAST_DAY = "2026-02-13"
BASE_DAY = "2025-12-31"
PEAK_DAY = "2026-01-26"
SIGNALS_FROM = "2026-01-01"
BREADTH_DAYS = ("2025-12-31", "2026-01-09", "2026-01-16", "2026-01-26", "2026-02-13")
ROTATION_GRADES = ("rotation", "broad_rotation")
QUADRANT_ORDER = ("leading", "weakening", "improving", "lagging")
NEW_YORK = ZoneInfo("America/New_York")

Bar = tuple[str, str, str, str, str, str]  # date, open, high, low, close, volume


class MissingData(Exception):
    """The market-data folder lacks a file the example needs."""


@dataclass
class Built:
    """What was put into the replay."""

    bars: Path
    config: Path
    etfs: list[str]
    sectors: list[str]
    rsp: bool
    small_caps: list[str]
    mega_cap_tech: list[str]
    sector_groups: dict[str, list[str]]
    rows: int


@dataclass
class Report:
    """What the replay said, and the closes it is checked against."""

    change_pct: dict[str, float]
    signals: list[dict[str, Any]]
    first_rotation_day: str | None
    first_rotation_regime: str | None
    regime_days: list[tuple[str, str | None]]
    regime_on: dict[str, dict[str, Any]]
    quadrants: list[tuple[str, str, float, float]]
    breadth: dict[str, dict[str, Any]]
    small_caps: int
    sectors: list[str]
    notes: list[str] = field(default_factory=list)


def missing_data(data: Path) -> str | None:
    """Why the example cannot run on ``data``, or None."""
    needed = [KITTY / f"{s}.csv" for s in INDEX_ETFS] + [ARCHIVE, RUSSELL, SP500]
    absent = [str(p) for p in needed if not (data / p).is_file()]
    if absent:
        return f"market data not found under {data}: {', '.join(absent)}"
    if not any((data / SECTOR_DIR / f"{s}.csv").is_file() for s in SECTOR_ETFS):
        return f"no sector ETF file under {data / SECTOR_DIR}"
    return None


def read_kitty(path: Path) -> list[Bar]:
    """Daily bars of a Yahoo file with columns ``Date,Close,High,Low,Open,Volume``."""
    with open(path, newline="") as f:
        return [
            (r["Date"], r["Open"], r["High"], r["Low"], r["Close"], r["Volume"])
            for r in csv.DictReader(f)
        ]


def read_sector(path: Path) -> list[Bar]:
    """Daily bars of a file with columns ``date,open,high,low,close,volume``."""
    with open(path, newline="") as f:
        return [
            (r["date"], r["open"], r["high"], r["low"], r["close"], r["volume"])
            for r in csv.DictReader(f)
        ]


def read_archive(path: Path, wanted: set[str]) -> dict[str, list[tuple[str, str]]]:
    """``{symbol: [(date, close), ...]}`` of the wanted symbols in the stock archive, its
    last (intraday) row dropped; the archive is streamed, nothing is extracted to disk."""
    closes: dict[str, list[tuple[str, str]]] = {}
    with tarfile.open(path, "r:xz") as archive:
        for member in archive:
            name = Path(member.name)
            if not member.isfile() or name.parent.name != "data" or name.suffix != ".csv":
                continue
            if name.stem not in wanted:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            rows = list(csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8")))[:-1]
            closes[name.stem] = [(r["Date"], r["Close"]) for r in rows]
    return closes


def archive_symbol(ticker: str) -> str:
    """The archive's file stem of a ticker (Yahoo spells class shares ``BRK-B``)."""
    return ticker.strip().upper().replace(".", "-")


def in_range(day: str) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def usable(close: str) -> bool:
    try:
        return float(close) > 0
    except ValueError:
        return False


def build(data: Path, workdir: Path) -> Built:
    """Write the long bar file and the configuration of the replay into ``workdir``."""
    why = missing_data(data)
    if why is not None:
        raise MissingData(why)
    russell = [archive_symbol(t) for t in (data / RUSSELL).read_text().split() if t.strip()]
    with open(data / SP500, newline="") as f:
        gics = {archive_symbol(r["Symbol"]): r["GICS Sector"] for r in csv.DictReader(f)}
    wanted = set(russell) | set(gics) | set(MEGA_CAP_TECH) | {"RSP"}
    closes = read_archive(data / ARCHIVE, wanted)

    def covered(symbol: str) -> bool:
        rows = closes.get(symbol, [])
        return any(d <= BASE_DAY for d, _ in rows) and any(d >= PEAK_DAY for d, _ in rows)

    rows: list[tuple[str, str, str, str, str, str, str]] = []
    etfs: list[str] = []
    for symbol in INDEX_ETFS:
        etfs.append(symbol)
        bars = read_kitty(data / KITTY / f"{symbol}.csv")
        rows += [(d, symbol, o, h, lo, c, v) for d, o, h, lo, c, v in bars]
    sectors = [s for s in SECTOR_ETFS if (data / SECTOR_DIR / f"{s}.csv").is_file()]
    for symbol in sectors:
        etfs.append(symbol)
        bars = read_sector(data / SECTOR_DIR / f"{symbol}.csv")
        rows += [(d, symbol, o, h, lo, c, v) for d, o, h, lo, c, v in bars]
    stocks = sorted(s for s in wanted if covered(s))
    for symbol in stocks:
        rows += [(d, symbol, "", "", "", c, "") for d, c in closes[symbol]]
    rows = [r for r in rows if in_range(r[0]) and usable(r[5])]
    rows.sort(key=lambda r: (r[0], r[1]))

    bar_file = workdir / "bars.csv"
    with open(bar_file, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["symbol", "timestamp", "open", "high", "low", "close", "volume"])
        writer.writerows((r[1], r[0], *r[2:]) for r in rows)

    stock_set = set(stocks)
    small_caps = [s for s in dict.fromkeys(russell) if s in stock_set]
    mega = [s for s in MEGA_CAP_TECH if s in stock_set]
    sector_groups: dict[str, list[str]] = {}
    for symbol, sector in sorted(gics.items()):
        if symbol in stock_set and sector in GICS_GROUPS:
            sector_groups.setdefault(GICS_GROUPS[sector], []).append(symbol)
    config = workdir / "great_rotation.toml"
    config.write_text(
        config_text(
            etfs + (["RSP"] if "RSP" in stock_set else []),
            stocks,
            sectors,
            small_caps,
            mega,
            sector_groups,
        )
    )
    return Built(
        bar_file,
        config,
        etfs,
        sectors,
        "RSP" in stock_set,
        small_caps,
        mega,
        sector_groups,
        len(rows),
    )


def toml_list(symbols: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in symbols) + "]"


def config_text(
    etfs: Sequence[str],
    stocks: Sequence[str],
    sectors: Sequence[str],
    small_caps: Sequence[str],
    mega: Sequence[str],
    sector_groups: dict[str, list[str]],
) -> str:
    """The replay's configuration: only what it changes over the shipped defaults."""
    lines = [
        "# Daily bars of the Great Rotation replay (examples/great_rotation_2026.py).",
        "",
        "[bars]",
        "seconds = 86400",
        "",
        "[relative_strength]  # as examples/etf_daily.toml",
        "sma_bars = 50",
        "change_bars = 20",
        "hysteresis_pct = 1.0",
        "cooldown_bars = 10",
        "symbol_pairs = false  # thousands of stocks: breadth, not one pair each",
        "",
        "[symbol]",
        "high_low_bars = 252   # 52-week highs and lows on daily bars",
        "",
        "[groups]",
        f"small_caps = {toml_list(small_caps)}",
    ]
    if mega:
        lines.append(f"mega_cap_tech = {toml_list(mega)}")
    lines += [f"{name} = {toml_list(members)}" for name, members in sorted(sector_groups.items())]
    breadth = '["small_caps", "mega_cap_tech"]' if mega else '["small_caps", "small_caps"]'
    pairs = [("IWM/QQQ", "IWM", "QQQ", True)]
    if mega:
        pairs.append(("small_caps/mega_cap_tech", "small_caps", "mega_cap_tech", True))
    if "RSP" in etfs:
        pairs.append(("RSP/SPY", "RSP", "SPY", False))
    pairs += [(f"{s}/SPY", s, "SPY", False) for s in sectors]
    for name, numerator, denominator, regime in pairs:
        lines += ["", "[[pairs]]", f'name = "{name}"']
        lines += [f'numerator = "{numerator}"', f'denominator = "{denominator}"']
        if regime:
            lines += ["regime = true", f"breadth = {breadth}"]
    lines += ["", "[symbols]"]
    lines += [f'"{s}" = {{}}' for s in dict.fromkeys([*etfs, *stocks])]
    return "\n".join(lines) + "\n"


def replay(built: Built, workdir: Path) -> Path:
    """Run ``rotation replay`` on the built files in this process; the JSON lines' path."""
    from rotation.cli import build_parser
    from rotation.replay import run_replay

    out = workdir / "results.jsonl"
    argv = ["replay", str(built.bars), "--config", str(built.config), "--out", str(out)]
    args = build_parser().parse_args([*argv, "--quiet"])
    if run_replay(args) != 0:
        raise SystemExit("great_rotation_2026: the replay failed (see above)")
    return out


def session_day(micros: int) -> str:
    """The New York date of the bar that ends at ``micros`` (epoch microseconds)."""
    return dt.datetime.fromtimestamp((micros - 1) / 1e6, NEW_YORK).date().isoformat()


def close_on(data: Path, symbol: str, day: str) -> float:
    """The close of ``symbol`` on ``day`` in the Yahoo daily file the replay reads."""
    for d, *_, close, _volume in read_kitty(data / KITTY / f"{symbol}.csv"):
        if d == day:
            return float(close)
    raise MissingData(f"{symbol} has no close on {day} in {data / KITTY}")


def change_pct(data: Path, symbol: str, start: str, end: str) -> float:
    """(close_end / close_start - 1) * 100."""
    return (close_on(data, symbol, end) / close_on(data, symbol, start) - 1.0) * 100.0


def analyse(data: Path, built: Built, results: Path) -> Report:
    """Read the replay's JSON lines into the report."""
    signals: list[dict[str, Any]] = []
    regime_days: list[tuple[str, str | None]] = []
    regime_on: dict[str, dict[str, Any]] = {}
    quadrants: dict[str, tuple[str, float, float]] = {}
    breadth: dict[str, dict[str, Any]] = {}
    with open(results) as f:
        for line in f:
            message = json.loads(line)
            body = message["data"]
            if message["type"] == "signal":
                shown = body["level"] in ("headline", "supporting")
                if shown and session_day(body["window_end"]) >= SIGNALS_FROM:
                    signals.append(body)
                continue
            day = session_day(body["ts"])
            subject = body["subject"]
            if subject == "pair:IWM/QQQ" and SIGNALS_FROM <= day <= LAST_DAY:
                regime_days.append((day, body["pair"].get("regime")))
                if day in (PEAK_DAY, LAST_DAY):
                    regime_on[day] = body["pair"]
            elif subject.startswith("pair:") and day == PEAK_DAY:
                pair = body["pair"]
                if pair["numerator"] in built.sectors and pair.get("rrg"):
                    rrg = pair["rrg"]
                    quadrants[pair["numerator"]] = (
                        rrg["quadrant"],
                        rrg["rs_ratio"],
                        rrg["rs_momentum"],
                    )
            elif subject == "group:small_caps" and day in BREADTH_DAYS:
                breadth[day] = body["group"]
    first_day, first_regime = None, None
    for day, regime in regime_days:
        if regime and regime.split(":")[-1] in ROTATION_GRADES:
            first_day, first_regime = day, regime
            break
    ordered = sorted(
        ((s, *q) for s, q in quadrants.items()),
        key=lambda q: (QUADRANT_ORDER.index(q[1]), -q[2]),
    )
    notes = [
        "the ETFs' closes are split-adjusted only; RSP's and the stocks' also for "
        "dividends (the archive's basis), which tilts RSP/SPY by the yield gap"
    ]
    return Report(
        change_pct={s: change_pct(data, s, BASE_DAY, PEAK_DAY) for s in ("IWM", "QQQ", "SPY")},
        signals=signals,
        first_rotation_day=first_day,
        first_rotation_regime=first_regime,
        regime_days=regime_days,
        regime_on=regime_on,
        quadrants=ordered,
        breadth=breadth,
        small_caps=len(built.small_caps),
        sectors=built.sectors,
        notes=notes,
    )


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(built: Built, report: Report) -> str:
    """The printed report."""
    out = [
        "The Great Rotation of January 2026, on real closes",
        f"universe: {len(built.etfs) + built.rsp} ETFs, "
        f"{len(built.small_caps)} Russell 2000 members, "
        f"{len(built.mega_cap_tech)} mega-cap tech, "
        f"{sum(map(len, built.sector_groups.values()))} S&P 500 members in "
        f"{len(built.sector_groups)} sector groups; {built.rows} daily bars "
        f"{FIRST_DAY} to {LAST_DAY}",
        "",
        f"{BASE_DAY} -> {PEAK_DAY} (closes):",
    ]
    for symbol, pct in report.change_pct.items():
        out.append(f"  {symbol:<4} {pct:+.2f}%")
    iwm, qqq = report.change_pct["IWM"], report.change_pct["QQQ"]
    out.append(f"  IWM - QQQ {iwm - qqq:+.2f} pp")
    out += ["", f"headline and supporting signals, {SIGNALS_FROM} to {LAST_DAY}:"]
    for s in report.signals:
        out.append(
            f"  {session_day(s['window_end'])}  {s['level']:<10} {s['kind']:<18} "
            f"{s['score']:5.1f}  {s['summary']}"
        )
    if not report.signals:
        out.append("  (none)")
    out += ["", "IWM/QQQ regime:"]
    if report.first_rotation_day is None:
        held = sorted({r for _, r in report.regime_days if r})
        out.append(
            f"  never at rotation grade from {SIGNALS_FROM} to {LAST_DAY}"
            + (f" (held: {', '.join(held)})" if held else "")
        )
    else:
        out.append(
            f"  first at rotation grade: {report.first_rotation_day} "
            f"({report.first_rotation_regime})"
        )
    for day, pair in report.regime_on.items():
        since = pair.get("regime_since")
        if pair.get("regime") and since:
            out.append(
                f"  on {day}: {pair['regime']} since {session_day(since)}, IWM/QQQ "
                f"{fmt(pair.get('regime_rs_change_pct'), '+.2f')}% since then"
            )
        else:
            out.append(f"  on {day}: no regime held")
    out += ["", f"sector RRG vs SPY on {PEAK_DAY} (RS-Ratio, RS-Momentum):"]
    for symbol, quadrant, ratio, momentum in report.quadrants:
        out.append(f"  {symbol:<5} {quadrant:<10} {ratio:7.2f} {momentum:7.2f}")
    missing = [s for s in report.sectors if s not in {q[0] for q in report.quadrants}]
    if missing:
        out.append(f"  no RRG point yet: {', '.join(missing)}")
    out += [
        "",
        "small-cap breadth:",
        f"  {'day':<11}{'adv':>5}{'dec':>5}{'%>SMA50':>9}{'NH':>5}{'NL':>5}{'NH-NL':>7}"
        f"{'McClellan':>11}{'in index':>10}",
    ]
    for day in BREADTH_DAYS:
        g = report.breadth.get(day)
        if g is None:
            out.append(f"  {day:<11}(no snapshot)")
            continue
        out.append(
            f"  {day:<11}{g['advancers']:>5}{g['decliners']:>5}"
            f"{fmt(g['pct_above_sma'], '.1f'):>9}{g['new_highs']:>5}{g['new_lows']:>5}"
            f"{g['nh_nl']:>7}{g['mcclellan_oscillator']:>11.1f}"
            f"{fmt(g.get('index_members'), 'd'):>10}"
        )
    out += ["", *(f"note: {n}" for n in report.notes if n)]
    return "\n".join(out)


def run(data: Path, out: Path | None = None) -> tuple[Built, Report]:
    """Build, replay and analyse, in ``out`` or a temporary folder."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        built = build(data, out)
        return built, analyse(data, built, replay(built, out))
    with tempfile.TemporaryDirectory(prefix="great_rotation_") as tmp:
        built = build(data, Path(tmp))
        return built, analyse(data, built, replay(built, Path(tmp)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="market-data folder")
    parser.add_argument("--out", type=Path, help="keep the built files and results here")
    args = parser.parse_args(argv)
    try:
        built, report = run(args.data, args.out)
    except MissingData as e:
        print(f"great_rotation_2026: {e}", file=sys.stderr)
        return 2
    print(render(built, report))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
