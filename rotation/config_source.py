"""Where the configuration comes from: layered TOML files, then environment overrides.

Layers, each over the one before:

1. ``rotation/defaults.toml``, shipped: every parameter with its default;
2. ``rotation/universe.toml``, shipped: the universe (symbols, groups, pairs), unless
   the user's file brings its own ``[symbols]``;
3. the user's file, ``--config`` or ``ROTATION_CONFIG`` (if any): only what it changes.
   Tables merge key by key; ``[symbols]``, ``[groups]``, ``[[pairs]]`` and
   ``[[simulator.regimes]]`` are data, not parameters, and replace the layer's below
   whole when given;
4. environment variables named after a key path:

    ROTATION__<TABLE>__<KEY>=<TOML literal>

with double underscores between the parts, matched without regard to case; a number
part indexes an array of tables from 1 (``ROTATION__PAIRS__2__REGIME=true`` is the
``regime`` of the second ``[[pairs]]``). The value is read as a TOML literal (``40``,
``0.5``, ``true``, ``"SPY"``, ``["IWM", "QQQ"]``, ``{ price = 10.0 }``); text that is
no TOML literal is taken as a string (``ROTATION__RELATIVE_STRENGTH__BENCHMARK=SPY``).
A table or key that the files lack is created.

Every key path remembers the file and line (or the variable) that set it, so errors
and ``rotation config show`` can say where a value came from. ``tomllib`` keeps no
positions, so :func:`key_lines` finds each key's line in the text.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from streams.errors import RotationError

DEFAULT_CONFIG_NAME = "universe.toml"
DEFAULTS_NAME = "defaults.toml"
REPLACED: tuple[KeyPath, ...] = (("symbols",), ("groups",), ("pairs",), ("simulator", "regimes"))
"""Tables that are data, not parameters: a layer that gives one replaces it whole."""
CONFIG_ENV = "ROTATION_CONFIG"
ENV_PREFIX = "ROTATION__"

KeyPath = tuple[str | int, ...]


class ConfigError(RotationError, ValueError):
    """The configuration file is missing, unreadable or holds a bad value.

    ``path`` and ``line`` locate the offending key when it is known (``line`` is None
    for a value an environment variable set).
    """

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


def default_config_path() -> Path:
    """The shipped universe (``rotation/universe.toml``)."""
    return Path(str(resources.files("rotation").joinpath(DEFAULT_CONFIG_NAME)))


def defaults_path() -> Path:
    """The shipped parameter defaults (``rotation/defaults.toml``)."""
    return Path(str(resources.files("rotation").joinpath(DEFAULTS_NAME)))


def chosen_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The user's file: ``path``, else ``ROTATION_CONFIG``, else the shipped universe."""
    return Path(path or os.environ.get(CONFIG_ENV) or default_config_path())


@dataclass(frozen=True)
class Layer:
    """One file of the configuration: its path, text and parsed data."""

    path: Path
    text: str
    data: dict[str, Any]


