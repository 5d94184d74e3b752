"""Build the shipped universe (``rotation/universe.toml``) from public membership lists.

Usage (from the repository root, the data folder beside it)::

    python tools/build_universe.py --data ../shared/marketdata --out rotation/universe.toml

The data folder holds copies of public files with a ``provenance.tsv`` naming each
file's repository and commit; the script reads, and writes none of them into the
project. It writes ``[symbols]``, ``[groups]`` and ``[[pairs]]``, with a header
naming every source, its commit, the build date and this command, and after them the
15-minute demo's windows (``DEMO_WINDOWS``: bar counts of ``[relative_strength]``,
``[symbol]``, ``[regime]``, ``[rrg]`` and ``[signals]``); every other parameter lives
in ``rotation/defaults.toml``.

Groups:

- ``small_caps``: the Russell 2000, as the tickers of the iShares Russell 2000 ETF
  (IWM) holdings list of about 2025-11-24 (iShares, "IWM holdings",
  https://www.ishares.com/us/products/239710/); cash, futures and non-equity lines
  are not in that list.
- ``nasdaq_100``: members of the Nasdaq-100 on the list's date (2025-12-13), from its
  table of tickers with the dates they were added and removed (taken from Wikipedia,
  "Nasdaq-100", https://en.wikipedia.org/wiki/Nasdaq-100).
- ``sp_500``: the S&P 500 constituents list of 2025-08-12 (Wikipedia, "List of S&P
  500 companies"), with each member's GICS sector and sub-industry.
- sector groups: S&P 500 members by GICS sector (``technology``, ``financials``,
  ``industrials``, ``materials``, ``real_estate``, ...) and ``regional_banks`` by the
  GICS sub-industry "Regional Banks" (S&P Dow Jones Indices and MSCI, "Global
  Industry Classification Standard", 2023). They are S&P 500 members only: the IWM
  list used here carries no sectors.
- ``mega_cap_tech``: AAPL MSFT NVDA GOOGL AMZN META TSLA.

Symbols: every group member, the ETFs a rotation user reads (broad indices, the
equal-weight S&P 500, the eleven Select Sector SPDRs, KRE and SMH), and the names of
the story (GRC WLDN HCI PSTL DRH and the mega caps). Class shares written with a
dash (BRK-B) become BRK.B, the form the configuration's symbol pattern takes.

Per symbol:

- ``price``: the close of 2025-12-31 (the eve of the January 2026 rotation), for ETFs
  from the daily ETF histories (not dividend adjusted), for stocks (and ETFs missing
  there) from the stock close archive (split and dividend adjusted as of 2026-08-03);
  where neither has that day, the price in the index weights lists (about
  2026-06-29), else 100.0 (both fallbacks listed in the header).
- ``cap``: the symbol's S&P 500 index weight in percent (kkernan index weights of
  about 2026-06-29); a Nasdaq-100 member outside the S&P 500 gets its Nasdaq-100
  weight times the median ratio of the two weights over the common members. Others
  keep the default (1.0, and a group of such members is equal weighted).
- simulator loadings, plainly from membership: every stock ``beta_market`` 1.0; a
  small cap ``beta_size`` 1.0 and ``vol`` 0.35; a large cap (S&P 500 or Nasdaq-100)
  ``beta_size`` -0.15 and ``vol`` 0.25; a mega-cap tech name ``beta_tech`` 1.0,
  another Nasdaq-100 or technology member 0.5, a small cap -0.1; a sector-group
  member ``sector`` = its group (regional banks: ``regional_banks``, not
  ``financials``) with ``beta_sector`` 1.0. ETFs carry the loadings of what they hold
  and ``vol`` 0.03 (their own noise is small: they are diversified).

Pairs: IWM/QQQ and small_caps/mega_cap_tech with the rotation-regime detector, each
side confirmed by the breadth of what it holds (IWM: ``small_caps``, QQQ:
``nasdaq_100``; the groups themselves for small_caps/mega_cap_tech), RSP/SPY (equal
against cap weight: breadth of the large caps), and each sector ETF against SPY (the
sector Relative Rotation Graph). Each group against SPY comes from
``[relative_strength] group_pairs``.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tarfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pandas as pd

COMMAND = "python tools/build_universe.py --data ../shared/marketdata --out rotation/universe.toml"
PRICE_DATE = "2025-12-31"
NASDAQ_100_AS_OF = "2025-12-13"
MEGA_CAP_TECH = ("AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "TSLA")
STORY_NAMES = ("GRC", "WLDN", "HCI", "PSTL", "DRH")
BROAD_ETFS = ("SPY", "QQQ", "IWM", "DIA", "RSP")
# Sector ETF -> its sector group; the group name -> GICS sector (or sub-industry).
SECTOR_ETFS = {
    "XLK": "technology",
    "XLF": "financials",
    "XLI": "industrials",
    "XLRE": "real_estate",
    "XLE": "energy",
    "XLV": "health_care",
    "XLY": "consumer_discretionary",
    "XLP": "consumer_staples",
    "XLU": "utilities",
    "XLB": "materials",
    "XLC": "communication_services",
    "KRE": "regional_banks",
    "SMH": "technology",
}
GICS_SECTORS = {
    "Information Technology": "technology",
    "Financials": "financials",
    "Industrials": "industrials",
    "Real Estate": "real_estate",
    "Energy": "energy",
    "Health Care": "health_care",
    "Consumer Discretionary": "consumer_discretionary",
    "Consumer Staples": "consumer_staples",
    "Utilities": "utilities",
    "Materials": "materials",
    "Communication Services": "communication_services",
}
REGIONAL_BANKS = "Regional Banks"  # GICS sub-industry

SOURCES = {
    "small_caps": "universe/russell2000_iwm_holdings_2025-11.txt",
    "nasdaq_100": "universe/LuckyCurve_stock_index_info/nasdaq100.csv",
    "sp_500": "universe/datasets_s-and-p-500-companies/constituents_2025-08-12.csv",
    "sp_500_weights": "universe/kkernan_index-component-scraper/sp500_weights.csv",
    "nasdaq_100_weights": "universe/kkernan_index-component-scraper/nasdaq100_weights.csv",
    "etf_closes": "etf_daily/RajeshMPatel_sector_money_flow",
    "etf_closes_long": "etf_daily/kittycapital_etf-seasonality",
    "stock_closes": "breadth/dsturdy_factor-attribution_close_to_2026-08-03.tar.xz",
}
# Where a source's provenance row is not keyed by its own path.
PROVENANCE_KEY = {
    "small_caps": "universe/portfolio-xray_holdings/IWM.js",
    "etf_closes": "etf_daily/RajeshMPatel_sector_money_flow/SPY.csv",
    "etf_closes_long": "etf_daily/kittycapital_etf-seasonality/SPY.csv",
}
# The 15-minute demo's windows, written after the pairs (rotation/defaults.toml's are
# in trading days, which a simulated story of a few weeks would never fill).
DEMO_WINDOWS = """\
# The demo's windows, for its 15-minute bars: short enough for a story told in a few
# simulated weeks (the defaults are in trading days: 50-day averages, 52-week highs,
# which would take a simulated year to fill). A universe of your own (a file with
# [symbols]) takes the day-based defaults of rotation/defaults.toml.
[relative_strength]
sma_bars = 52            # two sessions of 15-minute bars
change_bars = 26         # one session

