"""confluent-kafka (librdkafka) client settings for every provider the original Node.js
backend supported (local, Confluent Cloud, MSK IAM, Azure Event Hubs).

- local Kafka / Redpanda:          no SASL, PLAINTEXT
- Confluent Cloud, Azure Event Hubs: SASL PLAIN over TLS (Event Hubs: user `$ConnectionString`)
- self-managed with SCRAM:          SASL SCRAM-SHA-256/512
- Amazon MSK with IAM:              SASL OAUTHBEARER with a token from aws-msk-iam-sasl-signer
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mayachat.settings import ConfigError, SaslMechanism, Settings

OAuthCallback = Callable[[str | None], tuple[str, float]]

_LIBRDKAFKA_MECHANISM = {
    SaslMechanism.PLAIN: "PLAIN",
    SaslMechanism.SCRAM_SHA_256: "SCRAM-SHA-256",
    SaslMechanism.SCRAM_SHA_512: "SCRAM-SHA-512",
}


def msk_iam_oauth_callback(region: str) -> OAuthCallback:
    """librdkafka's `oauth_cb`: a fresh MSK IAM token, with its expiry in seconds.

    librdkafka calls it on the client's poll/flush; the signer library returns milliseconds.
    """

    def _token(_oauthbearer_config: str | None) -> tuple[str, float]:
        # Imported here: only MSK IAM deployments pay for botocore's signer at first connect.
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return token, expiry_ms / 1000

    return _token


def client_config(settings: Settings) -> dict[str, Any]:
    """Connection and security settings shared by producers, consumers and admin clients."""
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_brokers,
        "client.id": settings.kafka_client_id,
    }
    mechanism = settings.kafka_sasl_mechanism
    if mechanism is None:
        conf["security.protocol"] = "SSL" if settings.kafka_ssl_enabled else "PLAINTEXT"
    elif mechanism is SaslMechanism.AWS_MSK_IAM:
        # MSK serves IAM auth on its TLS listener only (port 9098), so TLS is implied.
        conf["security.protocol"] = "SASL_SSL"
        conf["sasl.mechanism"] = "OAUTHBEARER"
        conf["oauth_cb"] = msk_iam_oauth_callback(settings.aws_region)
    else:
        if not settings.kafka_sasl_username or not settings.kafka_sasl_password:
            raise ConfigError(
                f"KAFKA_SASL_MECHANISM={mechanism.value} needs KAFKA_SASL_USERNAME "
                "and KAFKA_SASL_PASSWORD"
            )
        conf["security.protocol"] = "SASL_SSL" if settings.kafka_ssl_enabled else "SASL_PLAINTEXT"
        conf["sasl.mechanism"] = _LIBRDKAFKA_MECHANISM[mechanism]
        conf["sasl.username"] = settings.kafka_sasl_username
        conf["sasl.password"] = settings.kafka_sasl_password
    if conf["security.protocol"].endswith("SSL"):
        if settings.kafka_ssl_ca_location:
            conf["ssl.ca.location"] = settings.kafka_ssl_ca_location
        if not settings.kafka_ssl_reject_unauthorized:
            # The seed's KAFKA_SSL_REJECT_UNAUTHORIZED=false: accept an unverified broker cert.
            conf["enable.ssl.certificate.verification"] = False
    return conf


def producer_config(settings: Settings) -> dict[str, Any]:
    """A producer that never loses or duplicates an acked record: idempotent, acks=all."""
    return {
        **client_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 0,
        "compression.type": "lz4",
    }


def consumer_config(settings: Settings, group_id: str | None = None) -> dict[str, Any]:
    """A group consumer that commits only what the caller says it has processed."""
    return {
        **client_config(settings),
        "group.id": group_id or settings.kafka_consumer_group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    }