@dataclass
class ConfigSource:
    """The merged configuration with, for every key path, where its value came from.

    ``path`` is the topmost file (the user's, else the shipped universe); ``lines``
    maps a key path to the file and line that set it, ``env`` to the variable.
    """

    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, tuple[Path, int]] = field(default_factory=dict)
    env: dict[KeyPath, str] = field(default_factory=dict)
    layers: tuple[Path, ...] = ()

    def _located(self, path: KeyPath) -> tuple[Path, int] | str | None:
        """The variable, or the file and line, that set ``path`` or its nearest table."""
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            if prefix in self.env:
                return self.env[prefix]
            if prefix in self.lines:
                return self.lines[prefix]
        return None

    def origin(self, path: KeyPath) -> str:
        """``file:LINE`` of ``path`` (or of its nearest enclosing table), or
        ``file, VARIABLE`` when an environment variable set it."""
        found = self._located(path)
        if isinstance(found, str):
            return f"{self.path}, {found}"
        return str(self.path) if found is None else f"{found[0]}:{found[1]}"

    def error(self, path: KeyPath, message: str) -> ConfigError:
        """A :class:`ConfigError` located at ``path``: ``file:LINE: message``."""
        found = self._located(path)
        if isinstance(found, tuple):
            return ConfigError(f"{found[0]}:{found[1]}: {message}", found[0], found[1])
        return ConfigError(f"{self.origin(path)}: {message}", self.path, None)

    def rank(self, path: KeyPath) -> int:
        """How high the layer that set ``path`` is: its index in :attr:`layers`,
        ``len(layers)`` for an environment variable, -1 when nothing set it."""
        if path in self.env:
            return len(self.layers)
        found = self.lines.get(path)
        return -1 if found is None else self.layers.index(found[0])

    def shipped(self, path: KeyPath) -> bool:
        """Whether ``path``'s value is the shipped default (no user file or variable set it)."""
        found = self._located(path)
        return isinstance(found, tuple) and found[0] == defaults_path()

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its nearest enclosing table (None if set by env)."""
        found = self._located(path)
        return found[1] if isinstance(found, tuple) else None


def read_source(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> ConfigSource:
    """Read the layers (see the module docstring) and apply the ``ROTATION__*``
    overrides of ``environ`` (default: the process environment)."""
    chosen = chosen_path(path)
    user = read_layer(chosen)
    layers = [read_layer(defaults_path())]
    shipped = default_config_path()
    if "symbols" not in user.data and chosen.resolve() != shipped.resolve():
        layers.append(read_layer(shipped))
    layers.append(user)
    source = ConfigSource(chosen, {}, layers=tuple(layer.path for layer in layers))
    for layer in layers:
        merge_layer(source, layer)
    source.env = apply_env_overrides(
        source.data, os.environ if environ is None else environ, chosen
    )
    return source


def merge_layer(source: ConfigSource, layer: Layer) -> None:
    """Merge ``layer`` over ``source``: tables key by key, :data:`REPLACED` ones whole."""

    def merge(into: dict[str, Any], over: dict[str, Any], at: KeyPath) -> None:
        for key, value in over.items():
            path = (*at, key)
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                if path in REPLACED:
                    _forget(source.lines, path)
                    into[key] = {}
                merge(into[key], value, path)
            else:
                _forget(source.lines, path)
                into[key] = _copy(value)

    merge(source.data, layer.data, ())
    source.lines.update((key, (layer.path, line)) for key, line in key_lines(layer.text).items())


def _forget(lines: dict[KeyPath, tuple[Path, int]], path: KeyPath) -> None:
    for key in [key for key in lines if key[: len(path)] == path]:
        del lines[key]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def read_layer(chosen: Path) -> Layer:
    """One configuration file, parsed; :class:`ConfigError` when it cannot be."""
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{chosen}: no such configuration file") from None
    except IsADirectoryError:
        raise ConfigError(f"{chosen}: is a directory, not a configuration file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{chosen}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"{chosen}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = _decode_error(str(chosen), exc)
        raise ConfigError(message, chosen, line) from None
    return Layer(chosen, text, data)


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _decode_error(where: str, exc: tomllib.TOMLDecodeError) -> tuple[str, int | None]:
    message = str(exc)
    found = _POSITION.search(message)
    if found:
        line, column = found.groups()
        return f"{where}:{line}:{column}: not valid TOML: {message[: found.start()]}", int(line)
    return f"{where}: not valid TOML: {message}", None


def parse_literal(text: str) -> Any:
    """An environment value as a TOML literal; text that is none is a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_env_overrides(
    data: dict[str, Any], environ: Mapping[str, str], source: Path | str = "environment"
) -> dict[KeyPath, str]:
    """Set every ``ROTATION__A__B=value`` of ``environ`` into ``data`` (in name order);
    return each key path set and the variable that set it."""
    applied: dict[KeyPath, str] = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].split("__")
        if not all(parts):
            raise ConfigError(
                f"{name}: empty part in the key path (use ROTATION__TABLE__KEY, "
                "double underscores between the parts)"
            )
        path: list[str | int] = []
        node: Any = data
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or not 1 <= int(part) <= len(node):
                    raise ConfigError(
                        f"{name}: [{'.'.join(map(str, path))}] has {len(node)} entries; "
                        f"'{part}' must be a number from 1 to {len(node)}"
                    )
                index = int(part) - 1
                path.append(index)
                if last:
                    node[index] = parse_literal(environ[name])
                else:
                    node = node[index]
                continue
            if not isinstance(node, dict):
                raise ConfigError(
                    f"{name}: '{'.'.join(map(str, path))}' is a value, not a table, in {source}"
                )
            key = _match_key(node, part)
            path.append(key)
            if last:
                node[key] = parse_literal(environ[name])
            else:
                if key not in node:  # a table the file lacks: this variable made it
                    applied.setdefault(tuple(path), name)
                node = node.setdefault(key, {})
        applied[tuple(path)] = name
    return applied


