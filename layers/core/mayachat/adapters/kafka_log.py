"""The event log on Kafka: an idempotent, acks=all producer that waits for its delivery report.

One producer per container, created at cold start. It is polled at every append so librdkafka
serves its callbacks, the MSK IAM token refresh among them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from mayachat.ports import LogPosition, LogRecord, LogUnavailable
from mayachat.tracing import traced_calls

logger = Logger(child=True)


@traced_calls("kafka")
class KafkaEventLog:
    def __init__(self, config: dict[str, Any], delivery_timeout_s: float = 5.0) -> None:
        # librdkafka gives up on a record itself before we stop waiting for it.
        self._timeout = delivery_timeout_s
        # A refused password or an untrusted certificate never heals by waiting: say so, and
        # which variables to check, at once rather than after the delivery timeout.
        self._misconfigured: str | None = None
        conf = {
            **config,
            "delivery.timeout.ms": int(delivery_timeout_s * 1000),
            "error_cb": self._on_error,
        }
        self._producer = Producer(conf)
        logger.info(
            "Kafka producer connected",
            extra={
                "brokers": config.get("bootstrap.servers"),
                "securityProtocol": config.get("security.protocol"),
                "saslMechanism": config.get("sasl.mechanism"),
            },
        )

    def append(self, record: LogRecord) -> LogPosition:
        return self.start(record).wait()

    def start(self, record: LogRecord) -> _InFlight:
        outcome: list[tuple[KafkaError | None, Message]] = []
        self._producer.poll(0)
        try:
            self._producer.produce(
                record.topic,
                key=record.key.encode() if isinstance(record.key, str) else record.key,
                value=record.value,
                headers=[(k, v.encode()) for k, v in record.headers.items()],
                on_delivery=lambda err, msg: outcome.append((err, msg)),
            )
        except (BufferError, KafkaException) as exc:
            raise LogUnavailable(f"produce refused: {exc}") from exc
        return _InFlight(self, record.topic, outcome)

    def _await(self, topic: str, outcome: list[tuple[KafkaError | None, Message]]) -> LogPosition:
        deadline = time.monotonic() + self._timeout + 1
        while not outcome and time.monotonic() < deadline:
            self._producer.poll(0.05)
            if self._misconfigured and not outcome:
                raise LogUnavailable(self._misconfigured)
        if not outcome:
            raise LogUnavailable(f"no delivery report within {self._timeout:.0f}s")
        error, msg = outcome[0]
        if error is not None:
            raise LogUnavailable(f"delivery failed: {error}")
        self._misconfigured = None
        return LogPosition(topic=topic, partition=msg.partition() or 0, offset=msg.offset() or 0)

    def _on_error(self, error: KafkaError) -> None:
        """librdkafka's client-level errors (it retries the connection by itself)."""
        if error.code() == KafkaError._AUTHENTICATION:
            self._misconfigured = (
                "Kafka refused the credentials: check KAFKA_SASL_MECHANISM, "
                f"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD ({error.str()})"
            )
        elif error.code() == KafkaError._SSL:
            self._misconfigured = (
                "TLS to Kafka failed: check KAFKA_SSL_ENABLED, KAFKA_SSL_CA_LOCATION and "
                f"KAFKA_SSL_REJECT_UNAUTHORIZED ({error.str()})"
            )
        else:
            return
        logger.error("Kafka client misconfigured", extra={"error": self._misconfigured})

    def close(self, timeout_s: float = 5.0) -> None:
        self._producer.flush(timeout_s)


@dataclass(frozen=True)
class _InFlight:
    log: KafkaEventLog
    topic: str
    outcome: list[tuple[KafkaError | None, Message]]  # its delivery report, once served

    def wait(self) -> LogPosition:
        return self.log._await(self.topic, self.outcome)
