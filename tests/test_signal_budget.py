"""The noise goal on 2015-2026 daily ETF bars (IWM, QQQ, SPY, DIA; IWM/QQQ with the
regime detector): at most 25 signals a year by default, and every rotation the
detector called at rotation grade before the hierarchy is still called."""

from __future__ import annotations

import datetime as dt

import pytest

from benchmarks import signal_budget

pytestmark = pytest.mark.skipif(
    signal_budget.missing_data() is not None, reason=str(signal_budget.missing_data())
)

# The detector's rotation-grade calls on this data before signals were sent once per
# regime (side, day of the bar), repeats of a held side included.
CALLED_BEFORE = [
    ("2015-07-20", "into_mega_caps"),
    ("2015-10-27", "into_mega_caps"),
    ("2016-11-10", "into_small_caps"),
    ("2018-07-13", "into_mega_caps"),
    ("2019-03-22", "into_mega_caps"),
    ("2019-06-24", "into_mega_caps"),
    ("2020-03-10", "into_mega_caps"),
    ("2020-06-05", "into_small_caps"),
    ("2020-07-02", "into_mega_caps"),
    ("2020-08-26", "into_mega_caps"),
    ("2020-11-11", "into_small_caps"),
    ("2020-11-23", "into_small_caps"),
    ("2020-12-04", "into_small_caps"),
    ("2021-01-14", "into_small_caps"),
    ("2021-02-25", "into_small_caps"),
    ("2021-03-03", "into_small_caps"),
    ("2021-03-12", "into_small_caps"),
    ("2021-03-19", "into_small_caps"),
    ("2021-04-13", "into_mega_caps"),
    ("2021-04-19", "into_mega_caps"),
    ("2021-07-07", "into_mega_caps"),
    ("2021-12-01", "into_mega_caps"),
    ("2021-12-09", "into_mega_caps"),
    ("2022-03-08", "into_small_caps"),
    ("2022-10-31", "into_small_caps"),
    ("2022-12-23", "into_small_caps"),
    ("2023-03-14", "into_mega_caps"),
    ("2023-05-30", "into_mega_caps"),
    ("2023-12-27", "into_small_caps"),
    ("2024-01-17", "into_mega_caps"),
    ("2024-02-05", "into_mega_caps"),
    ("2024-06-11", "into_mega_caps"),
    ("2024-07-02", "into_mega_caps"),
    ("2024-07-24", "into_small_caps"),
    ("2024-11-06", "into_small_caps"),
    ("2024-12-17", "into_mega_caps"),
    ("2025-04-11", "into_mega_caps"),
    ("2026-01-21", "into_small_caps"),
    ("2026-05-18", "into_mega_caps"),
    ("2026-06-26", "into_small_caps"),
]
FEW_DAYS = 3
REPEAT_DAYS = 35  # repeat_bars (21 trading days) and the exit bars, in calendar days


def days_between(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


@pytest.fixture(scope="module")
def signals(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return signal_budget.replay_signals(tmp_path_factory.mktemp("budget"))


def test_at_most_25_signals_a_year(signals):
    years = signal_budget.per_year(signals)
    assert len(years) == 12  # 2015 through 2026
    totals = {year: sum(levels.values()) for year, levels in years.items()}
    assert max(totals.values()) <= signal_budget.BUDGET_PER_YEAR, totals
    assert all(levels["detail"] == 0 for levels in years.values())


def test_every_earlier_rotation_call_is_still_made_and_no_new_one(signals):
    calls = [(day, side) for day, side, _ in signal_budget.rotation_calls(signals)]
    assert calls, "the replay should call rotations"
    for day, side in calls:  # no new call: each is one of the earlier ones, within days
        assert any(s == side and abs(days_between(d, day)) <= FEW_DAYS for d, s in CALLED_BEFORE), (
            day,
            side,
        )
    for day, side in CALLED_BEFORE:  # each earlier call: made again, or the same regime
        assert any(
            s == side and -REPEAT_DAYS <= days_between(day, d) <= FEW_DAYS for d, s in calls
        ), (day, side)
    # 2023-2024, led by mega caps: the small-cap calls are the ones made before, no new one.
    small = [d for d, s in calls if s == "into_small_caps" and d[:4] in ("2023", "2024")]
    assert small == ["2023-12-27", "2024-07-24", "2024-11-06"]
