"""BreadthTable equals one GroupBreadth per group, interval by interval and after a restore."""

from __future__ import annotations

import json
import math

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import fields

from agents.analytics.breadth import BreadthParams, GroupBreadth
from agents.analytics.breadth_table import BreadthTable, IntervalColumns
from streams.records import GroupStats, SymbolStats
from tests.test_breadth import breadth_params, member

# Sums that BreadthTable adds in numpy's pairwise order where GroupBreadth uses
# math.fsum, and the figures made from them: equal to 1e-12 relative. Every other
# float is the same operations in the same order, so it must be identical.
SUMMED = {
    "up_volume",
    "down_volume",
    "up_volume_pct",
    "trin",
    "equal_weight_index",
    "cap_weight_index",
}


def assert_same_stats(got: GroupStats, want: GroupStats, where: str) -> None:
    for f in fields(GroupStats):
        a, b = getattr(got, f.name), getattr(want, f.name)
        assert type(a) is type(b), f"{where} {f.name}: {a!r} vs GroupBreadth {b!r}"
        if isinstance(b, float) and f.name in SUMMED:
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0), f"{where} {f.name}: {a} {b}"
        else:
            assert a == b, f"{where} {f.name}: {a!r} vs GroupBreadth {b!r}"


# Volumes are share counts: 0 or at least 1, so UV / DV never underflows to 0 (which
# makes GroupBreadth's Arms index divide by zero).
volumes = st.one_of(st.just(0.0), st.floats(1.0, 1e9), st.sampled_from([100.0, 2500.0]))
closes = st.one_of(st.floats(0.01, 1e5), st.sampled_from([10.0, 10.5, 11.0]))


@st.composite
def bar_stats(draw, first: bool) -> SymbolStats:
    """A reporting symbol's figures; a first bar has no direction."""
    direction = None if first else draw(st.sampled_from([1, 1, -1, -1, 0]))
    close = draw(closes)
    return SymbolStats(
        close=close,
        prev_close=None if first else close,
        change_pct=None,
        return_pct=None,
        sma=None,
        ema=close,
        above_sma=draw(st.sampled_from([None, True, False])),
        high_n=close,
        low_n=close,
        new_high=draw(st.booleans()),
        new_low=draw(st.booleans()),
        direction=direction,
        up_volume=draw(volumes),
        down_volume=draw(volumes),
        bars=1,
    )


@st.composite
def universes(draw):
    """Symbols, overlapping groups (one-member groups, members that never report),
    optional caps and the intervals: each a dict of the symbols that report in it."""
    count = draw(st.integers(1, 8), label="symbols")
    symbols = [*(f"S{k}" for k in range(count)), "NEVER", "OUTSIDE_GROUPS"]
    group_count = draw(st.integers(1, 5), label="groups")
    groups = {}
    for g in range(group_count):
        members = draw(st.lists(st.sampled_from(symbols[:-1]), min_size=1, max_size=9, unique=True))
        groups[f"g{g}"] = members
    caps = draw(
        st.one_of(st.none(), st.fixed_dictionaries({s: st.floats(0.1, 1000.0) for s in symbols})),
        label="caps",
    )
    reporting = [*symbols[:count], "OUTSIDE_GROUPS", "NOT_IN_UNIVERSE"]
    chance = draw(st.sampled_from([0.3, 0.7, 1.0]), label="report chance")
    seen: set[str] = set()
    intervals = []
    for _ in range(draw(st.integers(1, 40), label="intervals")):
        pattern = draw(st.lists(st.floats(0, 1), min_size=len(reporting), max_size=len(reporting)))
        metrics = {}
        for symbol, p in zip(reporting, pattern, strict=True):
            if p < chance:
                metrics[symbol] = draw(bar_stats(symbol not in seen))
                seen.add(symbol)
        order = draw(st.permutations(list(metrics)))
        intervals.append({s: metrics[s] for s in order})
    return symbols, groups, caps, intervals


def group_breadths(groups, params, caps) -> dict[str, GroupBreadth]:
    return {
        name: GroupBreadth(
            tuple(members), params, None if caps is None else {m: caps[m] for m in members}
        )
        for name, members in groups.items()
    }


