"""The one place where adapters are built and services wired, once per container.

Each builder is cached, so a warm invocation reuses every client; each imports its adapter
only when called, so a function pays at cold start only for the clients its action uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from mayachat.settings import ConfigError, Settings, get_settings

if TYPE_CHECKING:
    from pymongo.database import Database
    from redis import Redis

    from mayachat.adapters.emf_metrics import EmfMetrics
    from mayachat.adapters.kafka_log import KafkaEventLog
    from mayachat.adapters.mongo_presence import MongoPresenceStore
    from mayachat.adapters.mongo_reads import MongoChatReads
    from mayachat.adapters.mongo_rooms import MongoRooms
    from mayachat.adapters.s3_attachments import S3Attachments
    from mayachat.adapters.sequence import RedisRoomSequences
    from mayachat.attachments import Attachments
    from mayachat.auth import TokenVerifier
    from mayachat.catch_up import CatchUp
    from mayachat.chat import (
        Connections,
        Messaging,
        Receipts,
        StablePublisher,
        Sync,
        Typing,
    )
    from mayachat.delivery import Delivery
    from mayachat.frame_gate import FrameGate
    from mayachat.limits import Limits
    from mayachat.membership import Rooms
    from mayachat.message_actions import MessageActions
    from mayachat.model import Message, Room
    from mayachat.notify import Notifier
    from mayachat.persistence import Persister
    from mayachat.ports import (
        ChatReads,
        DeadLetters,
        EventLog,
        LogPosition,
        LogRecord,
        PresenceProfile,
        RateLimiter,
        SendLog,
        Slice,
    )
    from mayachat.presence import Announcer, Presence
    from mayachat.presence_push import PresencePushes
    from mayachat.push_settings import PushSettings
    from mayachat.room_admin import RoomAdmin


def settings() -> Settings:
    return get_settings()


def reset() -> None:
    """Forget every built client and the settings (tests that change the environment)."""
    get_settings.cache_clear()
    for builder in list(globals().values()):
        clear = getattr(builder, "cache_clear", None)
        if callable(clear) and getattr(builder, "__module__", None) == __name__:
            clear()


# -- SnapStart (mayachat.snapstart registers these as its runtime hooks) -----------------------
def prepare_snapshot() -> None:
    """Before the snapshot: import what a cold start leaves to first use (the frame models and
    pydantic, botocore's signer), so no restored sandbox pays for it; then close every client
    that holds a socket or a Kafka producer id, which a snapshot would hand to many sandboxes."""
    import botocore.auth
    import botocore.awsrequest  # noqa: F401

    import mayachat.protocol  # noqa: F401  (pydantic builds each model's validator as it imports)

    close_clients()


def close_clients() -> None:
    """Close the Kafka producer (its broker-assigned producer id must be one sandbox's), Redis
    and MongoDB clients and the @connections keep-alives, then forget every built client and
    service: the next build (after_restore, or the next frame) makes new ones."""
    for log in (event_log, presence_log):
        if log.cache_info().currsize:
            cast("KafkaEventLog", log()).close()  # flushed; librdkafka is freed with it
    if redis_client.cache_info().currsize:
        redis_client().close()
    if mongo_database.cache_info().currsize:
        mongo_database().client.close()
    reset()


def after_restore() -> None:
    """After a restore: each sandbox reseeds `random` (backoff jitter, a copy of one state in
    every sandbox otherwise); settings are read again (SnapStart refreshes credentials)."""
    import random

    random.seed()
    reset()


def transient_errors() -> tuple[type[Exception], ...]:
    """What a backing store raises while it is down, restarting or failing over: answered
    as retryable (`unavailable`, 503), never as a bug. MongoDB's only once pymongo is in use."""
    import sys

    from redis import exceptions as redis_errors

    errors: tuple[type[Exception], ...] = (
        redis_errors.ConnectionError,
        redis_errors.TimeoutError,
        redis_errors.ReadOnlyError,  # a write reached a replica mid-failover
        redis_errors.TryAgainError,
        redis_errors.ClusterDownError,
    )
    if "pymongo" in sys.modules:
        from pymongo.errors import ConnectionFailure

        errors += (ConnectionFailure,)
    return errors


# -- clients -------------------------------------------------------------------------------
@cache
def redis_client() -> Redis:
    """Fails fast: a command takes well under a millisecond, so a second without an answer
    means Redis is down or failing over. redis-py's default (10 retries with backoff) would
    hold a frame for half a minute; two quick retries ride out a dropped connection, then
    the client hears `unavailable` and resends."""
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.retry import Retry

    options: dict[str, Any] = {
        "socket_timeout": 1,
        "socket_connect_timeout": 1,
        "health_check_interval": 30,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.25), retries=2),
        **redis_credentials(settings()),
    }
    if settings().redis_cluster:
        from redis import exceptions as redis_errors
        from redis.cluster import RedisCluster

        # Not a Redis subclass, but it serves every command the adapters send (single-slot
        # keys, scripts, pipelines). It reads the cluster's slot map when it is built, and
        # when no node answers says so with RedisClusterException: as transient as the
        # ConnectionError behind it, so raised as one (a retryable `unavailable`).
        try:
            return cast("Redis", RedisCluster.from_url(settings().redis_url, **options))
        except redis_errors.RedisClusterException as exc:
            unreachable = (redis_errors.ConnectionError, redis_errors.TimeoutError)
            if isinstance(exc.__cause__, unreachable):
                raise redis_errors.ConnectionError(str(exc)) from exc
            raise
    from redis import Redis

    return Redis.from_url(settings().redis_url, **options)


