"""The universe file: the shipped default loads; bad files give a clear error naming the key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams.config import ConfigError, default_config_path, load_universe


def test_shipped_default_loads_with_its_pairs():
    universe = load_universe()
    assert [p.name for p in universe.pairs] == ["IWM/QQQ", "small_caps/mega_cap_tech", "RSP/SPY"]
    assert universe.members("small_caps")[0] == "GRC"
    assert universe.members("IWM") == ("IWM",)


def broken(tmp_path, old: str, new: str):
    text = default_config_path().read_text().replace(old, new, 1)
    assert old in default_config_path().read_text()
    path = tmp_path / "universe.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("seconds = 900", 'seconds = "900"', "key 'seconds' must be int"),
        ("seconds = 900", "seconds = 0", "key 'seconds' must be > 0"),
        ('numerator = "IWM"', 'numerator = "IWMX"', "'IWMX' is neither a symbol nor a group"),
        ('"GRC", "WLDN"', '"GRC", "NOPE"', "unknown symbols ['NOPE']"),
        ("price = 765.72", "price = -1.0", "[symbols.SPY]: key 'price' must be > 0"),
        ("sma_bars = 52", "", "missing key 'sma_bars'"),
        ("[bars]", "[bars", "not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path, old, new, message):
    with pytest.raises(ConfigError) as info:
        load_universe(broken(tmp_path, old, new))
    assert message in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_universe(tmp_path / "nope.toml")


def test_cli_reports_a_bad_config_without_a_traceback(tmp_path):
    path = broken(tmp_path, "seconds = 900", "seconds = -5")
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "up", "--headless", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "key 'seconds' must be > 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_rejects_a_worker_without_a_broker():
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "KAFKA_BOOTSTRAP": ""},
    )
    assert result.returncode == 2
    assert "set KAFKA_BOOTSTRAP" in result.stderr and "Traceback" not in result.stderr
