"""Every Kafka topic of the system, declared once: name, partitions, key and payload.

The defaults are declared here; a deployment may rename a topic or change its
partition count in the ``[topics]`` table of the configuration file (or with
``ROTATION__TOPICS__<ROLE>__NAME`` / ``__PARTITIONS``). :func:`configured_topics` is
the one function that applies them, and the module attributes ``TICKS``, ``BARS``,
``METRICS``, ``SIGNALS``, ``DEADLETTER`` and ``ALL`` are its result for the
configuration of this process (``ROTATION_CONFIG`` and the environment; ``rotation
--config`` sets ``ROTATION_CONFIG``), resolved on first use. So every process started
with the same configuration uses the same names.

Ticks of one symbol always land in the same partition of ``quotes.ticks``: the
partition is Kafka's default partitioner applied to the symbol (murmur2 of the
UTF-8 symbol, positive, modulo the partition count), so a producer that sends one
tick per message with ``key=symbol`` and a producer that sends frames of many ticks
to an explicit partition agree.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiokafka.partitioner import murmur2

from streams import records
from streams.config_source import ConfigSource, read_source


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract."""

    name: str
    partitions: int
    key: str
    payload: type | tuple[type, ...]
    description: str


DEFAULTS: dict[str, TopicSpec] = {
    "ticks": TopicSpec(
        "quotes.ticks",
        4,
        "symbol for a single tick; null for a frame (explicit partition)",
        (records.TickFrame, records.Tick),
        "Quote ticks: a frame of one or more ticks of one partition, or a bare tick.",
    ),
    "bars": TopicSpec(
        "rotation.bars",
        1,
        "tick partition number, as decimal text",
        records.BarFrame,
        "Event-time bars closed by the bar stage, with the tick partition's watermark.",
    ),
    "metrics": TopicSpec(
        "rotation.metrics",
        1,
        "subject",
        records.MetricsSnapshot,
        "Relative-strength metrics snapshot after every closed bar interval.",
    ),
    "signals": TopicSpec(
        "rotation.signals",
        1,
        "subject (compacting keeps each subject's latest signal)",
        records.Signal,
        "Rotation signals with content-derived ids (deduplicate on id).",
    ),
    "deadletter": TopicSpec(
        "rotation.deadletter",
        1,
        "reason",
        records.DeadLetter,
        "Input that could not be used: original bytes, source and a reason code.",
    ),
}
"""The topics by role (the key of their ``[topics.<role>]`` table), with their defaults."""

MAX_PARTITIONS = 10_000
# Stage 2 merges the bars of every tick partition in one place (one consumer).
SINGLE_PARTITION = {"bars": "the rotation stage merges every tick partition's bars in one place"}
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def topics_from(source: ConfigSource) -> dict[str, TopicSpec]:
    """The topics of a configuration: the defaults with its ``[topics]`` table applied.

    ``[topics.<role>]`` (role: ticks, bars, metrics, signals, deadletter) may set
    ``name`` and ``partitions``; errors name the file and line.
    """
    table = source.data.get("topics", {})
    if not isinstance(table, dict):
        raise source.error(("topics",), "[topics] must be a table")
    resolved = dict(DEFAULTS)
    for role, overrides in table.items():
        where = ("topics", role)
        if role not in DEFAULTS:
            raise source.error(
                where, f"[topics]: unknown topic '{role}'; known: {', '.join(DEFAULTS)}"
            )
        if not isinstance(overrides, dict):
            raise source.error(
                where, f"[topics]: '{role}' must be a table with 'name' and/or 'partitions'"
            )
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            at, label = (*where, key), f"[topics.{role}]"
            if key == "name":
                if (
                    not isinstance(value, str)
                    or not _TOPIC_NAME.match(value)
                    or value
                    in {
                        ".",
                        "..",
                    }
                ):
                    raise source.error(
                        at,
                        f"{label}: key 'name' must be a Kafka topic name (letters, digits, "
                        f"'.', '_', '-'; at most 249), got {value!r}",
                    )
                changes["name"] = value
            elif key == "partitions":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise source.error(at, f"{label}: key 'partitions' must be int, got {value!r}")
                if not 1 <= value <= MAX_PARTITIONS:
                    raise source.error(
                        at, f"{label}: key 'partitions' must be 1 to {MAX_PARTITIONS}, got {value}"
                    )
                if role in SINGLE_PARTITION and value != 1:
                    raise source.error(
                        at, f"{label}: key 'partitions' must be 1: {SINGLE_PARTITION[role]}"
                    )
                changes["partitions"] = value
            else:
                raise source.error(at, f"{label}: unknown key '{key}'; known: name, partitions")
        resolved[role] = dataclasses.replace(DEFAULTS[role], **changes)
    names: dict[str, str] = {}
    for role, spec in resolved.items():
        if spec.name in names:
            raise source.error(
                ("topics", role),
                f"[topics]: '{role}' and '{names[spec.name]}' are both named {spec.name!r}",
            )
        names[spec.name] = role
    return resolved


@lru_cache(maxsize=1)
def configured_topics() -> dict[str, TopicSpec]:
    """The topics of this process's configuration (``ROTATION_CONFIG`` or the shipped
    file, plus ``ROTATION__TOPICS__*``), by role. Cached: call ``cache_clear()`` after
    changing the environment."""
    return topics_from(read_source())


_ROLE_OF_ATTRIBUTE = {
    "TICKS": "ticks",
    "BARS": "bars",
    "METRICS": "metrics",
    "SIGNALS": "signals",
    "DEADLETTER": "deadletter",
}

TICKS: TopicSpec
BARS: TopicSpec
METRICS: TopicSpec
SIGNALS: TopicSpec
DEADLETTER: TopicSpec
ALL: tuple[TopicSpec, ...]


def __getattr__(name: str) -> Any:
    # Resolved on first use rather than at import, so that the CLI can set
    # ROTATION_CONFIG from --config first and a bad file is reported as a ConfigError.
    if name in _ROLE_OF_ATTRIBUTE:
        return configured_topics()[_ROLE_OF_ATTRIBUTE[name]]
    if name == "ALL":
        return tuple(configured_topics().values())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def partition_for(symbol: str, partitions: int | None = None) -> int:
    """Partition of ``symbol`` on ``quotes.ticks``: Kafka's default key partitioner
    (``partitions`` default: the configured partition count of the ticks topic)."""
    if partitions is None:
        partitions = configured_topics()["ticks"].partitions
    return _partition(symbol, partitions)


@lru_cache(maxsize=1 << 16)
def _partition(symbol: str, partitions: int) -> int:
    # Cached: murmur2 in Python costs microseconds, and it runs once per tick.
    return (murmur2(symbol.encode()) & 0x7FFFFFFF) % partitions
