"""One typed settings object, read from the environment, with defaults for the local stack.

The variable names are the original Node.js backend's (KAFKA_BROKERS, KAFKA_SASL_*,
KAFKA_SSL_*, the topic and group variables, MONGODB_URI, REDIS_URL), so an existing `.env`
keeps working. AWS endpoints are
not settings: boto3 reads AWS_ENDPOINT_URL itself, which is how moto or LocalStack are reached.
"""

from __future__ import annotations

import operator
import os
from dataclasses import Field, dataclass, field, fields
from enum import StrEnum
from functools import cache
from typing import Any


class SaslMechanism(StrEnum):
    PLAIN = "plain"
    SCRAM_SHA_256 = "scram-sha-256"
    SCRAM_SHA_512 = "scram-sha-512"
    AWS_MSK_IAM = "aws_msk_iam"


class ConfigError(ValueError):
    """A variable in the environment has a value the service cannot run with."""


def _bounded(default: float, **bounds: float) -> Any:
    """A numeric setting and its bounds (ge, gt, le), checked when Settings is built."""
    return field(default=default, metadata=bounds)


@dataclass(frozen=True)
class Settings:
    """Each field is read from the variable of the same name in upper case.

    A dataclass filled from os.environ, not pydantic (nor pydantic-settings): importing
    pydantic and building this model cost each function ~0.1 s of cold start, and the
    functions that read no frames ($connect, $disconnect, $default, the authorizer) need
    pydantic for nothing else. The few conversions environment strings need are below.
    """

    # Kafka: the original Node.js backend's variables, unchanged.
    kafka_brokers: str = "127.0.0.1:9092"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_ssl_enabled: bool = False
    kafka_ssl_reject_unauthorized: bool = True
    # A PEM file of the CA that signed the brokers' certificates, when it is not a public one
    # (the local broker's; a self-managed cluster's). Cloud providers need none.
    kafka_ssl_ca_location: str | None = None
    kafka_topic_chat_messages: str = "chat-messages"
    kafka_topic_message_persistence: str = "message-persistence"
    kafka_topic_dead_letter: str = "chat-dead-letter"
    # Presence changes (mayachat.presence_push): connects, disconnects, hiding it.
    kafka_topic_presence: str = "chat-presence"
    # Records that can never be stored go to this SQS queue when set, else to the topic above.
    dead_letter_queue_url: str | None = None
    kafka_consumer_group_id: str = "mayachat-persist"
    kafka_client_id: str = "mayachat"

    mongodb_uri: str = "mongodb://127.0.0.1:27017/mayachat"
    # Used only when MONGODB_URI names no database.
    mongodb_database: str = "mayachat"
    # In AWS the URI lives in Secrets Manager: when set, this ARN/name wins over MONGODB_URI.
    mongodb_secret_id: str | None = None

    redis_url: str = "redis://127.0.0.1:6379/0"
    # ElastiCache Serverless (and any cluster-mode-enabled Redis/Valkey) needs the cluster client:
    # it follows MOVED redirects and routes each key by its slot. Every key carries a {hash
    # tag}, so each Lua script and transaction stays in one slot either way.
    redis_cluster: bool = False
    # In AWS the functions' ElastiCache user lives in Secrets Manager ({"username","password"}):
    # when set, the client authenticates as it (infra/aws/services.yaml makes both).
    redis_secret_id: str | None = None

    aws_region: str = "us-east-1"
    # Metrics (mayachat.metrics): CloudWatch namespace and dimensions. The first two are
    # Powertools' own variables; the stage keeps several stages in one account apart.
    powertools_metrics_namespace: str = "MayaChat"
    powertools_service_name: str = "mayachat"
    stage_name: str = "local"
    # X-Ray subsegments (mayachat.tracing): Powertools' variable; off unless set to false.
    powertools_trace_disabled: bool = True

    # Tokens: in AWS the issuer's JWKS (RS256, e.g. Cognito); locally an HS256 dev secret.
    jwt_issuer: str = "mayachat-local"
    jwt_audience: str = "mayachat"
    jwt_jwks_url: str | None = None
    jwt_dev_secret: str | None = None

    # Push notifications (mayachat.notify): the SNS platform application of each platform
    # (template parameters); a platform without one is not pushed to. The notify function
    # reads the chat-messages topic with a consumer group of its own (mayachat-notify, set
    # on its mapping in template.yaml).
    push_fcm_application_arn: str | None = None
    push_apns_application_arn: str | None = None
    push_apns_sandbox_application_arn: str | None = None

    # Attachments (mayachat.attachments): the bucket (template.yaml's AttachmentsBucket; the
    # local one is made by the local AWS server), the most bytes one may have, the types
    # accepted (comma-separated) and how long a presigned upload or download URL works.
    attachments_bucket: str = "mayachat-attachments"
    # 5 GiB at most: the largest object one POST can store.
    attachment_max_bytes: int = _bounded(25 * 1024 * 1024, ge=1, le=5 * 1024**3)
    attachment_types: str = (
        "image/jpeg,image/png,image/gif,image/webp,image/heic,application/pdf,text/plain,"
        "audio/mpeg,audio/mp4,video/mp4,application/zip"
    )
    attachment_url_seconds: int = _bounded(300, ge=10, le=7 * 24 * 3600)

    # Where route functions post frames to connections (API Gateway Management API):
    # https://{api-id}.execute-api.{region}.amazonaws.com/{stage} in AWS, the emulator locally.
    websocket_management_endpoint: str | None = None

    # Protocol limits.
    max_text_length: int = _bounded(4000, ge=1, le=30_000)
    max_frame_bytes: int = _bounded(32 * 1024, ge=1024, le=128 * 1024)
    sync_page_size: int = _bounded(100, ge=1, le=500)
    # Token buckets (mayachat.limits): a burst, refilled per second. Frames per connection...
    rate_limit_burst: int = _bounded(30, ge=1)
    rate_limit_per_second: float = _bounded(10.0, gt=0)
    # ...and over all of a user's connections, so N sockets do not give N times the rate.
    user_rate_limit_burst: int = _bounded(60, ge=1)
    user_rate_limit_per_second: float = _bounded(20.0, gt=0)
    # $connect attempts per user, and open connections per user (refused at the handshake).
    connect_rate_limit_burst: int = _bounded(20, ge=1)
    connect_rate_limit_per_second: float = _bounded(1.0, gt=0)
    max_connections_per_user: int = _bounded(10, ge=1)
    # A connection with this many strikes (one per refused frame, one forgiven a second: it
    # does not wait the retryAfterMs it is told) is closed, and its user's connection
    # attempts are refused for the penalty: a flood ends in a second or two, instead of
    # costing an invocation per frame.
    rate_limit_close_after: int = _bounded(30, ge=1)
    rate_limit_reconnect_penalty_seconds: float = _bounded(10.0, ge=0)
    # REST calls per user.
    rest_rate_limit_burst: int = _bounded(60, ge=1)
    rest_rate_limit_per_second: float = _bounded(10.0, gt=0)
    # A resend with the same clientMsgId within this window gets the first ack back; after it
    # the same clientMsgId is a new message.
    idempotency_ttl_seconds: int = _bounded(24 * 3600, ge=60)
    # A seq whose message the log has not confirmed is given up after this long (catch-up
    # waits for it until then). Longer than any send waits for Kafka (5 s), with a margin.
    seq_abandon_seconds: float = _bounded(30.0, ge=10)
    # How long a room's member list is cached in Redis before MongoDB is asked again.
    membership_cache_seconds: int = _bounded(300, ge=1)
    # Edits, deletions and reactions (mayachat.message_actions): a sender edits a text
    # message for this long after sending it...
    edit_window_seconds: int = _bounded(15 * 60, ge=0)
    # ...a message carries at most this many kinds of reaction, a user this many of them.
    max_reaction_kinds: int = _bounded(20, ge=1, le=100)
    max_reactions_per_user: int = _bounded(10, ge=1, le=100)
    # A message's facts stay in Redis this long after its send or last change (~200 bytes
    # each); older ones are read again from MongoDB when changed. Longer than persist lags.
    message_state_ttl_seconds: int = _bounded(24 * 3600, ge=300)

    # Presence (mayachat.presence): changes are pushed once they have held this long (a
    # phone between networks makes no pushes), to rooms of at most this many members (0: no
    # pushes; members ask). PRESENCE_ENABLED=false: no presence records at all.
    presence_enabled: bool = True
    presence_debounce_seconds: float = _bounded(10.0, ge=0, le=60)
    presence_push_max_members: int = _bounded(100, ge=0, le=10_000)

    def __post_init__(self) -> None:
        problems = [f"{f.name.upper()}: {msg}" for f in fields(self) if (msg := _check(self, f))]
        if problems:
            raise ConfigError(f"invalid configuration: {'; '.join(problems)}")
        brokers = [b.strip() for b in self.kafka_brokers.split(",") if b.strip()]
        object.__setattr__(self, "kafka_brokers", ",".join(brokers))


