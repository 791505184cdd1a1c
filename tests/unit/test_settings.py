from __future__ import annotations

import pytest

from mayachat.kafka_config import client_config, consumer_config, producer_config
from mayachat.settings import ConfigError, SaslMechanism, load_settings

SEED_VARS = (
    "KAFKA_BROKERS",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SSL_ENABLED",
    "KAFKA_SSL_REJECT_UNAUTHORIZED",
    "KAFKA_SSL_CA_LOCATION",
    "KAFKA_TOPIC_CHAT_MESSAGES",
    "KAFKA_TOPIC_MESSAGE_PERSISTENCE",
    "KAFKA_CONSUMER_GROUP_ID",
    "MONGODB_URI",
    "REDIS_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SEED_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults_point_at_the_local_stack() -> None:
    settings = load_settings()
    assert settings.kafka_brokers == "127.0.0.1:9092"
    assert settings.kafka_topic_chat_messages == "chat-messages"
    assert settings.kafka_topic_message_persistence == "message-persistence"
    assert settings.mongodb_uri.startswith("mongodb://127.0.0.1:27017/")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert client_config(settings)["security.protocol"] == "PLAINTEXT"


def test_seed_topic_and_group_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_TOPIC_CHAT_MESSAGES", "your-chat-messages-topic")
    monkeypatch.setenv("KAFKA_TOPIC_MESSAGE_PERSISTENCE", "your-message-persistence-topic")
    monkeypatch.setenv("KAFKA_CONSUMER_GROUP_ID", "your-consumer-group")
    settings = load_settings()
    assert settings.kafka_topic_chat_messages == "your-chat-messages-topic"
    assert settings.kafka_topic_message_persistence == "your-message-persistence-topic"
    assert consumer_config(settings)["group.id"] == "your-consumer-group"


def test_confluent_cloud_as_in_the_seed_guide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BROKERS", "pkc-xxxxx.us-east-1.aws.confluent.cloud:9092")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "your_api_key")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "your_api_secret")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "plain")
    monkeypatch.setenv("KAFKA_SSL_ENABLED", "true")
    monkeypatch.setenv("KAFKA_SSL_REJECT_UNAUTHORIZED", "false")
    conf = client_config(load_settings())
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.mechanism"] == "PLAIN"
    assert (conf["sasl.username"], conf["sasl.password"]) == ("your_api_key", "your_api_secret")
    assert conf["enable.ssl.certificate.verification"] is False


def test_a_private_ca_is_trusted_for_tls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SSL_CA_LOCATION", "/etc/kafka/ca.pem")
    assert "ssl.ca.location" not in client_config(load_settings())  # PLAINTEXT: no TLS
    monkeypatch.setenv("KAFKA_SSL_ENABLED", "true")
    assert client_config(load_settings())["ssl.ca.location"] == "/etc/kafka/ca.pem"


def test_azure_event_hubs_connection_string_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BROKERS", "your-namespace.servicebus.windows.net:9093")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "$ConnectionString")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "Endpoint=sb://your-namespace/;SharedAccessKey=k")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("KAFKA_SSL_ENABLED", "true")
    conf = client_config(load_settings())
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.username"] == "$ConnectionString"
    assert "enable.ssl.certificate.verification" not in conf  # verify by default


@pytest.mark.parametrize(
    ("value", "expected"), [("scram-sha-256", "SCRAM-SHA-256"), ("scram-sha-512", "SCRAM-SHA-512")]
)
def test_scram_without_tls(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", value)
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "u")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "p")
    conf = client_config(load_settings())
    assert (conf["security.protocol"], conf["sasl.mechanism"]) == ("SASL_PLAINTEXT", expected)


def test_msk_iam_uses_an_oauthbearer_callback_in_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    calls: list[str] = []

    def fake_token(region: str) -> tuple[str, int]:
        calls.append(region)
        return "signed-token", 1_700_000_900_000  # the signer answers in milliseconds

    monkeypatch.setattr(MSKAuthTokenProvider, "generate_auth_token", staticmethod(fake_token))
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "aws_msk_iam")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    settings = load_settings()
    assert settings.kafka_sasl_mechanism is SaslMechanism.AWS_MSK_IAM
    conf = client_config(settings)
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.mechanism"] == "OAUTHBEARER"
    assert conf["oauth_cb"](None) == ("signed-token", 1_700_000_900.0)
    assert calls == ["eu-west-1"]


def test_producer_never_loses_or_duplicates_an_acked_record() -> None:
    conf = producer_config(load_settings())
    assert conf["enable.idempotence"] is True
    assert conf["acks"] == "all"


def test_consumer_commits_only_explicitly() -> None:
    assert consumer_config(load_settings())["enable.auto.commit"] is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KAFKA_SASL_MECHANISM", "kerberos"),
        ("KAFKA_SSL_ENABLED", "maybe"),
        ("KAFKA_BROKERS", "no-port-here"),
        ("MONGODB_URI", "postgres://x"),
        ("REDIS_URL", "http://x"),
    ],
)
def test_an_invalid_value_fails_fast_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_sasl_without_credentials_names_the_missing_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "plain")
    with pytest.raises(ConfigError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        client_config(load_settings())
