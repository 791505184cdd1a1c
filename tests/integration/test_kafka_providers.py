"""The seed's Kafka providers, each configured by its environment variables, against the local
broker's SASL_SSL listener (a CA of the stack's own): SASL PLAIN over TLS (Confluent Cloud,
Azure Event Hubs), SCRAM-SHA-512, and OAUTHBEARER through the same `oauth_cb` plumbing as MSK
IAM. Only AWS can check the IAM signature itself: the local broker validates unsecured
tokens."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from mayachat import kafka_config
from mayachat.adapters.kafka_log import KafkaEventLog
from mayachat.kafka_config import consumer_config, producer_config
from mayachat.ports import LogRecord, LogUnavailable
from mayachat.settings import load_settings
from mayachat_local.config import StackConfig
from mayachat_local.services.kafka import SASL_PASSWORD, SASL_USER, KafkaService

TOPIC = "chat-messages"
Env = Callable[..., None]


@pytest.fixture
def secure(kafka_brokers: str, stack_config: StackConfig) -> tuple[str, str]:
    """(the SASL_SSL listener, the CA that signed its certificate)."""
    service = KafkaService(stack_config)
    ca = service.tls_dir / "ca.pem"
    if not ca.exists():  # a broker reused from elsewhere: its CA is not ours to read
        pytest.skip(f"Kafka was not started by this stack: no {ca}")
    return service.secure_endpoint, str(ca)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Env:
    """Set the app's variables (only these: the rest from a clean slate)."""
    for name in (
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SSL_ENABLED",
        "KAFKA_SSL_CA_LOCATION",
        "KAFKA_SSL_REJECT_UNAUTHORIZED",
    ):
        monkeypatch.delenv(name, raising=False)

    def setenv(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return setenv


def round_trip() -> bytes:
    """Append a record as the functions do, then read it back at its offset."""
    settings = load_settings()
    log = KafkaEventLog(producer_config(settings), delivery_timeout_s=5)
    value = uuid.uuid4().hex.encode()
    position = log.append(LogRecord(TOPIC, "room-tls", value, {"eventType": "test"}))
    log.close()
    consumer = Consumer(consumer_config(settings, group_id=f"tls-{uuid.uuid4().hex[:8]}"))
    consumer.assign([TopicPartition(TOPIC, position.partition, position.offset)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                assert message.value() == value
                return value
        raise AssertionError("the record was not read back")
    finally:
        consumer.close()


def sasl_over_tls(env: Env, brokers: str, mechanism: str = "plain", **more: str) -> None:
    """The seed's variables for SASL over TLS (Confluent Cloud's, with the password given)."""
    env(
        KAFKA_BROKERS=brokers,
        KAFKA_SASL_MECHANISM=mechanism,
        KAFKA_SASL_USERNAME=SASL_USER,
        KAFKA_SSL_ENABLED="true",
        **{"KAFKA_SASL_PASSWORD": SASL_PASSWORD, **more},
    )


def refusal() -> str:
    log = KafkaEventLog(producer_config(load_settings()), delivery_timeout_s=5)
    with pytest.raises(LogUnavailable) as refused:
        log.append(LogRecord(TOPIC, "room-tls", b"x", {}))
    return str(refused.value)


@pytest.mark.parametrize("mechanism", ["plain", "SCRAM-SHA-512"])
def test_sasl_over_tls_with_the_seeds_variables(
    mechanism: str, secure: tuple[str, str], env: Env
) -> None:
    brokers, ca = secure
    sasl_over_tls(env, brokers, mechanism, KAFKA_SSL_CA_LOCATION=ca)
    assert round_trip()


def test_a_wrong_password_is_a_clear_error_naming_the_variables(
    secure: tuple[str, str], env: Env
) -> None:
    brokers, ca = secure
    sasl_over_tls(env, brokers, KAFKA_SSL_CA_LOCATION=ca, KAFKA_SASL_PASSWORD="not-it")
    message = refusal()
    assert "KAFKA_SASL_PASSWORD" in message
    assert "Authentication failed" in message


def test_an_untrusted_certificate_is_refused_unless_verification_is_off(
    secure: tuple[str, str], env: Env
) -> None:
    brokers, _ = secure
    sasl_over_tls(env, brokers)  # no KAFKA_SSL_CA_LOCATION: the local CA is not trusted
    message = refusal()
    assert "KAFKA_SSL_CA_LOCATION" in message
    assert "certificate verify failed" in message

    env(KAFKA_SSL_REJECT_UNAUTHORIZED="false")  # the seed's escape hatch
    assert round_trip()


def unsecured_token(subject: str, lifetime_s: float = 300) -> tuple[str, float]:
    """An unsigned JWT (alg none), what Kafka's unsecured validator accepts."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = time.time()
    claims = {"sub": subject, "iat": int(now), "exp": int(now + lifetime_s)}
    return f"{part({'alg': 'none'})}.{part(claims)}.", now + lifetime_s


def test_oauthbearer_through_the_msk_iam_plumbing(
    secure: tuple[str, str], env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KAFKA_SASL_MECHANISM=aws_msk_iam builds SASL_SSL + OAUTHBEARER with an oauth_cb; here
    the callback mints local tokens instead of signing with the function's role."""
    brokers, ca = secure
    calls: list[str | None] = []

    def local_provider(region: str) -> Callable[[str | None], tuple[str, float]]:
        def token(config: str | None) -> tuple[str, float]:
            calls.append(region)
            return unsecured_token("mayachat-function")

        return token

    monkeypatch.setattr(kafka_config, "msk_iam_oauth_callback", local_provider)
    env(
        KAFKA_BROKERS=brokers,
        KAFKA_SASL_MECHANISM="aws_msk_iam",
        KAFKA_SSL_CA_LOCATION=ca,
        AWS_REGION="eu-west-1",
    )
    assert round_trip()
    assert calls
    assert set(calls) == {"eu-west-1"}  # the function's region, as the signer gets it
