"""How every Kafka client of the project connects: bootstrap, group timings, TLS and SASL.

:func:`kafka_client_kwargs` builds the arguments of any aiokafka client (producer,
consumer, admin) and :func:`faust_broker_credentials` those of the Faust app, both from
one :class:`KafkaSecurity`, so TLS and SASL apply to every process alike. The values
come from the environment; only the composition root reads it
(:mod:`rotation.environment`), and passes :class:`Settings` down.

Tansu holds every JoinGroup for half the session timeout, so the short default
session makes a worker ready in about 3 s instead of about 32 s. Real Kafka rejects
sessions under its ``group.min.session.timeout.ms`` (6 s by default): set
``ROTATION_SESSION_TIMEOUT=10`` and ``ROTATION_HEARTBEAT_INTERVAL=3`` there.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.errors import RotationError

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT


class SettingsError(RotationError):
    """A connection setting (an environment variable) holds a value that cannot be used."""


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSecurity:
    """How the clients authenticate to Kafka and whether the connection uses TLS.

    ``SSL`` and ``SASL_SSL`` verify the brokers against ``ssl_cafile`` (else the
    system's CAs) and present ``ssl_certfile``/``ssl_keyfile`` when given (mutual
    TLS). ``SASL_*`` log in with ``sasl_mechanism`` as ``sasl_username``.
    """

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.protocol not in SECURITY_PROTOCOLS:
            raise SettingsError(
                f"KAFKA_SECURITY_PROTOCOL={self.protocol!r}: expected one of "
                f"{', '.join(SECURITY_PROTOCOLS)}"
            )
        if self.sasl_mechanism not in SASL_MECHANISMS:
            raise SettingsError(
                f"KAFKA_SASL_MECHANISM={self.sasl_mechanism!r}: expected one of "
                f"{', '.join(SASL_MECHANISMS)}"
            )
        if self.uses_sasl and not (self.sasl_username and self.sasl_password):
            raise SettingsError(
                f"KAFKA_SECURITY_PROTOCOL={self.protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD"
            )
        if not self.uses_tls:
            given = [
                name
                for name, value in (
                    ("KAFKA_SSL_CAFILE", self.ssl_cafile),
                    ("KAFKA_SSL_CERTFILE", self.ssl_certfile),
                    ("KAFKA_SSL_KEYFILE", self.ssl_keyfile),
                )
                if value
            ]
            if given:
                raise SettingsError(
                    f"{', '.join(given)} set, but KAFKA_SECURITY_PROTOCOL={self.protocol} "
                    "does not use TLS: set it to SSL or SASL_SSL"
                )
        if self.ssl_keyfile and not self.ssl_certfile:
            raise SettingsError(
                "KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE (the client certificate)"
            )
        for name, value in (
            ("KAFKA_SSL_CAFILE", self.ssl_cafile),
            ("KAFKA_SSL_CERTFILE", self.ssl_certfile),
            ("KAFKA_SSL_KEYFILE", self.ssl_keyfile),
        ):
            if value and not Path(value).is_file():
                raise SettingsError(f"{name}={value}: no such file")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for ``SSL``/``SASL_SSL`` (None otherwise), built by aiokafka."""
        if not self.uses_tls:
            return None
        from aiokafka.helpers import create_ssl_context

        try:
            return create_ssl_context(
                cafile=self.ssl_cafile,
                certfile=self.ssl_certfile,
                keyfile=self.ssl_keyfile,
                password=self.ssl_key_password,
            )
        except (ssl.SSLError, OSError) as exc:
            raise SettingsError(f"cannot use the KAFKA_SSL_* files: {exc}") from None


