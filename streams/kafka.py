"""Runtime settings of the processes, from the environment (flags override them).

| variable                    | default     | meaning                                          |
|-----------------------------|-------------|--------------------------------------------------|
| KAFKA_BOOTSTRAP             | (embedded)  | host:port[,host:port]; unset: start Tansu        |
| ROTATION_CONFIG             | (shipped)   | configuration TOML file                          |
| ROTATION_APP_ID             | rotation    | Faust app id (consumer group, changelog prefix)  |
| ROTATION_SESSION_TIMEOUT    | 2.0         | Kafka group session timeout, seconds             |
| ROTATION_HEARTBEAT_INTERVAL | 0.5         | Kafka group heartbeat interval, seconds          |
| ROTATION_COMMIT_INTERVAL    | 0.5         | Faust offset commit interval, seconds            |
| KAFKA_SECURITY_PROTOCOL     | PLAINTEXT   | PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL       |
| KAFKA_SASL_MECHANISM        | PLAIN       | PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512            |
| KAFKA_SASL_USERNAME         |             | SASL user (needed with SASL_*)                   |
| KAFKA_SASL_PASSWORD         |             | SASL password (needed with SASL_*)               |
| KAFKA_SSL_CAFILE            | system CAs  | PEM file of the CA(s) that signed the brokers    |
| KAFKA_SSL_CERTFILE          |             | PEM client certificate (mutual TLS)              |
| KAFKA_SSL_KEYFILE           |             | PEM private key of the client certificate        |
| KAFKA_SSL_KEY_PASSWORD      |             | password of an encrypted KAFKA_SSL_KEYFILE       |

Tansu holds every JoinGroup for half the session timeout, so the short default
session makes a worker ready in about 3 s instead of about 32 s. Real Kafka rejects
sessions under its ``group.min.session.timeout.ms`` (6 s by default): set
``ROTATION_SESSION_TIMEOUT=10`` and ``ROTATION_HEARTBEAT_INTERVAL=3`` there.

Every Kafka client of the project takes its connection settings from one place:
:func:`kafka_client_kwargs` for aiokafka clients (producer, consumer, admin) and
:func:`faust_broker_credentials` for the Faust app, both built from
:class:`KafkaSecurity`, so TLS and SASL apply to every process alike.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name) or None

        return cls(
            protocol=(get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper(),
            sasl_mechanism=(get("KAFKA_SASL_MECHANISM") or "PLAIN").upper(),
            sasl_username=get("KAFKA_SASL_USERNAME"),
            sasl_password=get("KAFKA_SASL_PASSWORD"),
            ssl_cafile=get("KAFKA_SSL_CAFILE"),
            ssl_certfile=get("KAFKA_SSL_CERTFILE"),
            ssl_keyfile=get("KAFKA_SSL_KEYFILE"),
            ssl_key_password=get("KAFKA_SSL_KEY_PASSWORD"),
        )

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
    (``security``, default :meth:`KafkaSecurity.from_env`)."""
    security = KafkaSecurity.from_env() if security is None else security
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
    """Faust's ``broker_credentials`` for ``security`` (default: from the environment):
    ``SASLCredentials`` (with the TLS context for SASL_SSL), ``SSLCredentials`` for SSL,
    None for PLAINTEXT."""
    import faust

    security = KafkaSecurity.from_env() if security is None else security
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


@dataclass(frozen=True)
class Settings:
    bootstrap: str
    app_id: str = "rotation"
    session_timeout: float = 2.0
    heartbeat_interval: float = 0.5
    commit_interval: float = 0.5
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

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
            security=KafkaSecurity.from_env(),
        )
        if settings.heartbeat_interval >= settings.session_timeout:
            raise SettingsError(
                "ROTATION_HEARTBEAT_INTERVAL must be smaller than ROTATION_SESSION_TIMEOUT"
            )
        return settings

    def kafka_kwargs(self) -> dict[str, Any]:
        """:func:`kafka_client_kwargs` of these settings."""
        return kafka_client_kwargs(self.bootstrap, self.security)
