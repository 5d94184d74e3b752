"""The configuration file: the shipped default loads; bad files and bad environment overrides
give a clear error naming the file, line and key; `rotation config check`; every key is
documented."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rotation.config import ConfigError, default_config_path, load_universe
from tests.helpers import ROOT


def test_shipped_default_loads_with_its_pairs():
    universe = load_universe()
    names = [p.name for p in universe.pairs]
    assert names[:3] == ["IWM/QQQ", "small_caps/mega_cap_tech", "RSP/SPY"]
    assert {"XLK/SPY", "XLI/SPY", "XLB/SPY", "XLRE/SPY", "KRE/SPY"} <= set(names[3:])
    assert "GRC" in universe.members("small_caps")
    assert universe.members("IWM") == ("IWM",)


FULL_CONFIG = ROOT / "tests" / "fixtures" / "full_config.toml"


def broken(tmp_path, old: str, new: str):
    """A complete one-file configuration with ``old`` replaced by ``new``."""
    text = FULL_CONFIG.read_text()
    assert old in text
    path = tmp_path / "universe.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("seconds = 900", 'seconds = "900"', "key 'seconds' must be int"),
        ("seconds = 900", "seconds = 0", "key 'seconds' must be > 0"),
        ('numerator = "IWM"', 'numerator = "IWMX"', "'IWMX' is neither a symbol nor a group"),
        ('"GRC", "WLDN"', '"GRC", "NOPE"', "unknown symbols ['NOPE']"),
        ("price = 765.72", "price = -1.0", "[symbols.SPY]: key 'price' must be > 0"),
        ("[bars]", "[bars", "not valid TOML"),
        ("symbol_pairs = true", "symbol_pairs = 3", "'symbol_pairs' must be true, false or a list"),
        ("symbol_pairs = true", 'symbol_pairs = ["AAPL", 1]', "or a list of symbols and groups"),
        ("tech_pct = 2.5", 'tech_pct = 2.5\nsectors_pct = { tech = "up" }', "'tech' must be float"),
        ("tech_pct = 2.5", "tech_pct = 2.5\nsectors_pct = 4.0", "'sectors_pct' must be a table"),
        ("vol = 0.03 }", "vol = 0.03, sector = 1 }", "key 'sector' must be str"),
        (
            'exchange = "XNYS"',
            'exchange = "XNYZ"',
            "[calendar]: key 'exchange': 'XNYZ' is no exchange_calendars code",
        ),
    ],
)
def test_bad_values_name_the_key(tmp_path, old, new, message):
    with pytest.raises(ConfigError) as info:
        load_universe(broken(tmp_path, old, new))
    assert message in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_symbol_pairs_takes_symbols_and_groups_and_skips_names_it_lacks(tmp_path):
    path = broken(
        tmp_path, "symbol_pairs = true", 'symbol_pairs = ["mega_cap_tech", "GRC", "NOT_HERE"]'
    )
    universe = load_universe(path)
    symbol_pairs = [p.name for p in universe.all_pairs() if p.origin == "symbol_vs_benchmark"]
    expected = [*universe.groups["mega_cap_tech"], "GRC"]
    assert symbol_pairs == [f"{s}/SPY" for s in expected]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_universe(tmp_path / "nope.toml")


def test_cli_reports_a_bad_config_without_a_traceback(tmp_path):
    path = broken(tmp_path, "seconds = 900", "seconds = -5")
    result = subprocess.run(
        [sys.executable, "-m", "rotation.cli", "up", "--headless", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "key 'seconds' must be > 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_rejects_a_worker_without_a_broker():
    result = subprocess.run(
        [sys.executable, "-m", "rotation.cli", "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "KAFKA_BOOTSTRAP": ""},
    )
    assert result.returncode == 2
    assert "set KAFKA_BOOTSTRAP" in result.stderr and "Traceback" not in result.stderr


# Environment overrides: ROTATION__<TABLE>__<KEY>=<TOML literal>.


def load_with(monkeypatch, path=None, **env: str):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_universe(path)


def test_an_environment_variable_overrides_any_key(monkeypatch):
    universe = load_with(
        monkeypatch,
        ROTATION__RELATIVE_STRENGTH__SMA_BARS="40",
        ROTATION__BARS__ALLOWED_LATENESS_SECONDS="30",
        ROTATION__RRG__TAIL="5",
        ROTATION__SIGNALS__SYMBOL_QUADRANT_SIGNALS="true",
        ROTATION__SYMBOLS__SPY__CAP="2.5",  # matched without regard to case
        ROTATION__PAIRS__3__REGIME="true",  # the third [[pairs]], counting from 1
        ROTATION__RELATIVE_STRENGTH__BENCHMARK="QQQ",  # no TOML literal: a string
        ROTATION__GROUPS__SMALL_CAPS='["IWM", "RSP"]',
        ROTATION__TICKS__MAX_AGE_SECONDS="86400",
    )
    assert universe.relative_strength.sma_bars == 40
    assert universe.allowed_lateness_seconds == 30.0
    assert universe.rrg.tail == 5
    assert universe.signals.symbol_quadrant_signals is True
    assert universe.symbols["SPY"].cap == 2.5
    assert universe.pairs[2].name == "RSP/SPY" and universe.pairs[2].regime is True
    assert universe.relative_strength.benchmark == "QQQ"
    assert universe.groups["small_caps"] == ("IWM", "RSP")
    assert universe.ticks.max_age_seconds == 86400.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ROTATION__RELATIVE_STRENGTH__SMA_BARS", "-1", "key 'sma_bars' must be > 0"),
        ("ROTATION__RELATIVE_STRENGTH__SMA_BAR", "40", "unknown key 'sma_bar'"),
        ("ROTATION__RELATIVE_STRENGHT__SMA_BARS", "40", "unknown table 'relative_strenght'"),
        ("ROTATION__BARS__SECONDS", "fifteen", "key 'seconds' must be int, got str"),
        ("ROTATION__PAIRS__70__REGIME", "true", "has 16 entries"),
        ("ROTATION__BARS____SECONDS", "1", "empty part"),
        ("ROTATION__BARS__SECONDS__X", "1", "is a value, not a table"),
    ],
)
def test_a_bad_override_names_the_variable(monkeypatch, name, value, message):
    with pytest.raises(ConfigError) as info:
        load_with(monkeypatch, **{name: value})
    assert message in str(info.value)
    assert name in str(info.value)


# Errors point at the file's line.


@pytest.mark.parametrize(
    ("old", "new", "key_line"),
    [
        ("seconds = 900", "seconds = 0", "seconds = 0"),
        ("price = 765.72", "price = -1.0", "SPY   = {"),
        ("zweig_span = 10", "zweig_span = 0", "zweig_span = 0"),
        ('denominator = "QQQ"', 'denominator = "NOPE"', 'denominator = "NOPE"'),
        ("breakout_z = 3.0", "breakout_z = 9.0", "breakout_z = 9.0"),
        ("max_ahead_seconds = 604800", "max_ahead_seconds = -1", "max_ahead_seconds = -1"),
        ("# ticks = {", "ticks = { partitions = 0 } #", "ticks = { partitions = 0 }"),
        ("# max_queue = 1024", "max_queue = 0", "max_queue = 0"),
        ("# max_queue = 1024", "token = 'x'", "token = 'x'"),
        ("days = 26", "days = 0", "days = 0"),
    ],
)
def test_errors_give_the_line_of_the_offending_key(tmp_path, old, new, key_line):
    path = broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as info:
        load_universe(path)
    lines = path.read_text().splitlines()
    expected = next(i for i, line in enumerate(lines, 1) if line.strip().startswith(key_line))
    assert f"{path}:{expected}:" in str(info.value)
    assert info.value.line == expected


def test_a_toml_syntax_error_gives_line_and_column(tmp_path):
    with pytest.raises(ConfigError, match=r"universe.toml:\d+:\d+: not valid TOML"):
        load_universe(broken(tmp_path, "[bars]", "[bars"))


def test_key_lines_follow_tables_arrays_inline_tables_and_multiline_values():
    from rotation.config_source import key_lines

    text = """# comment
