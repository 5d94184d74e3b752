"""examples/great_rotation_2026.py on the real daily closes of January 2026.

The example builds the replay from the market-data folder beside the repository
(IWM, QQQ, SPY, the sector ETFs, the Russell 2000 members of a public stock archive),
runs it and reports what the system said. These tests run it once and check its
facts against the raw files, read here independently of the example.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import ROOT

MARKETDATA = Path(__file__).resolve().parents[2] / "shared" / "marketdata"
KITTY = MARKETDATA / "etf_daily" / "kittycapital_etf-seasonality"
SECTORS = MARKETDATA / "etf_daily" / "RajeshMPatel_sector_money_flow"
ARCHIVE_INDEX = MARKETDATA / "breadth" / "dsturdy_factor-attribution_index.tsv"
RUSSELL = MARKETDATA / "universe" / "russell2000_iwm_holdings_2025-11.txt"
SECTOR_ETFS = ("XLK", "XLF", "XLI", "XLRE", "XLE", "XLV", "XLY", "XLP", "XLU", "XLB", "XLC", "KRE")
QUADRANTS = {"leading", "weakening", "lagging", "improving"}


def load_example() -> ModuleType:
    """examples/great_rotation_2026.py as a module (examples/ is no package)."""
    path = ROOT / "examples" / "great_rotation_2026.py"
    spec = importlib.util.spec_from_file_location("great_rotation_2026", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = load_example()
why_not = example.missing_data(MARKETDATA)
pytestmark = pytest.mark.skipif(
    why_not is not None,
    reason=f"the example needs the real market data beside the repository: {why_not}",
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, str]:
    """The example run once: what it built, its report and the text it prints."""
    built, report = example.run(MARKETDATA, tmp_path_factory.mktemp("great_rotation"))
    return built, report, example.render(built, report)


def close(symbol: str, day: str) -> float:
    with open(KITTY / f"{symbol}.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["Date"] == day:
                return float(row["Close"])
    raise AssertionError(f"{symbol} has no close on {day}")


def new_york_day(micros: int) -> str:
    return dt.datetime.fromtimestamp((micros - 1) / 1e6, ZoneInfo("America/New_York")).strftime(
        "%Y-%m-%d"
    )


@pytest.mark.parametrize("symbol", ["IWM", "QQQ"])
def test_iwm_and_qqq_changes_are_those_of_the_closes(
    outcome: tuple[Any, Any, str], symbol: str
) -> None:
    _, report, text = outcome
    expected = (close(symbol, "2026-01-26") / close(symbol, "2025-12-31") - 1) * 100
    assert report.change_pct[symbol] == pytest.approx(expected, abs=0.01)
    assert f"{symbol:<4} {expected:+.2f}%" in text


def test_qqq_rose_in_these_closes_not_fell(outcome: tuple[Any, Any, str]) -> None:
    _, report, _ = outcome
    assert report.change_pct["QQQ"] > 0
    assert report.change_pct["IWM"] - report.change_pct["QQQ"] > 5


def test_a_rotation_grade_headline_into_small_caps_is_sent_in_january(
    outcome: tuple[Any, Any, str],
) -> None:
    _, report, text = outcome
    calls = [
        s
        for s in report.signals
        if s["kind"] == "rotation_regime"
        and s["subject"] == "pair:IWM/QQQ"
        and s["level"] == "headline"
        and s["direction"] == "into_small_caps"
        and s["evidence"]["grade"] in ("rotation", "broad_rotation")
        and new_york_day(s["window_end"]).startswith("2026-01")
    ]
    assert calls, "no rotation-grade headline into small caps on IWM/QQQ in January 2026"
    first = new_york_day(calls[0]["window_end"])
    assert report.first_rotation_day is not None
    assert report.first_rotation_day <= first
    assert report.first_rotation_day.startswith("2026-01")
    assert f"first at rotation grade: {report.first_rotation_day}" in text
    held = report.regime_on[example.PEAK_DAY]
    assert held["regime"] in ("into_small_caps:rotation", "into_small_caps:broad_rotation")
    assert held["regime_since"] is not None


def test_every_sector_etf_present_gets_its_rrg_quadrant(outcome: tuple[Any, Any, str]) -> None:
    _, report, text = outcome
    present = {s for s in SECTOR_ETFS if (SECTORS / f"{s}.csv").is_file()}
    assert {q[0] for q in report.quadrants} == present
    assert all(q[1] in QUADRANTS for q in report.quadrants)
    order = ["leading", "weakening", "improving", "lagging"]
    ranks = [order.index(q[1]) for q in report.quadrants]
    assert ranks == sorted(ranks), "leading first"
    for symbol, quadrant, _, _ in report.quadrants:
        assert f"{symbol:<5} {quadrant:<10}" in text


def members_with_data() -> int:
    """Russell 2000 holdings whose archive file has closes from before 2026 to 2026-01-26."""
    spans: dict[str, tuple[str, str]] = {}
    with open(ARCHIVE_INDEX) as f:
        for line in f:
            if line.startswith("data/"):
                cells = line.rstrip("\n").split("\t")
                spans[Path(cells[0]).stem] = (cells[6][:10], cells[7][:10])
    tickers = {t.strip().upper().replace(".", "-") for t in RUSSELL.read_text().split()}
    return sum(
        1
        for t in tickers
        if t in spans and spans[t][0] <= "2025-12-31" and spans[t][1] >= "2026-01-26"
    )


def test_small_cap_index_members_are_the_members_with_data(
    outcome: tuple[Any, Any, str],
) -> None:
    built, report, _ = outcome
    expected = members_with_data()
    assert expected > 1000
    assert len(built.small_caps) == expected
    assert set(report.breadth) == set(example.BREADTH_DAYS)
    for day, group in report.breadth.items():
        assert group["members"] == expected, day
        assert group["index_members"] == expected, day
        assert group["advancers"] + group["decliners"] + group["unchanged"] <= expected