@cache
def mongo_database() -> Database[dict[str, Any]]:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(
        mongodb_uri(settings()),
        appname="mayachat",
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=3000,
    )
    return client.get_default_database(default=settings().mongodb_database)


@cache
def indexed_database() -> Database[dict[str, Any]]:
    """The database with every index ensured: one round trip per index, once per container,
    so any deployment initialises itself. Only the functions that query by those indexes
    (persist, REST) pay for it; the route functions never need it at cold start."""
    from mayachat.adapters.mongo_schema import ensure_indexes

    database = mongo_database()
    ensure_indexes(database)
    return database


def fresh_database() -> Database[dict[str, Any]]:
    """After MongoDB refused the credentials (a rotated secret): read the secret again and
    build a new client; the old one is closed."""
    if settings().mongodb_secret_id:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]
    if mongo_database.cache_info().currsize:
        mongo_database().client.close()
    mongo_database.cache_clear()
    indexed_database.cache_clear()
    return indexed_database()


def redis_credentials(s: Settings) -> dict[str, str]:
    """The ElastiCache user REDIS_SECRET_ID names, as client options; none when unset (then
    credentials, if any, come in REDIS_URL, as locally)."""
    if not s.redis_secret_id:
        return {}
    from aws_lambda_powertools.utilities import parameters

    raw = str(parameters.get_secret(s.redis_secret_id, max_age=300))
    try:
        secret = json.loads(raw)
        return {"username": str(secret["username"]), "password": str(secret["password"])}
    except (ValueError, KeyError, TypeError):
        raise ConfigError('REDIS_SECRET_ID: expected {"username": ..., "password": ...}') from None


def mongodb_uri(s: Settings) -> str:
    """MONGODB_URI, or in AWS the secret MONGODB_SECRET_ID names (a URI, or JSON with `uri`)."""
    if not s.mongodb_secret_id:
        return s.mongodb_uri
    from aws_lambda_powertools.utilities import parameters

    secret = str(parameters.get_secret(s.mongodb_secret_id, max_age=300))
    if secret.lstrip().startswith("{"):
        secret = json.loads(secret).get("uri", "")
    if not secret.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError("MONGODB_SECRET_ID: the secret holds no mongodb:// URI")
    return secret


@cache
def metrics() -> EmfMetrics:
    """The invocation's measurements; each edge handler flushes them when it returns."""
    from mayachat.adapters.emf_metrics import EmfMetrics

    s = settings()
    return EmfMetrics(s.powertools_metrics_namespace, s.powertools_service_name, s.stage_name)


@cache
def event_log() -> SendLog:
    from mayachat.adapters.kafka_log import KafkaEventLog
    from mayachat.kafka_config import producer_config

    return KafkaEventLog(producer_config(settings()))


@cache
def token_verifier() -> TokenVerifier:
    from mayachat.auth import TokenVerifier

    return TokenVerifier.from_settings(settings())


@cache
def rate_limiter() -> RateLimiter:
    from mayachat.adapters.redis_rate_limits import RedisRateLimiter

    return RedisRateLimiter(redis_client())


@cache
def limits() -> Limits:
    from mayachat.limits import Limits

    return Limits.from_settings(settings())


@cache
def frame_gate() -> FrameGate:
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.frame_gate import FrameGate

    return FrameGate(rate_limiter(), limits(), metrics(), RedisConnectionRegistry(redis_client()))


