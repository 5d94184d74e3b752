"""The shipped universe: built by tools/build_universe.py, up to date, with the groups
and pairs the product is about."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rotation.config import load_universe

ROOT = Path(__file__).resolve().parents[1]
MARKETDATA = Path(__file__).resolve().parents[2] / "shared" / "marketdata"
SHIPPED = ROOT / "rotation" / "universe.toml"
SCRIPT = ROOT / "tools" / "build_universe.py"
SECTOR_ETFS = ["XLK", "XLF", "XLI", "XLRE", "XLE", "XLV", "XLY", "XLP", "XLU", "XLB", "XLC", "KRE"]
NAMED_SECTORS = ["industrials", "materials", "regional_banks", "real_estate", "technology"]

needs_data = pytest.mark.skipif(
    not (MARKETDATA / "universe").is_dir(),
    reason=f"the membership lists are not here ({MARKETDATA}/universe): "
    "they sit beside the repository in a development checkout only",
)


def _body(text: str) -> str:
    """The file without its build-date line (the one line a rebuild may change)."""
    return re.sub(r"^# Built \d{4}-\d{2}-\d{2};", "# Built <date>;", text, flags=re.M)


@pytest.fixture(scope="module")
def universe():
    return load_universe()


@needs_data
def test_the_shipped_universe_is_what_the_script_builds(tmp_path):
    out = tmp_path / "universe.toml"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(MARKETDATA), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert _body(out.read_text()) == _body(SHIPPED.read_text()), (
        "rotation/universe.toml is not what tools/build_universe.py builds; rebuild it"
    )


def test_the_shipped_universe_holds_the_universe_and_only_the_demos_windows():
    text = SHIPPED.read_text()
    tables = tomllib.loads(text)
    windows = {"relative_strength", "symbol", "regime", "rrg", "signals"}  # the demo's
    assert set(tables) == {"symbols", "groups", "pairs"} | windows
    assert all(key.endswith("_bars") or key == "m" for name in windows for key in tables[name])
    header = text[: text.index("[symbols]")]
    assert "tools/build_universe.py --data" in header
    for repo in (
        "MitchellRLayton/portfolio-xray",
        "LuckyCurve/stock_index_info",
        "datasets/s-and-p-500-companies",
        "kkernan/index-component-scraper",
        "dsturdy/Factor_Attribution",
    ):
        assert repo in header, repo
    assert re.search(r"^# Built \d{4}-\d{2}-\d{2};", header, flags=re.M)


def test_groups_named_in_the_issue_exist_with_plausible_sizes(universe):
    sizes = {name: len(members) for name, members in universe.groups.items()}
    assert sizes["small_caps"] > 1500
    assert 95 <= sizes["nasdaq_100"] <= 105
    assert 495 <= sizes["sp_500"] <= 510
    assert set(universe.groups["mega_cap_tech"]) == {
        "AAPL",
        "MSFT",
        "NVDA",
        "GOOGL",
        "AMZN",
        "META",
        "TSLA",
    }
    for name in NAMED_SECTORS:
        assert sizes[name] > 0, name
        assert set(universe.groups[name]) <= set(universe.groups["sp_500"]), name
    assert {"GRC", "WLDN", "HCI", "PSTL", "DRH"} <= set(universe.groups["small_caps"])
    assert {"AAPL", "MSFT", "NVDA", "GOOGL"} <= set(universe.groups["nasdaq_100"])
    # Members of the big groups are where they belong: no large cap among small caps.
    assert not {"AAPL", "MSFT", "NVDA", "JPM"} & set(universe.groups["small_caps"])


def test_pairs_named_in_the_issue_exist(universe):
    pairs = {p.name: p for p in universe.pairs}
    for name in ("IWM/QQQ", "small_caps/mega_cap_tech"):
        assert pairs[name].regime, name
    # Each side is confirmed by the breadth of what it holds: QQQ holds the Nasdaq-100.
    assert pairs["IWM/QQQ"].breadth == ("small_caps", "nasdaq_100")
    assert pairs["small_caps/mega_cap_tech"].breadth == ("small_caps", "mega_cap_tech")
    assert (pairs["RSP/SPY"].numerator, pairs["RSP/SPY"].denominator) == ("RSP", "SPY")
    for etf in SECTOR_ETFS:
        pair = pairs[f"{etf}/SPY"]
        assert (pair.numerator, pair.denominator, pair.regime) == (etf, "SPY", False)
    every = {p.name for p in universe.all_pairs()}
    assert {"industrials/SPY", "regional_banks/SPY", "small_caps/SPY"} <= every


def test_symbol_pairs_are_the_quote_panels_names_not_the_whole_universe(universe):
    symbol_pairs = {p.numerator for p in universe.all_pairs() if p.origin == "symbol_vs_benchmark"}
    assert {"AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "TSLA", "AVGO"} <= symbol_pairs
    assert {"GRC", "WLDN", "HCI", "PSTL", "DRH"} <= symbol_pairs
    assert len(symbol_pairs) < 20 < len(universe.symbols)


def test_symbols_carry_prices_sectors_and_caps(universe):
    symbols = universe.symbols
    assert symbols["BRK.B"].sector == "financials"  # BRK-B in the lists, BRK.B here
    assert symbols["XLI"].sector == "industrials"
    assert symbols["KRE"].sector == "regional_banks"
    assert symbols["IWM"].beta_size > 0.9 > symbols["QQQ"].beta_size
    assert symbols["NVDA"].beta_tech == 1.0
    assert symbols["NVDA"].cap > symbols["XYL"].cap > 0
    regional = universe.groups["regional_banks"]
    assert all(symbols[s].sector == "regional_banks" for s in regional)
    small = universe.groups["small_caps"]
    assert sum(symbols[s].beta_size == 1.0 for s in small) > 0.95 * len(small)
    # Prices are real closes where the data has them (100.0 is the documented fallback).
    assert sum(symbols[s].price != 100.0 for s in symbols) > 0.9 * len(symbols)


def _script():
    spec = importlib.util.spec_from_file_location("build_universe", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tickers_take_the_configurations_form_and_bad_ones_are_refused():
    script = _script()
    assert script.ticker("brk-b") == "BRK.B"
    assert script.ticker(" BF/B ") == "BF.B"
    with pytest.raises(script.BuildError, match="no ticker symbol"):
        script.ticker("S&P")


def test_a_missing_source_is_one_line_on_stderr(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(tmp_path), "--out", str(tmp_path / "u.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("build_universe: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "u.toml").exists()
