"""``rotation config show``: the effective configuration, and where each value came from.

The layers (:mod:`rotation.config_source`) merged and overridden, printed as TOML that
reads back to the same configuration, each key followed by a comment naming the file
and line, or the environment variable, that set it.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from rotation.config import DAY_WINDOWS
from rotation.config_source import ConfigSource, KeyPath, default_config_path

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def render(source: ConfigSource, tables: tuple[str, ...] = ()) -> str:
    """The configuration of ``source`` as commented TOML (only ``tables`` if given)."""
    package = default_config_path().parent
    out = [
        "# The effective configuration: "
        + " <- ".join(_shown(path, package) for path in source.layers)
        + " <- ROTATION__* variables",
        "# Each value's comment says which file and line, or which variable, set it.",
    ]
    for name, value in source.data.items():
        if tables and name not in tables:
            continue
        if isinstance(value, dict):
            _table(out, source, (name,), value, package)
        elif _is_table_array(value):
            for i, item in enumerate(value):
                out += ["", f"[[{_key(name)}]]"]
                _table(out, source, (name, i), item, package, header=False)
        else:
            out.append(_line(source, (name,), value, package))
    return "\n".join(out) + "\n"


def _table(
    out: list[str],
    source: ConfigSource,
    path: KeyPath,
    table: dict[str, Any],
    package: Path,
    header: bool = True,
) -> None:
    if header:
        out += ["", f"[{'.'.join(_key(str(p)) for p in path)}]"]
    nested: list[tuple[str, Any]] = []
    for key, value in _effective(source, path, table).items():
        # Inline tables: a symbol's spec, a table inside an array item (sectors_pct).
        inline = path == ("symbols",) or any(isinstance(p, int) for p in path)
        if (isinstance(value, dict) and not inline) or _is_table_array(value):
            nested.append((key, value))
        else:
            out.append(_line(source, (*path, key), value, package))
    for key, value in nested:
        if isinstance(value, dict):
            _table(out, source, (*path, key), value, package)
        else:
            dotted = ".".join(_key(str(p)) for p in (*path, key))
            for i, item in enumerate(value):
                out += ["", f"[[{dotted}]]"]
                _table(out, source, (*path, key, i), item, package, header=False)


def _effective(source: ConfigSource, path: KeyPath, table: dict[str, Any]) -> dict[str, Any]:
    """``table`` without the window keys a higher layer's counterpart overrides (a
    ``<name>_days`` under your ``<name>_bars``, or the other way round), so the output
    reads back as the same configuration."""
    names = DAY_WINDOWS.get(str(path[0])) if len(path) == 1 else None
    if not names:
        return table
    shown = dict(table)
    for name in names:
        days, bars = f"{name}_days", f"{name}_bars"
        if days in shown and bars in shown:
            lower = days if source.rank((*path, days)) < source.rank((*path, bars)) else bars
            del shown[lower]
    return shown


def _line(source: ConfigSource, path: KeyPath, value: Any, package: Path) -> str:
    text = f"{_key(str(path[-1]))} = {_value(value)}"
    return f"{text:<48} # {_origin(source, path, package)}"


def _origin(source: ConfigSource, path: KeyPath, package: Path) -> str:
    for end in range(len(path), 0, -1):
        prefix = path[:end]
        if prefix in source.env:
            return source.env[prefix]
        if prefix in source.lines:
            file, line = source.lines[prefix]
            return f"{_shown(file, package)}:{line}"
    return "?"


def _shown(path: Path, package: Path) -> str:
    """A shipped file as ``rotation/NAME`` (where it is in the repository), else as given."""
    return f"rotation/{path.name}" if path.parent == package else str(path)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    """A TOML literal for ``value`` (JSON's string escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int | str):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"no TOML literal for {type(value).__name__}")