def _check(s: Settings, f: Field[Any]) -> str | None:
    """What is wrong with one field's value, if anything."""
    name, value = f.name, getattr(s, f.name)
    if name == "kafka_brokers":
        brokers = [b.strip() for b in value.split(",") if b.strip()]
        if not brokers or any(":" not in b for b in brokers):
            return "expected host:port[,host:port...], e.g. localhost:9092"
    elif name == "jwt_dev_secret" and value is not None and len(value.encode()) < 32:
        return "an HS256 secret needs at least 32 bytes"
    elif name == "mongodb_uri" and not value.startswith(("mongodb://", "mongodb+srv://")):
        return "expected a mongodb:// or mongodb+srv:// URI"
    elif name == "redis_url" and not value.startswith(("redis://", "rediss://", "unix://")):
        return "expected a redis://, rediss:// (TLS) or unix:// URL"
    for bound, holds, words in _BOUNDS:
        if bound in f.metadata and not holds(value, f.metadata[bound]):
            return f"Input should be {words} {f.metadata[bound]}"
    return None


_BOUNDS = (
    ("ge", operator.ge, "greater than or equal to"),
    ("gt", operator.gt, "greater than"),
    ("le", operator.le, "less than or equal to"),
)
# As pydantic read them (case-insensitive), so a deployed environment means the same.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _convert(kind: str, raw: str) -> object:
    """An environment string as the field's type (the annotation, as a string)."""
    optional = kind.endswith(" | None")
    kind = kind.removesuffix(" | None")
    if kind == "bool":
        if raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError("Input should be a valid boolean, unable to interpret input")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("Input should be a valid integer") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ValueError("Input should be a valid number") from None
    if kind == "SaslMechanism":
        value = raw.strip().lower()
        if optional and not value:
            return None
        try:
            return SaslMechanism(value)
        except ValueError:
            choices = ", ".join(f"'{m.value}'" for m in SaslMechanism)
            raise ValueError(f"Input should be one of {choices}") from None
    return raw


def load_settings() -> Settings:
    """Read the environment once; an invalid value fails here, naming its variable."""
    values: dict[str, object] = {}
    problems = []
    for f in fields(Settings):
        raw = os.environ.get(f.name.upper())
        if raw is None:
            continue
        try:
            values[f.name] = _convert(str(f.type), raw)
        except ValueError as exc:
            problems.append(f"{f.name.upper()}: {exc}")
    if problems:
        raise ConfigError(f"invalid configuration: {'; '.join(problems)}")
    return Settings(**values)  # type: ignore[arg-type]


@cache
def get_settings() -> Settings:
    """The process-wide settings, read at first use (once per Lambda container)."""
    return load_settings()
