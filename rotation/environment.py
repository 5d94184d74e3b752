"""Runtime settings of the processes, from the environment (flags override them).

| variable                    | default     | meaning                                          |
|-----------------------------|-------------|--------------------------------------------------|
| KAFKA_BOOTSTRAP             | (embedded)  | host:port[,host:port]; unset: start Tansu        |
| ROTATION_CONFIG             | (shipped)   | configuration TOML file                          |
| ROTATION_APP_ID             | rotation    | Faust app id (consumer group, changelog prefix)  |
| ROTATION_SESSION_TIMEOUT    | 2.0         | Kafka group session timeout, seconds             |
| ROTATION_HEARTBEAT_INTERVAL | 0.5         | Kafka group heartbeat interval, seconds          |
| ROTATION_COMMIT_INTERVAL    | 0.5         | Faust offset commit interval, seconds            |
| ROTATION_FETCH_MAX_WAIT_MS  | 10          | longest a Kafka fetch waits (500 on Apache Kafka)|
| ROTATION_PRODUCER_LINGER_MS | 1           | worker producer's batching delay, milliseconds   |
| ROTATION_FEED_FLUSH_MS      | 50          | feeds write gathered ticks this often, ms        |
| ROTATION_COMPRESSION        | gzip        | batches produced: gzip or none (lz4 ...: cramjam)|
| KAFKA_SECURITY_PROTOCOL     | PLAINTEXT   | PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL       |
| KAFKA_SASL_MECHANISM        | PLAIN       | PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512            |
| KAFKA_SASL_USERNAME         |             | SASL user (needed with SASL_*)                   |
| KAFKA_SASL_PASSWORD         |             | SASL password (needed with SASL_*)               |
| KAFKA_SSL_CAFILE            | system CAs  | PEM file of the CA(s) that signed the brokers    |
| KAFKA_SSL_CERTFILE          |             | PEM client certificate (mutual TLS)              |
| KAFKA_SSL_KEYFILE           |             | PEM private key of the client certificate        |
| KAFKA_SSL_KEY_PASSWORD      |             | password of an encrypted KAFKA_SSL_KEYFILE       |

The one place that reads these variables; every part below gets a
:class:`streams.kafka.Settings` or :class:`streams.kafka.KafkaSecurity`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from streams.kafka import KafkaSecurity, Settings, SettingsError


def _float(name: str, default: float, env: Mapping[str, str]) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number of seconds") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: must be > 0")
    return value


def _milliseconds(name: str, default: float, env: Mapping[str, str], *, whole: bool) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        kind = "whole milliseconds" if whole else "milliseconds"
        raise SettingsError(f"{name}={raw!r}: expected a number of {kind}") from None
    return value


def kafka_security_from_env(environ: Mapping[str, str] | None = None) -> KafkaSecurity:
    """The ``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*`` and ``KAFKA_SSL_*`` variables."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(name) or None

    return KafkaSecurity(
        protocol=(get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper(),
        sasl_mechanism=(get("KAFKA_SASL_MECHANISM") or "PLAIN").upper(),
        sasl_username=get("KAFKA_SASL_USERNAME"),
        sasl_password=get("KAFKA_SASL_PASSWORD"),
        ssl_cafile=get("KAFKA_SSL_CAFILE"),
        ssl_certfile=get("KAFKA_SSL_CERTFILE"),
        ssl_keyfile=get("KAFKA_SSL_KEYFILE"),
        ssl_key_password=get("KAFKA_SSL_KEY_PASSWORD"),
    )


def settings_from_env(
    bootstrap: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """The Kafka settings of this process: ``bootstrap`` (a flag) or ``KAFKA_BOOTSTRAP``,
    the ``ROTATION_*`` timings and the security variables."""
    env = os.environ if environ is None else environ
    chosen = bootstrap or env.get("KAFKA_BOOTSTRAP")
    if not chosen:
        raise SettingsError(
            "no Kafka broker: set KAFKA_BOOTSTRAP=host:port, or use `rotation up`, "
            "which starts the embedded broker"
        )
    settings = Settings(
        bootstrap=chosen,
        app_id=env.get("ROTATION_APP_ID", "rotation"),
        session_timeout=_float("ROTATION_SESSION_TIMEOUT", 2.0, env),
        heartbeat_interval=_float("ROTATION_HEARTBEAT_INTERVAL", 0.5, env),
        commit_interval=_float("ROTATION_COMMIT_INTERVAL", 0.5, env),
        fetch_max_wait_ms=int(
            _milliseconds("ROTATION_FETCH_MAX_WAIT_MS", Settings.fetch_max_wait_ms, env, whole=True)
        ),
        producer_linger_ms=_milliseconds(
            "ROTATION_PRODUCER_LINGER_MS", Settings.producer_linger_ms, env, whole=False
        ),
        feed_flush_ms=_milliseconds(
            "ROTATION_FEED_FLUSH_MS", Settings.feed_flush_ms, env, whole=False
        ),
        compression=(env.get("ROTATION_COMPRESSION") or Settings.compression).strip().lower(),
        worker_compression=(
            (env.get("ROTATION_WORKER_COMPRESSION") or Settings.worker_compression).strip().lower()
        ),
        security=kafka_security_from_env(env),
    )
    if settings.heartbeat_interval >= settings.session_timeout:
        raise SettingsError(
            "ROTATION_HEARTBEAT_INTERVAL must be smaller than ROTATION_SESSION_TIMEOUT"
        )
    return settings
