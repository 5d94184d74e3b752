"""Configuration layered over the shipped defaults: a user's file holds only what it
changes, every table and key falls back to the shipped value, and `rotation config show`
prints the result with where each value came from."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib

import pytest

from rotation.config import ConfigError, load_universe
from rotation.config_source import defaults_path, read_source
from tests.helpers import ROOT


def write(tmp_path, text: str, name: str = "mine.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def same(a, b) -> bool:
    return dataclasses.replace(a, source="") == dataclasses.replace(b, source="")


def test_a_file_with_one_key_changes_that_key_only(tmp_path):
    shipped = load_universe()
    mine = load_universe(write(tmp_path, "[relative_strength]\nsma_bars = 40\n"))
    assert mine.relative_strength.sma_bars == 40
    assert mine.relative_strength.sma_bars != shipped.relative_strength.sma_bars
    assert same(
        dataclasses.replace(
            mine,
            relative_strength=dataclasses.replace(
                mine.relative_strength, sma_bars=shipped.relative_strength.sma_bars
            ),
        ),
        shipped,
    )


def test_an_empty_file_is_the_shipped_configuration(tmp_path):
    assert same(load_universe(write(tmp_path, "# nothing to change\n")), load_universe())


def test_a_file_with_its_own_symbols_brings_its_own_universe(tmp_path):
    text = """
[symbols]
SPY = { price = 500.0 }
IWM = { price = 200.0 }
XYZ = { price = 10.0 }
[groups]
mine = ["XYZ", "IWM"]
"""
    universe = load_universe(write(tmp_path, text))
    assert list(universe.symbols) == ["SPY", "IWM", "XYZ"]
    assert universe.groups == {"mine": ("XYZ", "IWM")}
    assert universe.pairs == ()  # the shipped pairs name symbols this universe lacks
    assert universe.bar_seconds == load_universe().bar_seconds


def test_the_shipped_benchmark_applies_only_to_a_universe_that_has_it(tmp_path):
    without = load_universe(write(tmp_path, "[symbols]\nIWM = {}\nQQQ = {}\n"))
    assert without.relative_strength.benchmark is None and without.all_pairs() == ()
    chosen = "[relative_strength]\nbenchmark = 'SPY'\n[symbols]\nIWM = {}\n"
    with pytest.raises(ConfigError, match="benchmark 'SPY' is not in"):
        load_universe(write(tmp_path, chosen, "chosen.toml"))


def test_pairs_given_replace_the_shipped_pairs_and_keep_the_shipped_symbols(tmp_path):
    text = '[[pairs]]\nname = "IWM/SPY"\nnumerator = "IWM"\ndenominator = "SPY"\n'
    universe = load_universe(write(tmp_path, text))
    assert [p.name for p in universe.pairs] == ["IWM/SPY"]
    assert universe.symbols == load_universe().symbols


def test_simulator_regimes_are_replaced_whole_and_other_simulator_keys_kept(tmp_path):
    text = """