@cache
def presence_log() -> EventLog:
    """The presence topic's producer: a short wait (a presence record is best effort, and a
    connect must not wait 5 s for a Kafka that is down). A container that has the message
    producer already uses it: one Kafka connection per container (MSK counts them)."""
    if event_log.cache_info().currsize:
        return event_log()
    from mayachat.adapters.kafka_log import KafkaEventLog
    from mayachat.kafka_config import producer_config

    return KafkaEventLog(producer_config(settings()), delivery_timeout_s=1.5)


@cache
def announcer() -> Announcer:
    from mayachat.presence import Announcer

    s = settings()
    # Kafka is reached (confluent_kafka imported) at the first change, not at cold start.
    return Announcer(s.kafka_topic_presence, _LazyPresenceLog() if s.presence_enabled else None)


# -- building blocks -----------------------------------------------------------------------
@cache
def delivery() -> Delivery:
    from mayachat.adapters.apigw_connections import ApiGatewayConnections
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.delivery import Delivery

    s = settings()
    if not s.websocket_management_endpoint:
        raise ConfigError(
            "WEBSOCKET_MANAGEMENT_ENDPOINT is not set (https://API.execute-api."
            "REGION.amazonaws.com/STAGE)"
        )
    posts = ApiGatewayConnections(s.websocket_management_endpoint, s.aws_region)
    return Delivery(
        RedisConnectionRegistry(redis_client()),
        posts,
        metrics(),
        wave=posts.max_concurrency,
        announcer=announcer(),
    )


@cache
def rooms() -> Rooms:
    from mayachat.adapters.redis_rooms import RedisMembershipCache
    from mayachat.membership import Rooms

    return Rooms(
        RedisMembershipCache(redis_client(), settings().membership_cache_seconds),
        _LazyRoomDirectory(),
    )


@cache
def sequences() -> RedisRoomSequences:
    """Send claims and room seqs (one Redis slot per room): the SendLedger of sendMessage,
    the SequenceAllocator of receipts and catch-up."""
    from mayachat.adapters.sequence import RedisRoomSequences

    s = settings()
    return RedisRoomSequences(
        redis_client(),
        _LazySeqReservations(),
        claim_ttl_seconds=s.idempotency_ttl_seconds,
        abandon_seconds=s.seq_abandon_seconds,
        state_ttl_seconds=s.message_state_ttl_seconds,
    )


@cache
def stable_publisher() -> StablePublisher:
    from mayachat.chat import StablePublisher

    return StablePublisher(settings().kafka_topic_chat_messages, sequences(), _LazyEventLog())


# -- services, one per route group -----------------------------------------------------------
@cache
def connections() -> Connections:
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.chat import Connections

    return Connections(
        RedisConnectionRegistry(redis_client()), rate_limiter(), limits(), metrics(), announcer()
    )


@cache
def presence() -> Presence:
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.presence import Presence

    return Presence(
        rooms(), RedisConnectionRegistry(redis_client()), _LazyPresenceStore(), announcer()
    )


@cache
def presence_pushes() -> PresencePushes:
    from mayachat.adapters.mongo_presence import MongoPresenceStore
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.presence_push import PresencePushes

    s = settings()
    return PresencePushes(
        registry=RedisConnectionRegistry(redis_client()),
        # Looked up by _id and by rooms' members index (persist and REST ensure it).
        store=MongoPresenceStore(mongo_database()),
        delivery=delivery(),
        metrics=metrics(),
        debounce_seconds=s.presence_debounce_seconds,
        max_members=s.presence_push_max_members,
    )


@cache
def messaging() -> Messaging:
    from mayachat.chat import Messaging

    return Messaging(
        topic=settings().kafka_topic_chat_messages,
        rooms=rooms(),
        ledger=sequences(),
        log=event_log(),
        delivery=delivery(),
        metrics=metrics(),
    )


@cache
def message_actions() -> MessageActions:
    from mayachat.adapters.redis_message_states import RedisMessageStates
    from mayachat.message_actions import ChangeRules, MessageActions

    s = settings()
    return MessageActions(
        topic=s.kafka_topic_chat_messages,
        rooms=rooms(),
        seqs=sequences(),
        states=RedisMessageStates(redis_client(), s.message_state_ttl_seconds),
        lookup=_LazyMessageLookup(),
        log=event_log(),
        delivery=delivery(),
        metrics=metrics(),
        rules=ChangeRules(
            edit_window_ms=s.edit_window_seconds * 1000,
            max_reaction_kinds=s.max_reaction_kinds,
            max_reactions_per_user=s.max_reactions_per_user,
        ),
    )