def json_round_trip(state: dict) -> dict:
    return json.loads(json.dumps(state))


@settings(max_examples=100, deadline=None)
@given(universes(), breadth_params, st.data())
def test_table_equals_one_group_breadth_per_group(universe, params, data):
    """Every field of every group at every interval, with a restore through JSON at a
    random interval: integers, booleans and None-ness identical, floats to 1e-12."""
    symbols, groups, caps, intervals = universe
    split = data.draw(st.integers(0, len(intervals)), label="restore at")
    table = BreadthTable(groups, symbols, params, caps)
    references = group_breadths(groups, params, caps)
    for t, metrics in enumerate(intervals):
        if t == split:
            table = BreadthTable.from_state(
                groups, symbols, params, json_round_trip(table.to_state()), caps
            )
        got = table.on_interval(table.columns(metrics))
        assert len(got) == len(groups)
        for stats, (name, reference) in zip(got, references.items(), strict=True):
            assert_same_stats(stats, reference.on_interval(metrics), f"interval {t} {name}")


@settings(max_examples=40, deadline=None)
@given(universes(), breadth_params, st.data())
def test_states_convert_both_ways_with_group_breadth(universe, params, data):
    """A table's state per group is GroupBreadth's state, as JSON data; a table restored
    from the GroupBreadths' states continues as they do, and they as the table."""
    symbols, groups, caps, intervals = universe
    split = data.draw(st.integers(0, len(intervals)), label="save at")
    table = BreadthTable(groups, symbols, params, caps)
    references = group_breadths(groups, params, caps)
    for metrics in intervals[:split]:
        table.on_interval(table.columns(metrics))
        for reference in references.values():
            reference.on_interval(metrics)
    state = json_round_trip(table.to_state())
    expected = {name: json_round_trip(g.to_state()) for name, g in references.items()}
    # The index levels are the chained products of the index sums, which differ in
    # the last bits (numpy's pairwise sums, math.fsum; see the module docstring).
    for name, group in state["groups"].items():
        level, want = group["level"], expected[name]["level"]
        assert (level is None) == (want is None), name
        if level is not None:
            assert level == pytest.approx(want, rel=1e-12), name
    assert {n: {**g, "level": None} for n, g in state["groups"].items()} == {
        n: {**g, "level": None} for n, g in expected.items()
    }

    from_groups = BreadthTable.from_state(
        groups,
        symbols,
        params,
        {"groups": {name: g.to_state() for name, g in references.items()}},
        caps,
    )
    from_table = {
        name: GroupBreadth.from_state(
            tuple(members),
            params,
            state["groups"][name],
            None if caps is None else {m: caps[m] for m in members},
        )
        for name, members in groups.items()
    }
    for t, metrics in enumerate(intervals[split:], start=split):
        got = from_groups.on_interval(from_groups.columns(metrics))
        for stats, (name, reference) in zip(got, from_table.items(), strict=True):
            assert_same_stats(stats, reference.on_interval(metrics), f"interval {t} {name}")


def test_columns_from_arrays_count_as_documented():
    """Columns built by hand: first bars and warming SMAs are masked, not counted."""
    table = BreadthTable({"all": ["A", "B", "C", "D"], "cd": ["C", "D"]}, ["A", "B", "C", "D"])
    columns = IntervalColumns(
        index=np.array([3, 0, 2]),
        close=np.array([4.0, 1.0, 3.0]),
        direction=np.array([1, -1, 7]),  # C's 7 is masked: its first bar
        has_direction=np.array([True, True, False]),
        above_sma=np.array([True, False, True]),
        has_sma=np.array([True, True, False]),
        new_high=np.array([True, False, False]),
        new_low=np.array([False, False, True]),
        up_volume=np.array([500.0, 0.0, 0.0]),
        down_volume=np.array([0.0, 300.0, 0.0]),
    )
    every, cd = table.on_interval(columns)
    assert (every.reporting, every.advancers, every.decliners, every.unchanged) == (3, 1, 1, 0)
    assert (every.pct_above_sma, every.new_highs, every.new_lows) == (50.0, 1, 1)
    assert (every.up_volume, every.down_volume, every.trin) == (500.0, 300.0, 0.6)
    # B has never closed: the index starts with A, C and D, and says so.
    assert (every.equal_weight_index, every.index_members, every.members) == (1.0, 3, 4)
    assert (cd.reporting, cd.advancers, cd.decliners, cd.ad_ratio) == (2, 1, 0, None)
    assert (cd.pct_above_sma, cd.equal_weight_index, cd.cap_weight_index) == (100.0, 1.0, 1.0)