[symbol]
sma_bars = 50
ema_bars = 20
return_bars = 21
high_low_bars = 52

[regime]
sma_bars = 50
short_bars = 5
long_bars = 21

[rrg]
m = 26                   # one session of 15-minute bars

[signals]
quadrant_dwell_bars = 8  # two hours of 15-minute bars
"""
SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=/]*$")  # rotation.config.SYMBOL_PATTERN


class BuildError(Exception):
    """A source file is missing or not what the script expects."""


def ticker(raw: str) -> str:
    """A list's ticker in the configuration's form: upper case, BRK-B -> BRK.B."""
    name = raw.strip().upper().replace("-", ".").replace("/", ".")
    if not SYMBOL.match(name):
        raise BuildError(f"'{raw}' is no ticker symbol")
    return name


def read_small_caps(data: Path) -> list[str]:
    """Russell 2000 members: one ticker a line (blank lines and # comments skipped)."""
    lines = (data / SOURCES["small_caps"]).read_text().splitlines()
    return sorted({ticker(x) for x in lines if x.strip() and not x.startswith("#")})


def read_nasdaq_100(data: Path, as_of: str = NASDAQ_100_AS_OF) -> list[str]:
    """Nasdaq-100 members on ``as_of``: added on or before it (or always), not removed."""
    table = pd.read_csv(data / SOURCES["nasdaq_100"], dtype=str).fillna("")
    added = (table["added_date"] == "") | (table["added_date"] <= as_of)
    kept = (table["removed_date"] == "") | (table["removed_date"] > as_of)
    return sorted({ticker(x) for x in table.loc[added & kept, "ticker"]})


def read_sp_500(data: Path) -> pd.DataFrame:
    """S&P 500 constituents: symbol, GICS sector and sub-industry."""
    table = pd.read_csv(data / SOURCES["sp_500"], dtype=str)
    table["symbol"] = [ticker(x) for x in table["Symbol"]]
    unknown = set(table["GICS Sector"]) - set(GICS_SECTORS)
    if unknown:
        raise BuildError(f"unknown GICS sectors {sorted(unknown)} in {SOURCES['sp_500']}")
    return table.sort_values("symbol").reset_index(drop=True)


def read_weights(data: Path, key: str, column: str = "Weight") -> dict[str, float]:
    """Index weights in percent (``Weight``, "6.95%") or prices (``Price``) by symbol."""
    table = pd.read_csv(data / SOURCES[key], dtype=str)
    return {
        ticker(s): float(str(w).rstrip("%").replace(",", ""))
        for s, w in zip(table["Symbol"], table[column], strict=True)
        if str(w) not in ("", "nan")
    }


def caps(
    members: Iterable[str], sp_weights: dict[str, float], ndx_weights: dict[str, float]
) -> dict[str, float]:
    """S&P 500 weight, else Nasdaq-100 weight x median(S&P / Nasdaq-100 weight)."""
    common = [s for s in ndx_weights if s in sp_weights and ndx_weights[s] > 0]
    ratio = float(pd.Series([sp_weights[s] / ndx_weights[s] for s in common]).median())
    out: dict[str, float] = {}
    for s in members:
        if sp_weights.get(s, 0) > 0:
            out[s] = sp_weights[s]
        elif ndx_weights.get(s, 0) > 0:
            out[s] = round(ndx_weights[s] * ratio, 4)
    return out


def close_on(text: str, day: str) -> float | None:
    """The Close of ``day`` in a CSV with Date and Close columns (any order, any case)."""
    frame = pd.read_csv(io.StringIO(text))
    frame.columns = [c.strip().lower() for c in frame.columns]
    rows = frame.loc[frame["date"].astype(str).str[:10] == day, "close"]
    return float(rows.iloc[0]) if len(rows) else None


def etf_closes(data: Path, symbols: Iterable[str], day: str) -> dict[str, float]:
    """Closes of ``day`` from the daily ETF histories (first source that has it)."""
    out: dict[str, float] = {}
    for s in symbols:
        for key in ("etf_closes", "etf_closes_long"):
            path = data / SOURCES[key] / f"{s}.csv"
            if path.exists() and (close := close_on(path.read_text(), day)) is not None:
                out[s] = round(close, 2)
                break
    return out


def archive_closes(data: Path, symbols: set[str], day: str) -> dict[str, float]:
    """Closes of ``day`` from the stock archive, read as a stream (``data/<SYM>.csv``)."""
    wanted = {s.replace(".", "-"): s for s in symbols}
    out: dict[str, float] = {}
    needle = f"\n{day},"
    with tarfile.open(data / SOURCES["stock_closes"], mode="r|xz") as archive:
        for member in archive:
            name = Path(member.name)
            if not member.isfile() or name.stem not in wanted:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            text = handle.read().decode()
            at = text.find(needle)
            if at >= 0:
                line = text[at + 1 : text.find("\n", at + 1)]
                out[wanted[name.stem]] = round(float(line.split(",")[1]), 2)
    return out


def provenance(data: Path) -> dict[str, tuple[str, str]]:
    """Source key -> (repository, commit) from the data folder's provenance.tsv."""
    table = pd.read_csv(data / "provenance.tsv", sep="\t", dtype=str)
    rows = {
        d: (r, c) for d, r, c in zip(table["dest"], table["repo"], table["commit"], strict=True)
    }
    out = {}
    for key, path in SOURCES.items():
        row = rows.get(PROVENANCE_KEY.get(key, path))
        if row is None:
            raise BuildError(f"no provenance row for {path}")
        out[key] = row
    return out


def loadings(
    symbol: str,
    small: set[str],
    large: set[str],
    ndx: set[str],
    sector: dict[str, str],
) -> dict[str, float | str]:
    """Simulator loadings of a stock, from its groups (see the module docstring)."""
    spec: dict[str, float | str] = {"beta_market": 1.0, "beta_size": 0.0, "beta_tech": 0.0}
    if symbol in large:
        spec.update(beta_size=-0.15, vol=0.25)
    elif symbol in small:
        spec.update(beta_size=1.0, beta_tech=-0.1, vol=0.35)
    if symbol in MEGA_CAP_TECH:
        spec["beta_tech"] = 1.0
    elif symbol in ndx or sector.get(symbol) == "technology":
        spec["beta_tech"] = 0.5
    if symbol in sector:
        spec.update(sector=sector[symbol], beta_sector=1.0)
    return spec


ETF_LOADINGS: dict[str, dict[str, float | str]] = {
    "SPY": {"beta_market": 1.0, "beta_size": -0.1, "beta_tech": 0.3},
    "QQQ": {"beta_market": 1.1, "beta_size": -0.15, "beta_tech": 0.8},
    "IWM": {"beta_market": 1.05, "beta_size": 1.0, "beta_tech": -0.1},
    "DIA": {"beta_market": 0.95, "beta_size": -0.15, "beta_tech": 0.1},
    "RSP": {"beta_market": 1.0, "beta_size": 0.2, "beta_tech": 0.1},
    "XLK": {"beta_tech": 0.9},
    "SMH": {"beta_market": 1.3, "beta_tech": 1.1},
    "KRE": {"beta_size": 0.6},
}


def etf_spec(symbol: str) -> dict[str, float | str]:
    """An ETF's loadings: those of what it holds; a sector ETF loads on its sector."""
    spec: dict[str, float | str] = {"beta_market": 1.0, "beta_size": -0.1, "beta_tech": 0.0}
    if symbol in SECTOR_ETFS:
        spec.update(sector=SECTOR_ETFS[symbol], beta_sector=1.0)
    spec.update(ETF_LOADINGS.get(symbol, {}))
    spec["vol"] = 0.03
    return spec


def build(data: Path) -> tuple[str, dict[str, object]]:
    """The universe file's text and a summary (group sizes, fallbacks)."""
    small = read_small_caps(data)
    ndx = read_nasdaq_100(data)
    sp = read_sp_500(data)
    sp_500 = list(sp["symbol"])
    sector: dict[str, str] = {}
    groups: dict[str, list[str]] = {
        "small_caps": small,
        "nasdaq_100": ndx,
        "sp_500": sp_500,
        "mega_cap_tech": list(MEGA_CAP_TECH),
    }
    for gics, name in GICS_SECTORS.items():
        groups[name] = sorted(sp.loc[sp["GICS Sector"] == gics, "symbol"])
        sector.update(dict.fromkeys(groups[name], name))
    groups["regional_banks"] = sorted(sp.loc[sp["GICS Sub-Industry"] == REGIONAL_BANKS, "symbol"])
    sector.update(dict.fromkeys(groups["regional_banks"], "regional_banks"))
    for name, members in groups.items():
        if not members:
            raise BuildError(f"group {name} came out empty: check its source list")

    etfs = list(BROAD_ETFS) + list(SECTOR_ETFS)
    stocks = sorted(set().union(*groups.values(), STORY_NAMES) - set(etfs))
    missing_names = [s for s in (*STORY_NAMES, *MEGA_CAP_TECH) if s not in stocks]
    if missing_names:
        raise BuildError(f"names of the story not in any list: {missing_names}")
    order = etfs + [s for s in (*MEGA_CAP_TECH, *STORY_NAMES)] + stocks
    symbols = list(dict.fromkeys(order))

    prices = etf_closes(data, etfs, PRICE_DATE)
    prices.update(archive_closes(data, set(symbols) - set(prices), PRICE_DATE))
    listed = {
        **read_weights(data, "nasdaq_100_weights", "Price"),
        **read_weights(data, "sp_500_weights", "Price"),
    }
    later = {s: round(listed[s], 2) for s in symbols if s not in prices and s in listed}
    prices.update(later)
    fallback = [s for s in symbols if s not in prices]
    cap = caps(
        symbols, read_weights(data, "sp_500_weights"), read_weights(data, "nasdaq_100_weights")
    )
    large, ndx_set, small_set = set(sp_500) | set(ndx), set(ndx), set(small)

    lines = [header(data, groups, sorted(later), fallback, len(symbols)), "[symbols]"]
    width = max(len(s) for s in symbols)
    for s in symbols:
        spec: dict[str, float | str] = {"price": prices.get(s, 100.0)}
        if s in etfs:
            spec.update(etf_spec(s))
        else:
            spec.update(loadings(s, small_set, large, ndx_set, sector))
        if s in cap:
            spec["cap"] = cap[s]
        key = f'"{s}"' if "." in s else s
        lines.append(f"{key:<{width + 2}} = {{ {inline(spec)} }}")
    lines += ["", "[groups]"]
    for name, members in groups.items():
        lines.append(f"{name} = [{wrap(members)}]")
    lines += ["", pairs_text(), "", DEMO_WINDOWS]
    return "\n".join(lines), {
        "symbols": len(symbols),
        "groups": {k: len(v) for k, v in groups.items()},
        "later": sorted(later),
        "fallback": fallback,
    }


def inline(spec: dict[str, float | str]) -> str:
    """``key = value`` pairs of a TOML inline table."""
    return ", ".join(
        f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {float(v)!r}" for k, v in spec.items()
    )


def wrap(members: list[str], width: int = 88) -> str:
    """A TOML array of strings over lines of at most ``width`` characters."""
    out, line = [], "   "
    for m in members:
        item = f' "{m}",'
        if len(line) + len(item) > width:
            out.append(line)
            line = "   "
        line += item
    out.append(line)
    return "\n" + "\n".join(out) + "\n"


def pairs_text() -> str:
    """The ``[[pairs]]``: the two regime pairs, RSP/SPY, each sector ETF against SPY."""
    blocks = [
        "# A pair is numerator vs denominator; either side is a symbol or a group (a group\n"
        "# is its equal-weight index). Signals of kind rotation_regime read the numerator as\n"
        "# the small-cap side; `breadth` names the groups whose breadth confirms each side.",
        '[[pairs]]\nname = "IWM/QQQ"\nnumerator = "IWM"\ndenominator = "QQQ"\nregime = true\n'
        'breadth = ["small_caps", "nasdaq_100"]',
        '[[pairs]]\nname = "small_caps/mega_cap_tech"\nnumerator = "small_caps"\n'
        'denominator = "mega_cap_tech"\nregime = true\nbreadth = ["small_caps", "mega_cap_tech"]',
        '[[pairs]]\nname = "RSP/SPY"\nnumerator = "RSP"\ndenominator = "SPY"',
    ]
    blocks.append("# The sector Relative Rotation Graph: each sector ETF against SPY.")
    for etf in SECTOR_ETFS:
        blocks.append(f'[[pairs]]\nname = "{etf}/SPY"\nnumerator = "{etf}"\ndenominator = "SPY"')
    return "\n\n".join(blocks)


def header(
    data: Path, groups: dict[str, list[str]], later: list[str], fallback: list[str], count: int
) -> str:
    """The generated file's comment header: sources, commits, date and the command."""
    rows = provenance(data)
    lines = [
        "# The default universe of `rotation`: symbols, groups and pairs. GENERATED: do not",
        "# edit by hand; rebuild with",
        "#",
        f"#     {COMMAND}",
        "#",
        f"# Built {date.today().isoformat()}; {count} symbols. "
        "Sources (repository @ commit, path):",
    ]
    for key, path in SOURCES.items():
        repo, commit = rows[key]
        lines.append(f"#   {key}: {repo} @ {commit[:12]} ({path})")
    lines += [
        "# Membership: small_caps = the IWM (Russell 2000) holdings of about 2025-11-24;",
        f"# nasdaq_100 = members on {NASDAQ_100_AS_OF}; sp_500 and its sectors = the",
        "# constituents list of 2025-08-12. Sector groups are S&P 500 members (the IWM list",
        "# used here has no sectors); regional_banks = GICS sub-industry Regional Banks.",
        f"# Prices: closes of {PRICE_DATE} (ETFs unadjusted; stocks adjusted as of 2026-08-03).",
        "# No close that day, price of the index weights lists (about 2026-06-29): "
        + (", ".join(later) if later else "none")
        + ".",
        f"# No close that day nor a listed price, price 100.0: {', '.join(fallback) or 'none'}.",
        "# cap = S&P 500 weight in % (Nasdaq-100 weight scaled where not in the S&P 500).",
        "# beta_* , sector and vol drive the simulator only (tools/build_universe.py says how).",
        "# Group sizes: " + ", ".join(f"{k} {len(v)}" for k, v in groups.items()) + ".",
        "",
    ]
    return "\n".join(_fold(lines))


def _fold(lines: list[str], width: int = 99) -> list[str]:
    """Comment lines folded at ``width``."""
    out = []
    for line in lines:
        while len(line) > width and " " in line[2:width]:
            cut = line.rindex(" ", 2, width)
            out.append(line[:cut])
            line = "#   " + line[cut + 1 :]
        out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/marketdata"))
    parser.add_argument("--out", type=Path, default=Path("rotation/universe.toml"))
    args = parser.parse_args(argv)
    try:
        text, summary = build(args.data)
    except (BuildError, OSError, KeyError, ValueError) as exc:
        print(f"build_universe: {exc}", file=sys.stderr)
        return 1
    args.out.write_text(text)
    print(f"wrote {args.out}: {summary['symbols']} symbols, groups {summary['groups']}")
    print(f"no {PRICE_DATE} close, listed price: {summary['later']}")
    print(f"no {PRICE_DATE} close nor listed price (100.0): {summary['fallback']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
