"""Runtime settings of the processes, from the environment (flags override them).

| variable                    | default     | meaning                                          |
|-----------------------------|-------------|--------------------------------------------------|
| KAFKA_BOOTSTRAP             | (embedded)  | host:port[,host:port]; unset: start Tansu        |
| ROTATION_CONFIG             | (shipped)   | universe TOML file                               |
| ROTATION_APP_ID             | rotation    | Faust app id (consumer group, changelog prefix)  |
| ROTATION_SESSION_TIMEOUT    | 2.0         | Kafka group session timeout, seconds             |
| ROTATION_HEARTBEAT_INTERVAL | 0.5         | Kafka group heartbeat interval, seconds          |
| ROTATION_COMMIT_INTERVAL    | 0.5         | Faust offset commit interval, seconds            |

Tansu holds every JoinGroup for half the session timeout, so the short default
session makes a worker ready in about 3 s instead of about 32 s. Real Kafka rejects
sessions under its ``group.min.session.timeout.ms`` (6 s by default): set
``ROTATION_SESSION_TIMEOUT=10`` and ``ROTATION_HEARTBEAT_INTERVAL=3`` there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number of seconds") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: must be > 0")
    return value


@dataclass(frozen=True)
class Settings:
    bootstrap: str
    app_id: str = "rotation"
    session_timeout: float = 2.0
    heartbeat_interval: float = 0.5
    commit_interval: float = 0.5

    @classmethod
    def from_env(cls, bootstrap: str | None = None) -> Settings:
        chosen = bootstrap or os.environ.get("KAFKA_BOOTSTRAP")
        if not chosen:
            raise SettingsError(
                "no Kafka broker: set KAFKA_BOOTSTRAP=host:port, or use `rotation up`, "
                "which starts the embedded broker"
            )
        settings = cls(
            bootstrap=chosen,
            app_id=os.environ.get("ROTATION_APP_ID", "rotation"),
            session_timeout=_float("ROTATION_SESSION_TIMEOUT", 2.0),
            heartbeat_interval=_float("ROTATION_HEARTBEAT_INTERVAL", 0.5),
            commit_interval=_float("ROTATION_COMMIT_INTERVAL", 0.5),
        )
        if settings.heartbeat_interval >= settings.session_timeout:
            raise SettingsError(
                "ROTATION_HEARTBEAT_INTERVAL must be smaller than ROTATION_SESSION_TIMEOUT"
            )
        return settings