def _match_key(table: dict[str, Any], part: str) -> str:
    if part in table:
        return part
    matches = [key for key in table if key.lower() == part.lower()]
    return matches[0] if len(matches) == 1 else part.lower()


# Finding the line of each key.

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _split_key(text: str) -> tuple[str, ...] | None:
    """``a."b.c".d`` -> ("a", "b.c", "d"); None if it is no key."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if rest[0] in "\"'":
            end = rest.find(rest[0], 1)
            if end < 0:
                return None
            parts.append(rest[1:end])
            rest = rest[end + 1 :].lstrip()
        else:
            found = _BARE.match(rest)
            if not found:
                return None
            parts.append(found.group())
            rest = rest[found.end() :].lstrip()
        if rest.startswith("."):
            rest = rest[1:].lstrip()
        elif rest:
            return None
    return tuple(parts) or None


def _key_and_value(line: str) -> tuple[str, str] | None:
    """Split ``key = value`` at the first ``=`` outside quotes."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return line[:i], line[i + 1 :]
    return None


def _scan(value: str, depth: int, string: str) -> tuple[int, str, list[tuple[int, str]]]:
    """Bracket depth and open multi-line string after ``value``; the ``key =`` found at
    each depth inside inline tables (for their line)."""
    keys: list[tuple[int, str]] = []
    i, n = 0, len(value)
    start = 0  # where a key of an inline table may begin
    while i < n:
        if string:
            if value.startswith(string, i):
                i += len(string)
                string = ""
            elif value[i] == "\\" and string.startswith('"'):
                i += 2
            else:
                i += 1
            continue
        ch = value[i]
        if ch == "#":
            break
        if value.startswith(('"""', "'''"), i):
            string = value[i : i + 3]
            i += 3
            continue
        if ch in "\"'":
            string = ch
            i += 1
            continue
        if ch in "[{":
            depth += 1
            start = i + 1
        elif ch in "]}":
            depth -= 1
        elif ch == ",":
            start = i + 1
        elif ch == "=" and depth > 0:
            key = _split_key(value[start:i])
            if key:
                keys.append((depth, key[-1]))
        i += 1
    if string in ('"', "'"):
        string = ""  # a one-line string cannot continue (TOML would have refused it)
    return depth, string, keys


def key_lines(text: str) -> dict[KeyPath, int]:
    """The line (from 1) of every table header and key of a TOML text, by key path.

    An array of tables is indexed from 0 (``("pairs", 1, "name")``); keys of an inline
    table get the line of the inline table (``("symbols", "SPY", "price")``).
    """
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    arrays: dict[KeyPath, int] = {}
    depth, string = 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        if depth > 0 or string:
            depth, string, _ = _scan(line, depth, string)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[["):
            key = _split_key(stripped[2 : stripped.find("]]")])
            if key:
                index = arrays.get(key, -1) + 1
                arrays[key] = index
                table = (*key, index)
                lines.setdefault(key, number)
                lines[table] = number
            continue
        if stripped.startswith("["):
            key = _split_key(stripped[1 : stripped.find("]")])
            if key:
                table = key
                lines[table] = number
            continue
        split = _key_and_value(stripped)
        if split is None:
            continue
        key = _split_key(split[0])
        if key is None:
            continue
        path = (*table, *key)
        lines[path] = number
        depth, string, inner = _scan(split[1], 0, "")
        for level, name in inner:
            if level == 1:
                lines[(*path, name)] = number
    return lines