def kafka_client_kwargs(bootstrap: str, security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (``AIOKafkaProducer``, ``AIOKafkaConsumer``,
    ``AIOKafkaAdminClient``): the bootstrap servers and the security settings
    (``security``, default plain text)."""
    security = KafkaSecurity() if security is None else security
    kwargs: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "security_protocol": security.protocol,
    }
    if security.uses_tls:
        kwargs["ssl_context"] = security.ssl_context()
    if security.uses_sasl:
        kwargs["sasl_mechanism"] = security.sasl_mechanism
        kwargs["sasl_plain_username"] = security.sasl_username
        kwargs["sasl_plain_password"] = security.sasl_password
    return kwargs


def faust_broker_credentials(security: KafkaSecurity | None = None) -> CredentialsT | None:
    """Faust's ``broker_credentials`` for ``security`` (default: plain text):
    ``SASLCredentials`` (with the TLS context for SASL_SSL), ``SSLCredentials`` for SSL,
    None for PLAINTEXT."""
    import faust

    security = KafkaSecurity() if security is None else security
    if security.uses_sasl:
        return faust.SASLCredentials(
            username=security.sasl_username,
            password=security.sasl_password,
            mechanism=security.sasl_mechanism,
            ssl_context=security.ssl_context(),
        )
    if security.uses_tls:
        return faust.SSLCredentials(security.ssl_context())
    return None


FETCH_MAX_WAIT_MS_LIMIT = 60_000
PRODUCER_LINGER_MS_LIMIT = 10_000
FEED_FLUSH_MS_LIMIT = 10_000
COMPRESSIONS = ("none", "gzip", "lz4", "snappy", "zstd")


def check_compression(name: str, variable: str = "ROTATION_COMPRESSION") -> None:
    """A :class:`SettingsError` unless ``name`` is a codec this aiokafka can use."""
    if name not in COMPRESSIONS:
        raise SettingsError(f"{variable}={name!r}: expected one of {', '.join(COMPRESSIONS)}")
    if name in ("none", "gzip"):
        return
    from aiokafka import codec

    if not getattr(codec, f"has_{name}")():
        raise SettingsError(
            f"{variable}={name}: this installation has no {name} codec "
            "(pip install cramjam), or use gzip or none"
        )


@dataclass(frozen=True)
class Settings:
    """Where the broker is and how every client of one process talks to it.

    ``fetch_max_wait_ms``: the longest a consumer's Fetch request may wait at the broker
    for records (Kafka's ``fetch.max.wait.ms``). The embedded Tansu broker answers a
    Fetch only when this wait expires, even when records arrived meanwhile, so it is a
    latency floor of every hop there: 10 ms by default. Apache Kafka answers as soon as
    the records are there, so a long wait costs no latency on it and saves idle fetches:
    use 500 there (``ROTATION_FETCH_MAX_WAIT_MS=500``, as docker-compose.yml does).

    ``producer_linger_ms``: how long the worker's producer gathers messages into one
    batch before it sends (Kafka's ``linger.ms``); the broker keeps every batch, so
    fewer, larger batches cost it less (see the README's "The embedded broker's
    envelope").

    ``feed_flush_ms``: how long a feed gathers ticks before it writes them, one batch per
    partition (the simulator and the live feeds).

    ``compression``: of every batch the feeds produce (``gzip`` or ``none``; ``lz4``,
    ``snappy`` and ``zstd`` need the ``cramjam`` package). gzip: the embedded broker
    keeps every byte in memory, and with gzip `rotation up` grew it by ~30 MB/min
    instead of ~100 (README, "The embedded broker's envelope").

    ``worker_compression``: of the batches the worker produces (bars, metrics, signals,
    dead letters); ``none`` by default: gzip took over a tenth of the worker's CPU in a
    profile of a paced run, time the worker needs to keep up.
    """

    bootstrap: str
    app_id: str = "rotation"
    session_timeout: float = 2.0
    heartbeat_interval: float = 0.5
    commit_interval: float = 0.5
    fetch_max_wait_ms: int = 10
    producer_linger_ms: float = 1.0
    feed_flush_ms: float = 50.0
    compression: str = "gzip"
    worker_compression: str = "none"
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    def __post_init__(self) -> None:
        if not 1 <= self.fetch_max_wait_ms <= FETCH_MAX_WAIT_MS_LIMIT:
            raise SettingsError(
                f"ROTATION_FETCH_MAX_WAIT_MS={self.fetch_max_wait_ms}: expected whole "
                f"milliseconds from 1 to {FETCH_MAX_WAIT_MS_LIMIT}"
            )
        if not 0 <= self.producer_linger_ms <= PRODUCER_LINGER_MS_LIMIT:
            raise SettingsError(
                f"ROTATION_PRODUCER_LINGER_MS={self.producer_linger_ms}: expected "
                f"milliseconds from 0 to {PRODUCER_LINGER_MS_LIMIT}"
            )
        if not 1 <= self.feed_flush_ms <= FEED_FLUSH_MS_LIMIT:
            raise SettingsError(
                f"ROTATION_FEED_FLUSH_MS={self.feed_flush_ms}: expected milliseconds "
                f"from 1 to {FEED_FLUSH_MS_LIMIT}"
            )
        check_compression(self.compression)
        check_compression(self.worker_compression, "ROTATION_WORKER_COMPRESSION")

    @property
    def compression_type(self) -> str | None:
        """``compression`` as aiokafka and Faust take it (None: uncompressed)."""
        return None if self.compression == "none" else self.compression

    @property
    def worker_compression_type(self) -> str | None:
        """``worker_compression`` as Faust takes it (None: uncompressed)."""
        return None if self.worker_compression == "none" else self.worker_compression

    def kafka_kwargs(self) -> dict[str, Any]:
        """:func:`kafka_client_kwargs` of these settings."""
        return kafka_client_kwargs(self.bootstrap, self.security)
