"""Kafka connection settings: the aiokafka keyword arguments and Faust's broker credentials
built for every security protocol (no TLS or SASL broker runs here: these check what the
clients are given). tests/data/tls/ holds a throwaway test CA and client certificate."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from faust.types.auth import AuthProtocol, SASLMechanism

from rotation.environment import kafka_security_from_env, settings_from_env
from streams.kafka import (
    KafkaSecurity,
    SettingsError,
    faust_broker_credentials,
    kafka_client_kwargs,
)

TLS = Path(__file__).parent / "data" / "tls"
CA, CERT, KEY = str(TLS / "ca.pem"), str(TLS / "client.pem"), str(TLS / "client.key")
BOOTSTRAP = "kafka-1:9093,kafka-2:9093"


def security(**env: str) -> KafkaSecurity:
    return kafka_security_from_env(env)


def test_plaintext_is_the_default_and_adds_nothing():
    sec = security()
    assert kafka_client_kwargs(BOOTSTRAP, sec) == {
        "bootstrap_servers": BOOTSTRAP,
        "security_protocol": "PLAINTEXT",
    }
    assert faust_broker_credentials(sec) is None


def test_ssl_verifies_the_broker_with_the_given_ca():
    sec = security(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CAFILE=CA)
    kwargs = kafka_client_kwargs(BOOTSTRAP, sec)
    assert kwargs["security_protocol"] == "SSL"
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any("rotation test CA" in str(c["subject"]) for c in context.get_ca_certs())
    assert "sasl_mechanism" not in kwargs
    credentials = faust_broker_credentials(sec)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.protocol is AuthProtocol.SSL
    assert isinstance(credentials.context, ssl.SSLContext)


def test_ssl_without_a_ca_file_uses_the_system_cas():
    kwargs = kafka_client_kwargs(BOOTSTRAP, security(KAFKA_SECURITY_PROTOCOL="ssl"))
    assert kwargs["security_protocol"] == "SSL"
    assert kwargs["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_mutual_tls_loads_the_client_certificate_also_with_an_encrypted_key():
    sec = security(
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CAFILE=CA,
        KAFKA_SSL_CERTFILE=CERT,
        KAFKA_SSL_KEYFILE=KEY,
    )
    assert isinstance(kafka_client_kwargs(BOOTSTRAP, sec)["ssl_context"], ssl.SSLContext)
    encrypted = str(TLS / "client-encrypted.key")
    env = dict(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CERTFILE=CERT, KAFKA_SSL_KEYFILE=encrypted)
    assert security(**env, KAFKA_SSL_KEY_PASSWORD="secret").ssl_context() is not None
    with pytest.raises(SettingsError, match="cannot use the KAFKA_SSL_"):
        security(**env, KAFKA_SSL_KEY_PASSWORD="wrong").ssl_context()


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_plaintext_logs_in_without_tls(mechanism):
    sec = security(
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM=mechanism,
        KAFKA_SASL_USERNAME="rotation",
        KAFKA_SASL_PASSWORD="s3cret",
    )
    assert kafka_client_kwargs(BOOTSTRAP, sec) == {
        "bootstrap_servers": BOOTSTRAP,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "rotation",
        "sasl_plain_password": "s3cret",
    }
    credentials = faust_broker_credentials(sec)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol is AuthProtocol.SASL_PLAINTEXT
    assert credentials.mechanism is SASLMechanism(mechanism)
    assert (credentials.username, credentials.password) == ("rotation", "s3cret")
    assert credentials.ssl_context is None


def test_sasl_ssl_logs_in_over_tls():
    sec = security(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM="scram-sha-512",
        KAFKA_SASL_USERNAME="rotation",
        KAFKA_SASL_PASSWORD="s3cret",
        KAFKA_SSL_CAFILE=CA,
    )
    kwargs = kafka_client_kwargs(BOOTSTRAP, sec)
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    credentials = faust_broker_credentials(sec)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol is AuthProtocol.SASL_SSL
    assert credentials.mechanism is SASLMechanism.SCRAM_SHA_512
    assert isinstance(credentials.ssl_context, ssl.SSLContext)


def test_faust_hands_our_credentials_to_aiokafka_as_our_own_kwargs():
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    sec = security(
        KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        KAFKA_SASL_MECHANISM="SCRAM-SHA-256",
        KAFKA_SASL_USERNAME="u",
        KAFKA_SASL_PASSWORD="p",
        KAFKA_SSL_CAFILE=CA,
    )
    faust_side = credentials_to_aiokafka_auth(faust_broker_credentials(sec))
    ours = kafka_client_kwargs(BOOTSTRAP, sec)
    for key in (
        "security_protocol",
        "sasl_mechanism",
        "sasl_plain_username",
        "sasl_plain_password",
    ):
        assert faust_side[key] == ours[key]


def test_the_faust_app_gets_the_credentials(monkeypatch):
    from agents.app import create_app
    from rotation.config import load_universe

    for name, value in {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_USERNAME": "u",
        "KAFKA_SASL_PASSWORD": "p",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app(settings_from_env("127.0.0.1:9"), load_universe())
    assert isinstance(app.conf.broker_credentials, faust.SASLCredentials)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "expected one of PLAINTEXT, SSL"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs KAFKA_SASL_USERNAME"),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "KAFKA_SASL_MECHANISM": "GSSAPI",
                "KAFKA_SASL_USERNAME": "u",
                "KAFKA_SASL_PASSWORD": "p",
            },
            "KAFKA_SASL_MECHANISM='GSSAPI'",
        ),
        ({"KAFKA_SSL_CAFILE": CA}, "does not use TLS"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": "/nope.pem"}, "no such file"),
        ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_KEYFILE": KEY}, "needs KAFKA_SSL_CERTFILE"),
    ],
)
def test_unusable_settings_are_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        security(**env)


def test_the_password_never_shows_in_a_repr():
    sec = security(
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_SASL_USERNAME="u", KAFKA_SASL_PASSWORD="pw"
    )
    assert "pw" not in repr(sec) and "pw" not in repr(faust_broker_credentials(sec))
