"""The signal budget on real data: signals a year by level, and the rotation calls.

Replays the daily bars of IWM, QQQ, SPY and DIA from 2015-01-01 (the
kittycapital/etf-seasonality daily files, ``Date,Close,High,Low,Open,Volume``, as a
long CSV ``symbol,timestamp,open,high,low,close,volume``) through ``rotation replay``
in this process, with ``examples/etf_daily.toml`` plus the rotation-regime detector
on IWM/QQQ (``regime = true``) and the shipped signal defaults. Prints the signals sent
per year by level and every rotation-grade call (grade rotation or broad_rotation) of
``rotation_regime``: the noise goal is at most 25 signals a year in total.

Without the data (a fresh clone does not have it) the module says so and exits 0.

    .venv/bin/python -m benchmarks.signal_budget
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "marketdata" / "etf_daily" / "kittycapital_etf-seasonality"
EXAMPLE = ROOT / "examples" / "etf_daily.toml"
SYMBOLS = ("IWM", "QQQ", "SPY", "DIA")
FIRST_DATE = "2015-01-01"
BUDGET_PER_YEAR = 25
ROTATION_GRADES = ("rotation", "broad_rotation")


def missing_data() -> str | None:
    """Why the budget cannot be measured here, or None."""
    absent = [s for s in SYMBOLS if not (DATA / f"{s}.csv").is_file()]
    if absent:
        return f"daily ETF files {absent} not found under {DATA}"
    return None


def build_csv(path: Path) -> Path:
    """The long CSV of the four ETFs from FIRST_DATE, in time order."""
    rows: list[tuple[str, str, str, str, str, str, str]] = []
    for symbol in SYMBOLS:
        with open(DATA / f"{symbol}.csv", newline="") as f:
            for row in csv.DictReader(f):
                if row["Date"] >= FIRST_DATE:
                    rows.append(
                        (
                            row["Date"],
                            symbol,
                            row["Open"],
                            row["High"],
                            row["Low"],
                            row["Close"],
                            row["Volume"],
                        )
                    )
    rows.sort(key=lambda r: (r[0], r[1]))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["symbol", "timestamp", "open", "high", "low", "close", "volume"])
        writer.writerows([r[1], r[0], *r[2:]] for r in rows)
    return path


def build_config(path: Path) -> Path:
    """examples/etf_daily.toml with the regime detector on the IWM/QQQ pair."""
    text = EXAMPLE.read_text()
    pair = 'name = "IWM/QQQ"\nnumerator = "IWM"\ndenominator = "QQQ"\n'
    if pair not in text:
        raise SystemExit(f"{EXAMPLE}: the IWM/QQQ pair is not where this script expects it")
    path.write_text(text.replace(pair, pair + "regime = true\n"))
    return path


def replay_signals(workdir: Path) -> list[dict[str, Any]]:
    """Every signal of the replay, as the JSON of its record."""
    from rotation.cli import build_parser
    from rotation.replay import run_replay

    data, config = build_csv(workdir / "etf.csv"), build_config(workdir / "etf_regime.toml")
    out = workdir / "signals.jsonl"
    args = build_parser().parse_args(
        ["replay", str(data), "--config", str(config), "--out", str(out), "--quiet"]
    )
    if run_replay(args) != 0:
        raise SystemExit("the replay failed")
    signals = []
    with open(out) as f:
        for line in f:
            message = json.loads(line)
            if message["type"] == "signal":
                signals.append(message["data"])
    return signals


NEW_YORK = ZoneInfo("America/New_York")


def day(micros: int) -> str:
    """The trading day of a daily bar, from its end (the session's close), as YYYY-MM-DD:
    the date in New York of its last microsecond."""
    last = dt.datetime.fromtimestamp((micros - 1) / 1e6, dt.UTC)
    return last.astimezone(NEW_YORK).date().isoformat()


def per_year(signals: list[dict[str, Any]]) -> dict[str, collections.Counter[str]]:
    """Year -> level -> signals."""
    years: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for signal in signals:
        years[day(signal["window_end"])[:4]][signal["level"]] += 1
    return dict(sorted(years.items()))


def rotation_calls(signals: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(day, side, grade) of every rotation_regime signal at rotation grade."""
    return [
        (day(s["window_end"]), s["evidence"]["side"], s["evidence"]["grade"])
        for s in signals
        if s["kind"] == "rotation_regime" and s["evidence"]["grade"] in ROTATION_GRADES
    ]


def main() -> int:
    why = missing_data()
    if why is not None:
        print(f"signal budget: skipped, {why}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        signals = replay_signals(Path(tmp))
    years = per_year(signals)
    print(f"{'year':<6}{'headline':>10}{'supporting':>12}{'detail':>8}{'total':>8}")
    for year, levels in years.items():
        total = sum(levels.values())
        flag = "" if total <= BUDGET_PER_YEAR else f"  over the budget of {BUDGET_PER_YEAR}"
        print(
            f"{year:<6}{levels['headline']:>10}{levels['supporting']:>12}"
            f"{levels['detail']:>8}{total:>8}{flag}"
        )
    kinds = collections.Counter(s["kind"] for s in signals)
    print("by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    calls = rotation_calls(signals)
    print(f"rotation-grade calls ({len(calls)}):")
    for when, side, grade in calls:
        print(f"  {when}  {side:<16} {grade}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