[simulator]
tick_interval_seconds = 45.0
[[simulator.regimes]]
name = "only"
days = 5
market_pct = 1.0
size_pct = 0.0
tech_pct = 0.0
"""
    universe = load_universe(write(tmp_path, text))
    shipped = load_universe().simulator
    assert [r.name for r in universe.simulator.regimes] == ["only"]
    assert universe.simulator.tick_interval_seconds == 45.0
    assert universe.simulator.start == shipped.start
    assert universe.simulator.session_seconds == shipped.session_seconds


def test_an_error_names_the_users_file_and_line(tmp_path):
    path = write(tmp_path, "[rrg]\n\n# the lag\nk = 0\n")
    with pytest.raises(ConfigError) as info:
        load_universe(path)
    assert str(info.value).startswith(f"{path}:4: [rrg]")
    assert info.value.path == path and info.value.line == 4


def test_an_error_in_an_environment_override_over_a_partial_file(tmp_path, monkeypatch):
    path = write(tmp_path, "[rrg]\nk = 5\n")
    monkeypatch.setenv("ROTATION__RRG__M", "0")
    with pytest.raises(ConfigError, match="ROTATION__RRG__M"):
        load_universe(path)


def test_the_shipped_defaults_set_every_parameter():
    """So that `rotation config show` shows every value with the file it came from."""
    from rotation.config import TABLES

    data = tomllib.loads(defaults_path().read_text())
    universe = load_universe()
    for table, params in (
        ("symbol", universe.symbol),
        ("breadth", universe.breadth),
        ("rrg", universe.rrg),
        ("signals", universe.signals),
        ("regime", universe.regime),
        ("ticks", universe.ticks),
        ("relative_strength", universe.relative_strength),
    ):
        given = set(data[table]) | {k.replace("_days", "_bars") for k in data[table]}
        missing = {f.name for f in dataclasses.fields(params)} - given
        assert not missing, f"rotation/defaults.toml [{table}] lacks {sorted(missing)}"
    assert set(data) <= set(TABLES)
    assert not {"symbols", "groups", "pairs"} & set(data)


# `rotation config show`.


def rotation(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rotation.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_config_show_names_where_each_value_came_from(tmp_path):
    path = write(tmp_path, "[relative_strength]\nsma_bars = 40\n")
    done = rotation("config", "show", str(path), ROTATION__RRG__K="7")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()

    def line_of(key: str, table: str) -> str:
        start = lines.index(f"[{table}]")
        return next(line for line in lines[start:] if line.startswith(f"{key} = "))

    assert line_of("sma_bars", "relative_strength").endswith(f"# {path}:2")
    assert line_of("k", "rrg").endswith("# ROTATION__RRG__K")
    defaults = defaults_path().read_text().splitlines()
    tail_line = next(i for i, t in enumerate(defaults, 1) if t.startswith("tail = "))
    assert line_of("tail", "rrg").endswith(f"# rotation/defaults.toml:{tail_line}")
    assert "rotation/universe.toml:" in done.stdout


def test_config_show_reads_back_as_the_same_configuration(tmp_path):
    path = write(tmp_path, "[relative_strength]\nsma_bars = 40\n[rrg]\ntail = 5\n")
    done = rotation("config", "show", str(path), "--no-env")
    assert done.returncode == 0, done.stderr
    shown = write(tmp_path, done.stdout, "shown.toml")
    assert same(load_universe(shown), load_universe(path))


def test_config_show_one_table_and_bad_input(tmp_path):
    done = rotation("config", "show", "--table", "rrg")
    assert done.returncode == 0
    assert "[rrg]" in done.stdout and "[bars]" not in done.stdout
    done = rotation("config", "show", "--table", "nope")
    assert done.returncode == 2 and "no such table" in done.stderr
    done = rotation("config", "show", str(write(tmp_path, "[rrg]\nk = 0\n")))
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_read_source_lists_its_layers(tmp_path):
    path = write(tmp_path, "[rrg]\nk = 5\n")
    source = read_source(path, environ={})
    assert [p.name for p in source.layers] == ["defaults.toml", "universe.toml", "mine.toml"]
    own = write(tmp_path, "[symbols]\nSPY = { price = 1.0 }\n", "own.toml")
    assert [p.name for p in read_source(own, environ={}).layers] == ["defaults.toml", "own.toml"]
    assert ROOT.exists()


# Windows in trading time.

OWN = "[symbols]\nSPY = {}\nIWM = {}\n"


def test_a_daily_universe_gets_52_week_highs_and_50_day_averages(tmp_path):
    universe = load_universe(write(tmp_path, OWN + "[bars]\nseconds = 86400\n"))
    assert universe.symbol.high_low_bars == 252
    assert (universe.symbol.sma_bars, universe.symbol.return_bars) == (50, 21)
    assert (universe.relative_strength.sma_bars, universe.relative_strength.change_bars) == (50, 21)
    assert (universe.regime.sma_bars, universe.regime.long_bars) == (50, 21)


@pytest.mark.parametrize(
    ("bars", "exchange", "per_day"),
    [(900, "XNYS", 26), (3600, "XNYS", 7), (300, "XNYS", 78), (900, "24/7", 96)],
)
def test_day_windows_become_bars_of_the_session(tmp_path, bars, exchange, per_day):
    text = OWN + f'[bars]\nseconds = {bars}\n[calendar]\nexchange = "{exchange}"\n'
    universe = load_universe(write(tmp_path, text))
    assert universe.symbol.sma_bars == 50 * per_day
    assert universe.regime.short_bars == 5 * per_day


def test_a_window_in_bars_from_a_higher_layer_wins_and_both_in_one_file_is_an_error(tmp_path):
    mine = load_universe(write(tmp_path, OWN + "[symbol]\nhigh_low_bars = 40\n"))
    assert mine.symbol.high_low_bars == 40 and mine.symbol.sma_bars == 50 * 26
    # The shipped demo gives bars; a user's days win over them.
    assert load_universe().symbol.high_low_bars == 52
    days = load_universe(write(tmp_path, "[symbol]\nhigh_low_days = 2\n", "days.toml"))
    assert days.symbol.high_low_bars == 2 * 26
    both = write(tmp_path, "[symbol]\nhigh_low_days = 2\nhigh_low_bars = 5\n", "both.toml")
    with pytest.raises(ConfigError, match="give 'high_low_days' or 'high_low_bars', not both"):
        load_universe(both)
    with pytest.raises(ConfigError, match="'sma_days' must be > 0"):
        load_universe(write(tmp_path, "[symbol]\nsma_days = 0\n", "zero.toml"))


def test_day_windows_that_would_not_fit_in_memory_are_refused(tmp_path):
    text = OWN + 'QQQ = {}\n[bars]\nseconds = 1\n[calendar]\nexchange = "24/7"\n'
    with pytest.raises(ConfigError, match=r"high/low\) bars of 1 s, .* MB for 3 symbols"):
        load_universe(write(tmp_path, text))
    fine = text + "[symbol]\nsma_bars = 50\nreturn_bars = 21\nhigh_low_bars = 52\n"
    assert load_universe(write(tmp_path, fine, "fine.toml")).symbol.high_low_bars == 52
