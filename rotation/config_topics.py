"""The configuration's ``[topics]`` table: rename a topic or change its partitions."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from rotation.config_source import ConfigSource
from streams.topics import DEFAULT_TOPICS, MAX_PARTITIONS, SINGLE_PARTITION, Topics

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def topics_from(source: ConfigSource) -> Topics:
    """The topics of a configuration: the defaults with its ``[topics]`` table applied.

    ``[topics.<role>]`` (role: ticks, bars, metrics, signals, deadletter) may set
    ``name`` and ``partitions``; errors name the file and line.
    """
    table = source.data.get("topics", {})
    if not isinstance(table, dict):
        raise source.error(("topics",), "[topics] must be a table")
    defaults = DEFAULT_TOPICS.roles()
    resolved = dict(defaults)
    for role, overrides in table.items():
        where = ("topics", role)
        if role not in defaults:
            raise source.error(
                where, f"[topics]: unknown topic '{role}'; known: {', '.join(defaults)}"
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
        resolved[role] = dataclasses.replace(defaults[role], **changes)
    names: dict[str, str] = {}
    for role, spec in resolved.items():
        if spec.name in names:
            raise source.error(
                ("topics", role),
                f"[topics]: '{role}' and '{names[spec.name]}' are both named {spec.name!r}",
            )
        names[spec.name] = role
    return Topics(**resolved)