def test_columns_ignore_symbols_outside_the_universe():
    table = BreadthTable({"g": ["A"]}, ["A"])
    columns = table.columns({"ZZZ": member(1), "A": member(-1)})
    assert columns.index.tolist() == [0]
    assert table.on_interval(columns)[0].decliners == 1
    assert len(table.columns({})) == 0
    assert table.on_interval(table.columns({}))[0].reporting == 0


def column_args(**changes):
    args = {
        "index": [0, 1],
        "close": [1.0, 2.0],
        "direction": [1, -1],
        "has_direction": [True, True],
        "above_sma": [False, False],
        "has_sma": [False, False],
        "new_high": [False, False],
        "new_low": [False, False],
        "up_volume": [1.0, 0.0],
        "down_volume": [0.0, 1.0],
    }
    return {**args, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"index": [0, 0]}, "distinct"),
        ({"index": [0, 2]}, "distinct and in"),
        ({"index": [-1, 0]}, "distinct and in"),
        ({"direction": [2, -1]}, "directions"),
        ({"close": [0.0, 2.0]}, "closes"),
        ({"close": [math.nan, 2.0]}, "closes"),
        ({"up_volume": [-1.0, 0.0]}, "volumes"),
        ({"down_volume": [0.0, math.inf]}, "volumes"),
    ],
)
def test_bad_columns_get_a_clear_error(changes, message):
    table = BreadthTable({"g": ["A", "B"]}, ["A", "B"])
    with pytest.raises(ValueError, match=message):
        table.on_interval(IntervalColumns(**column_args(**changes)))
    assert table.on_interval(IntervalColumns(**column_args()))[0].reporting == 2


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="close has 1 values"):
        IntervalColumns(**column_args(close=[1.0]))


@pytest.mark.parametrize(
    ("groups", "symbols", "caps", "message"),
    [
        ({"g": []}, ["A"], None, "distinct members"),
        ({"g": ["A", "A"]}, ["A"], None, "distinct members"),
        ({"g": ["A", "B"]}, ["A"], None, "outside the universe"),
        ({}, ["A"], None, "at least one group"),
        ({"g": ["A"]}, ["A", "A"], None, "distinct"),
        ({"g": ["A", "B"]}, ["A", "B"], {"A": 1.0}, "caps missing"),
        ({"g": ["A", "B"]}, ["A", "B"], {"A": 1.0, "B": 0.0}, "> 0"),
    ],
)
def test_bad_tables_are_refused(groups, symbols, caps, message):
    with pytest.raises(ValueError, match=message):
        BreadthTable(groups, symbols, BreadthParams(), caps)


def test_restoring_other_groups_or_members_is_refused():
    table = BreadthTable({"g": ["A", "B"], "h": ["B"]}, ["A", "B", "C"])
    table.on_interval(table.columns({"A": member(None), "B": member(None)}))
    state = table.to_state()
    with pytest.raises(ValueError, match="fresh BreadthTable"):
        BreadthTable.from_state({"g": ["A", "B"]}, ["A", "B", "C"], None, state)
    with pytest.raises(ValueError, match="must start afresh"):
        BreadthTable.from_state({"g": ["A", "C"], "h": ["B"]}, ["A", "B", "C"], None, state)
    state["groups"]["h"]["closes"]["B"] = 99.0
    with pytest.raises(ValueError, match="differ between groups"):
        BreadthTable.from_state({"g": ["A", "B"], "h": ["B"]}, ["A", "B", "C"], None, state)


def test_a_direction_other_than_up_down_unchanged_is_refused_from_symbol_stats():
    table = BreadthTable({"g": ["A"]}, ["A"])
    odd = msgspec.structs.replace(member(1), direction=3)
    with pytest.raises(ValueError, match="directions must be"):
        table.on_interval(table.columns({"A": odd}))