top = 1
[a]
x = [
  "[not.a.table]",
  { y = 2 },
]
'quoted.key' = "a = b"
dotted.key = 3
[[arr]]
name = "one"
[[arr]]
name = "two"
inline = { p = 1, q = { r = 2 } }
s = \"\"\"
[b]
fake = 1
\"\"\"
[b]
real = 1
"""
    lines = key_lines(text)
    assert lines[("top",)] == 2
    assert lines[("a",)] == 3 and lines[("a", "x")] == 4
    assert lines[("a", "quoted.key")] == 8
    assert lines[("a", "dotted", "key")] == 9
    assert lines[("arr", 0, "name")] == 11 and lines[("arr", 1, "name")] == 13
    assert lines[("arr", 1, "inline", "p")] == 14 and lines[("arr", 1, "inline", "q")] == 14
    assert ("b", "fake") not in lines
    assert lines[("b", "real")] == 20


# Topics and gateway sections.


def test_topics_default_to_streams_topics_and_can_be_renamed(monkeypatch):
    from streams.topics import DEFAULT_TOPICS

    assert {r: (t.name, t.partitions) for r, t in load_universe().topics.roles().items()} == {
        r: (t.name, t.partitions) for r, t in DEFAULT_TOPICS.roles().items()
    }
    universe = load_with(
        monkeypatch,
        ROTATION__TOPICS__TICKS__NAME="prod.quotes.ticks",
        ROTATION__TOPICS__TICKS__PARTITIONS="8",
    )
    assert (universe.topics.ticks.name, universe.topics.ticks.partitions) == (
        "prod.quotes.ticks",
        8,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROTATION__TOPICS__BARS__PARTITIONS": "2"}, "must be 1"),
        ({"ROTATION__TOPICS__TICKS__NAME": "bad name!"}, "Kafka topic name"),
        ({"ROTATION__TOPICS__SIGNALS__NAME": "rotation.metrics"}, "both named"),
        ({"ROTATION__TOPICS__QUOTES__NAME": "x"}, "unknown topic 'quotes'"),
        ({"ROTATION__TOPICS__TICKS__RETENTION": "1"}, "unknown key 'retention'"),
    ],
)
def test_bad_topics_are_refused(monkeypatch, env, message):
    with pytest.raises(ConfigError, match=message):
        load_with(monkeypatch, **env)


def test_every_process_reads_topic_names_through_one_function(tmp_path):
    path = broken(tmp_path, "# ticks = {", 'ticks = { name = "t.v2", partitions = 6 } #')
    code = (
        "from rotation.config import load_universe; "
        "from streams.partitioning import partitioner; "
        "topics = load_universe().topics; "
        "print(topics.ticks.name, topics.ticks.partitions, len(tuple(topics)), "
        "partitioner(topics.ticks.partitions)('IWM') < 6)"
    )
    env = {**os.environ, "ROTATION_CONFIG": str(path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.split() == ["t.v2", "6", "5", "True"], done.stderr


def test_gateway_section_is_parsed_and_checked(monkeypatch):
    assert load_universe().gateway == {}
    universe = load_with(monkeypatch, ROTATION__GATEWAY__MAX_QUEUE="2048")
    assert universe.gateway == {"max_queue": 2048}
    with pytest.raises(ConfigError, match="max_queue must be > 0"):
        load_with(monkeypatch, ROTATION__GATEWAY__MAX_QUEUE="0")
    with pytest.raises(ConfigError, match="ROTATION_GATEWAY_TOKEN"):
        load_with(monkeypatch, ROTATION__GATEWAY__TOKEN="secret")


# `rotation config check`.


def rotation(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rotation.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_config_check_summarises_a_good_file():
    done = rotation("config", "check", ROTATION__RELATIVE_STRENGTH__SMA_BARS="40")
    assert done.returncode == 0, done.stderr
    assert f"{default_config_path()}: OK" in done.stdout
    universe = load_universe()
    assert f"{len(universe.symbols)} symbols, {len(universe.groups)} groups," in done.stdout
    assert f"{len(universe.pairs)} pairs" in done.stdout
    assert "quotes.ticks (4)" in done.stdout
    assert "overrides  ROTATION__RELATIVE_STRENGTH__SMA_BARS" in done.stdout


def test_config_check_points_at_line_and_key_without_a_traceback(tmp_path):
    path = broken(tmp_path, "seconds = 900", "seconds = -5")
    done = rotation("config", "check", str(path))
    assert done.returncode == 1
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "seconds = -5" in t)
    assert f"{path}:{line}: [bars]: key 'seconds' must be > 0, got -5" in done.stderr
    assert f"{line:>5} | seconds = -5" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_check_reports_missing_and_unparsable_files(tmp_path):
    done = rotation("config", "check", str(tmp_path / "nope.toml"))
    assert done.returncode == 1 and "no such configuration file" in done.stderr
    path = broken(tmp_path, "[bars]", "[bars")
    done = rotation("config", "check", str(path))
    assert done.returncode == 1 and "not valid TOML" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_check_no_env_ignores_overrides():
    bad = {"ROTATION__BARS__SECONDS": "0"}
    assert rotation("config", "check", **bad).returncode == 1
    assert rotation("config", "check", "--no-env", **bad).returncode == 0


# Every key is documented.


def test_every_key_is_documented_in_docs_configuration():
    import dataclasses

    from gateway.settings import GatewaySettings
    from rotation.config import TABLES, RelativeStrengthParams, SymbolSpec
    from streams.topics import DEFAULT_TOPICS

    docs = (ROOT / "docs" / "configuration.md").read_text()
    universe = load_universe()
    keys = {f"`[{table}]`" if table not in ("pairs",) else "`[[pairs]]`" for table in TABLES}
    for params in (
        universe.symbol,
        universe.breadth,
        universe.rrg,
        universe.signals,
        universe.regime,
        universe.ticks,
    ):
        keys |= {f"`{f.name}`" for f in dataclasses.fields(params)}
    keys |= {f"`{f.name}`" for f in dataclasses.fields(RelativeStrengthParams)}
    keys |= {f"`{f.name}`" for f in dataclasses.fields(SymbolSpec) if f.name != "symbol"}
    keys |= {f"`{f.name}`" for f in dataclasses.fields(GatewaySettings) if f.name != "token"}
    keys |= {f"`{role}`" for role in DEFAULT_TOPICS.roles()}
    keys |= {"`seconds`", "`allowed_lateness_seconds`", "`start`", "`session_seconds`"}
    keys |= {"`tick_interval_seconds`", "`frame_max_ticks`", "`[[simulator.regimes]]`"}
    keys |= {"`numerator`", "`denominator`", "`regime`", "`breadth`", "`name`", "`partitions`"}
    missing = sorted(k for k in keys if k not in docs)
    assert not missing, f"docs/configuration.md does not document {missing}"