@cache
def typing_indicators() -> Typing:
    from mayachat.chat import Typing

    return Typing(rooms(), delivery())


@cache
def receipts() -> Receipts:
    from mayachat.adapters.redis_rooms import RedisCursors
    from mayachat.chat import Receipts

    return Receipts(
        topic=settings().kafka_topic_message_persistence,
        rooms=rooms(),
        sequences=sequences(),
        cursors=RedisCursors(redis_client()),
        log=event_log(),
        delivery=delivery(),
    )


@cache
def sync() -> Sync:
    from mayachat.chat import Sync

    return Sync(
        rooms=rooms(),
        archive=_LazyArchive(),
        stable=stable_publisher(),
        delivery=delivery(),
        limiter=rate_limiter(),
        limits=limits(),
        page_size=settings().sync_page_size,
    )


@cache
def persister() -> Persister:
    from mayachat.adapters.mongo_store import MongoMessageStore
    from mayachat.persistence import Persister

    s = settings()
    return Persister(
        messages_topic=s.kafka_topic_chat_messages,
        events_topic=s.kafka_topic_message_persistence,
        store=MongoMessageStore(indexed_database(), reconnect=fresh_database),
        dead_letters=dead_letters(),
        metrics=metrics(),
        attachments=_LazyAttachmentKeeper() if s.attachments_bucket else None,
    )


@cache
def notifier() -> Notifier:
    import boto3

    from mayachat.adapters.mongo_push import MongoDevices, MongoPushLedger, MongoPushPreferences
    from mayachat.adapters.redis_connections import RedisConnectionRegistry
    from mayachat.adapters.redis_rooms import RedisCursors
    from mayachat.adapters.sns_push import SnsPushSender
    from mayachat.notify import Notifier
    from mayachat.push import Platform

    s = settings()
    db = indexed_database()
    applications = {
        Platform.FCM: s.push_fcm_application_arn,
        Platform.APNS: s.push_apns_application_arn,
        Platform.APNS_SANDBOX: s.push_apns_sandbox_application_arn,
    }
    return Notifier(
        messages_topic=s.kafka_topic_chat_messages,
        reads=chat_reads(),
        connections=RedisConnectionRegistry(redis_client()),
        cursors=RedisCursors(redis_client()),
        devices=MongoDevices(db),
        preferences=MongoPushPreferences(db),
        sender=SnsPushSender(
            boto3.client("sns", region_name=s.aws_region),
            {platform: arn for platform, arn in applications.items() if arn},
        ),
        ledger=MongoPushLedger(db),
        metrics=metrics(),
    )


def dead_letters() -> DeadLetters:
    s = settings()
    if s.dead_letter_queue_url:
        import boto3

        from mayachat.adapters.dead_letters import SqsDeadLetters

        return SqsDeadLetters(
            boto3.client("sqs", region_name=s.aws_region), s.dead_letter_queue_url
        )
    from mayachat.adapters.dead_letters import KafkaDeadLetters

    return KafkaDeadLetters(event_log(), s.kafka_topic_dead_letter)


# -- REST ------------------------------------------------------------------------------------
@cache
def chat_reads() -> ChatReads:
    from mayachat.adapters.mongo_reads import MongoChatReads

    return MongoChatReads(indexed_database())


@cache
def catch_up() -> CatchUp:
    from mayachat.adapters.redis_rooms import RedisStatsCache
    from mayachat.catch_up import CatchUp

    # Statistics may be 30 s old; the $group behind them scans the room.
    stats = RedisStatsCache(redis_client(), ttl_seconds=30)
    return CatchUp(chat_reads(), receipts(), stable_publisher(), stats)


@cache
def room_admin() -> RoomAdmin:
    from mayachat.adapters.mongo_rooms import MongoRooms
    from mayachat.adapters.redis_rooms import RedisMembershipCache
    from mayachat.room_admin import RoomAdmin

    return RoomAdmin(
        chat_reads(),
        MongoRooms(indexed_database()),
        RedisMembershipCache(redis_client(), settings().membership_cache_seconds),
        # None where no WebSocket API is configured (`make room` on the command line).
        delivery() if settings().websocket_management_endpoint else None,
    )


@cache
def push_settings() -> PushSettings:
    from mayachat.adapters.mongo_push import MongoDevices, MongoPushPreferences
    from mayachat.push_settings import PushSettings

    db = indexed_database()
    return PushSettings(MongoDevices(db), MongoPushPreferences(db), chat_reads())


@cache
def attachment_store() -> S3Attachments:
    """The attachments bucket: presigned uploads and downloads (REST), keep and forget (persist)."""
    import os

    import boto3
    from botocore.config import Config

    from mayachat.adapters.s3_attachments import S3Attachments

    s = settings()
    # SigV4 always (presigned URLs of every region); virtual-hosted URLs in AWS, path-style
    # where AWS_ENDPOINT_URL points boto3 at a local server (no bucket.127.0.0.1 host there).
    local = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
    # A few seconds at most per call, three tries: the REST function has 15 s in all.
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if local else "virtual"},
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return S3Attachments(
        boto3.client("s3", region_name=s.aws_region, config=config), s.attachments_bucket
    )


@cache
def attachments() -> Attachments:
    from mayachat.attachments import AttachmentRules, Attachments

    s = settings()
    return Attachments(
        chat_reads(),
        attachment_store(),
        AttachmentRules.of(s.attachment_types.split(","), s.attachment_max_bytes),
        s.attachment_url_seconds,
    )


# -- MongoDB on first use (route functions) ---------------------------------------------------
# The WebSocket routes reach MongoDB only on a membership-cache miss, once per 1000 seqs of a
# room, or for sync: these stand-ins build the adapter (and import pymongo, ~0.1 s) on their
# first call, so most cold starts never pay for it.
class _LazyRoomDirectory:
    def members(self, room_id: str) -> tuple[frozenset[str], int] | None:
        return _mongo_rooms().members(room_id)


class _LazySeqReservations:
    def claim_block(self, room_id: str) -> int:
        from mayachat.adapters.mongo_seq_blocks import MongoSeqReservations

        return MongoSeqReservations(mongo_database()).claim_block(room_id)


class _LazyArchive:
    def after(self, room_id: str, after_seq: int, limit: int) -> tuple[Slice, int]:
        from mayachat.adapters.mongo_archive import MongoMessageArchive

        return MongoMessageArchive(mongo_database()).after(room_id, after_seq, limit)


class _LazyMessageLookup:
    """MongoDB for a message Redis no longer knows, and for a moderator's role."""

    def message(self, message_id: str) -> Message | None:
        return _mongo_reads().message(message_id)

    def room(self, room_id: str) -> Room | None:
        return _mongo_reads().room(room_id)


class _LazyAttachmentKeeper:
    """S3 (boto3 imported) only once a batch holds an attachment message or a deletion of
    one: most persist cold starts never pay for it."""

    def keep(self, room_id: str, attachment_id: str) -> None:
        attachment_store().keep(room_id, attachment_id)

    def forget(self, room_id: str, attachment_id: str) -> None:
        attachment_store().forget(room_id, attachment_id)


class _LazyPresenceStore:
    """MongoDB (pymongo imported) at the first ask, not at the presence function's cold start."""

    def profiles(self, user_ids: Sequence[str]) -> dict[str, PresenceProfile]:
        return _mongo_presence().profiles(user_ids)

    def set_hidden(self, user_id: str, hidden: bool) -> None:
        _mongo_presence().set_hidden(user_id, hidden)

    def record_last_seen(self, last_seen: Mapping[str, datetime]) -> None:
        _mongo_presence().record_last_seen(last_seen)

    def rooms_with(self, user_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        return _mongo_presence().rooms_with(user_ids)


class _LazyPresenceLog:
    def append(self, record: LogRecord) -> LogPosition:
        return presence_log().append(record)


class _LazyEventLog:
    """Kafka for catch-up readers, built (confluent_kafka imported) only when a reader must
    publish a room's stable seq."""

    def append(self, record: LogRecord) -> LogPosition:
        return event_log().append(record)


@cache
def _mongo_rooms() -> MongoRooms:
    from mayachat.adapters.mongo_rooms import MongoRooms

    return MongoRooms(mongo_database())


@cache
def _mongo_presence() -> MongoPresenceStore:
    from mayachat.adapters.mongo_presence import MongoPresenceStore

    return MongoPresenceStore(mongo_database())


@cache
def _mongo_reads() -> MongoChatReads:
    from mayachat.adapters.mongo_reads import MongoChatReads

    return MongoChatReads(mongo_database())
