"""Capacity and cost on paper: a usage profile in, each part's load, the first limit it meets
and the monthly bill out (docs/scaling.md explains the model and cites every figure).

    .venv/bin/python bench/capacity.py                 # the three profiles of docs/scaling.md
    .venv/bin/python bench/capacity.py --users 250000 --rooms-per-user 8 --members 12

What the code does per action comes from the benchmarks (bench/bench_round_trips.py counts
Redis round trips and posts; the send path's durations from bench_send.py) and from
template.yaml (each function's memory, the mappings' batch sizes), read at run time: when the
code gets faster or the template changes, the model moves. AWS's figures are in PRICES and
QUOTAS with their source; docs/scaling.md has the pages and the dates they were read.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DAY_S = 86_400
MONTH_DAYS = 30


@dataclass(frozen=True)
class Profile:
    name: str
    daily_users: int
    online_share: float = 0.10  # of daily users connected at an average moment
    peak_factor: float = 3.0  # the busiest hour's rate over the day's average
    devices_per_user: float = 1.3  # connections per online user
    rooms_per_user: int = 10
    members_per_room: int = 8  # the average room a message is sent in
    messages_per_user_day: float = 40.0
    typing_per_message: float = 2.0  # typing frames (start, stop) per message written
    # markDelivered/markRead frames per message per recipient (clients mark in batches).
    receipts_per_delivery: float = 0.5
    sessions_per_user_day: float = 8.0  # (re)connects: app opened, network changes
    message_bytes: int = 400  # a message record on the log, headers included
    changes_per_message: float = 0.05  # edits, deletions, reactions
    pushes_per_message: float = 0.3  # recipients offline and not muted, per message
    ping_interval_s: int = 300  # the client's keep-alive (API Gateway's idle limit is 600 s)


PROFILES = {
    "small": Profile("small", daily_users=10_000),
    "medium": Profile("medium", daily_users=100_000, rooms_per_user=15),
    "large": Profile("large", daily_users=1_000_000, rooms_per_user=20, members_per_room=12),
}


@dataclass(frozen=True)
class Route:
    """One route function: its memory (template.yaml) and its warm duration in AWS."""

    memory_mb: int
    duration_ms: float


@dataclass(frozen=True)
class Code:
    """What the code does per action, from the benchmarks, and how long that takes in AWS."""

    # bench_round_trips.py: Redis round trips of a send (rate limit, membership, claim,
    # confirm, connections) and of a change (also its facts, take and settle).
    redis_round_trips_send: int = 6
    redis_round_trips_change: int = 6
    redis_round_trips_connect: int = 3  # rate limit, register, trim
    # AWS latencies assumed (docs/scaling.md): in-AZ ElastiCache, MSK acks=all across AZs,
    # one @connections POST (a wave of posts in parallel costs about one).
    redis_rtt_ms: float = 0.5
    kafka_ack_ms: float = 8.0
    post_ms: float = 12.0
    post_wave: int = 32  # posts in flight at once (ApiGatewayConnections.max_concurrency)
    # Persist: a batch of records per invocation (template BatchSize; few fill it), the
    # measured throughput of one invocation's bulk writes.
    persist_records_per_invocation: int = 100
    persist_ms_per_record: float = 0.4
    ecpu_per_round_trip: float = 2.0  # a script of a few commands on small values
    redis_bytes_per_message: int = 260  # send claim (24 h) + facts (24 h), see scaling.md
    redis_bytes_per_connection: int = 200
    frame_bytes: int = 350  # a posted message frame
    # At LogLevel INFO: a route's two or three JSON lines and Lambda's REPORT line.
    log_bytes_per_invocation: int = 900


@dataclass(frozen=True)
class Prices:
    """us-east-1, on-demand (docs/scaling.md cites each)."""

    ws_per_million_messages: float = 1.00
    ws_per_million_connection_minutes: float = 0.25
    lambda_per_gb_second_arm: float = 0.0000133334
    lambda_per_million_requests: float = 0.20
    msk_serverless_cluster_hour: float = 0.75
    msk_serverless_partition_hour: float = 0.0015
    msk_serverless_in_per_gb: float = 0.10
    msk_serverless_out_per_gb: float = 0.05
    msk_storage_gb_month: float = 0.10
    valkey_per_million_ecpu: float = 0.0023
    valkey_gb_hour: float = 0.084
    valkey_min_gb: float = 0.1
    nat_hour: float = 0.045
    nat_per_gb: float = 0.045
    nat_gateways: int = 2  # one per AZ of the template's subnets
    # A push is a Publish to the device's endpoint ($0.50 per million) and its delivery
    # ($0.50 per million mobile pushes).
    sns_per_million_push: float = 1.00
    logs_ingest_per_gb: float = 0.50
    # Provisioned mode of the MSK mappings bills each always-on event poller by the hour, at
    # a price we found in no source we could read: left out of the total (None) and named
    # in the report. Set it from the Lambda pricing page to count it.
    esm_poller_hour: float | None = None
    esm_pollers: int = 3  # template: both persist mappings and notify keep one always on
    atlas_tiers: tuple[tuple[str, float, int], ...] = (  # name, $/hour, messages/s it carries
        ("M10", 0.08, 200),
        ("M20", 0.20, 600),
        ("M30", 0.54, 2_000),
        ("M40", 1.04, 5_000),
        ("M50", 2.00, 10_000),
    )


@dataclass(frozen=True)
class Quota:
    limit: float
    adjustable: bool
    what: str


QUOTAS = {
    "ws_new_connections_per_s": Quota(
        500, True, "API Gateway: new WebSocket connections/s (account, region)"
    ),
    "apigw_requests_per_s": Quota(
        10_000, True, "API Gateway: requests/s (account, region; frames and @connections posts)"
    ),
    "lambda_concurrency": Quota(1_000, True, "Lambda: concurrent executions (region)"),
    "msk_ingress_mbps": Quota(200, False, "MSK Serverless: ingress MB/s (cluster)"),
    "msk_egress_mbps": Quota(400, False, "MSK Serverless: egress MB/s (cluster)"),
    "msk_client_connections": Quota(1_000, False, "MSK Serverless: client connections (cluster)"),
    "msk_new_connections_per_s": Quota(100, False, "MSK Serverless: new connections/s (cluster)"),
    "valkey_ecpu_per_s": Quota(15_000_000, False, "ElastiCache Serverless: ECPUs/s (cache)"),
}


@dataclass
class Load:
    """A day of the profile, and its peak second."""

    profile: Profile
    messages_day: float = 0.0
    frames_in_day: float = 0.0
    posts_day: float = 0.0
    connection_minutes_day: float = 0.0
    invocations_day: dict[str, float] = field(default_factory=dict)
    gb_seconds_day: float = 0.0
    log_in_gb_day: float = 0.0
    log_out_gb_day: float = 0.0
    ecpu_day: float = 0.0
    redis_gb: float = 0.0
    nat_gb_day: float = 0.0
    pushes_day: float = 0.0
    log_gb_day: float = 0.0
    peak: dict[str, float] = field(default_factory=dict)


def routes_from_template(code: Code, p: Profile) -> dict[str, Route]:
    """Each function's memory from template.yaml; its warm duration in AWS from the code's
    round trips, the assumed latencies and the fan-out's waves of posts (a room's online
    connections, `post_wave` at a time)."""
    from mayachat_local.runtime.template import load_template

    template = load_template(REPO / "template.yaml")
    default = int(template["Globals"]["Function"].get("MemorySize", 128))

    def memory(name: str) -> int:
        return int(template["Resources"][name]["Properties"].get("MemorySize", default))

    rtt = code.redis_rtt_ms
    fan_out = math.ceil(recipients_of(p) / code.post_wave) * code.post_ms
    return {
        "send": Route(
            memory("WsSendMessageFunction"),
            code.kafka_ack_ms + code.redis_round_trips_send * rtt + fan_out,
        ),
        "change": Route(
            memory("WsMessageChangesFunction"),
            code.kafka_ack_ms + code.redis_round_trips_change * rtt + fan_out,
        ),
        "typing": Route(memory("WsTypingFunction"), 3 * rtt + fan_out),
        "receipt": Route(memory("WsReceiptsFunction"), code.kafka_ack_ms + 4 * rtt + fan_out),
        "ping": Route(memory("WsPingFunction"), 1 * rtt),
        "connect": Route(memory("WsConnectFunction"), code.redis_round_trips_connect * rtt),
        "disconnect": Route(memory("WsDisconnectFunction"), 2 * rtt),
        "authorizer": Route(memory("WsAuthorizerFunction"), 2.0),
        "persist": Route(
            memory("PersistFunction"),
            20 + code.persist_records_per_invocation * code.persist_ms_per_record,
        ),
        "notify": Route(memory("NotifyFunction"), 40.0),
    }


def recipients_of(p: Profile) -> float:
    """The online connections of a room's other members: who gets each frame."""
    return (p.members_per_room - 1) * p.online_share * p.devices_per_user


def load_of(p: Profile, code: Code, routes: dict[str, Route]) -> Load:
    online_users = p.daily_users * p.online_share
    connections = online_users * p.devices_per_user
    messages = p.daily_users * p.messages_per_user_day
    recipients = recipients_of(p)
    typing = messages * p.typing_per_message
    receipts = messages * (p.members_per_room - 1) * p.online_share * p.receipts_per_delivery
    changes = messages * p.changes_per_message
    sessions = p.daily_users * p.sessions_per_user_day
    pings = connections * DAY_S / p.ping_interval_s
    records = messages + receipts + changes
    invocations = {
        "send": messages,
        "change": changes,
        "typing": typing,
        "receipt": receipts,
        "ping": pings,
        "connect": sessions,
        "disconnect": sessions,
        "authorizer": sessions,
        "persist": records / code.persist_records_per_invocation,
        "notify": messages / code.persist_records_per_invocation,
    }
    # Every post is a message billed by API Gateway, as is every frame in and every answer.
    posts = (
        (messages + changes) * recipients
        + typing * recipients
        + receipts * p.members_per_room * p.online_share * p.devices_per_user
    )
    answers = messages + changes + pings  # acks and pongs (route responses)
    frames_in = messages + changes + typing + receipts + pings
    load = Load(profile=p)
    load.messages_day = messages
    load.frames_in_day = frames_in
    load.posts_day = posts + answers
    load.connection_minutes_day = connections * DAY_S / 60
    load.invocations_day = invocations
    load.gb_seconds_day = sum(
        n * routes[r].memory_mb / 1024 * math.ceil(routes[r].duration_ms) / 1000
        for r, n in invocations.items()
    )
    record_bytes = messages * p.message_bytes + (receipts + changes) * 250
    load.log_in_gb_day = record_bytes / 1e9
    load.log_out_gb_day = 2 * record_bytes / 1e9  # persist and notify both read chat-messages
    round_trips = (
        messages * code.redis_round_trips_send
        + changes * code.redis_round_trips_change
        + typing * 3
        + receipts * 4
        + pings
        + sessions * (code.redis_round_trips_connect + 2)
    )
    load.ecpu_day = round_trips * code.ecpu_per_round_trip
    load.redis_gb = (
        messages * code.redis_bytes_per_message + connections * code.redis_bytes_per_connection
    ) / 1e9
    # Through NAT: every @connections post (the Management API is outside the VPC), SNS.
    load.nat_gb_day = load.posts_day * code.frame_bytes / 1e9
    load.pushes_day = messages * p.pushes_per_message
    load.log_gb_day = sum(invocations.values()) * code.log_bytes_per_invocation / 1e9
    peak = p.peak_factor / DAY_S
    concurrency = sum(n * peak * routes[r].duration_ms / 1000 for r, n in invocations.items())
    load.peak = {
        # A mobile network blip: every online connection comes back within a minute.
        "ws_new_connections_per_s": connections / 60,
        "apigw_requests_per_s": (frames_in + posts) * peak,
        "lambda_concurrency": concurrency,
        "msk_ingress_mbps": record_bytes * peak / 1e6,
        "msk_egress_mbps": 2 * record_bytes * peak / 1e6,
        # Each warm producer container holds a connection to a few brokers (3 assumed).
        "msk_client_connections": 3 * concurrency,
        "msk_new_connections_per_s": 3 * concurrency / 60,  # containers replaced over a minute
        "valkey_ecpu_per_s": round_trips * code.ecpu_per_round_trip * peak,
    }
    return load


def template_parameter(name: str) -> int:
    from mayachat_local.runtime.template import load_template

    return int(load_template(REPO / "template.yaml")["Parameters"][name]["Default"])


def monthly_cost(load: Load, prices: Prices, partitions: int | None = None) -> dict[str, float]:
    # The three topics (messages, receipts, dead letters) are made at KafkaTopicPartitions.
    partitions = partitions or 3 * template_parameter("KafkaTopicPartitions")
    days, hours = MONTH_DAYS, MONTH_DAYS * 24
    peak_messages_per_s = load.messages_day * load.profile.peak_factor / DAY_S
    atlas = next(
        (t for t in prices.atlas_tiers if t[2] >= peak_messages_per_s), prices.atlas_tiers[-1]
    )
    return {
        "API Gateway WebSocket": days
        * (
            (load.frames_in_day + load.posts_day) / 1e6 * prices.ws_per_million_messages
            + load.connection_minutes_day / 1e6 * prices.ws_per_million_connection_minutes
        ),
        "Lambda": days
        * (
            load.gb_seconds_day * prices.lambda_per_gb_second_arm
            + sum(load.invocations_day.values()) / 1e6 * prices.lambda_per_million_requests
        ),
        "MSK Serverless": hours
        * (prices.msk_serverless_cluster_hour + partitions * prices.msk_serverless_partition_hour)
        + days
        * (
            load.log_in_gb_day * prices.msk_serverless_in_per_gb
            + load.log_out_gb_day * prices.msk_serverless_out_per_gb
        )
        + load.log_in_gb_day * 7 * prices.msk_storage_gb_month  # 7 days' retention held
        + hours * prices.esm_pollers * (prices.esm_poller_hour or 0.0),
        "ElastiCache Serverless": days * load.ecpu_day / 1e6 * prices.valkey_per_million_ecpu
        + hours * max(load.redis_gb, prices.valkey_min_gb) * prices.valkey_gb_hour,
        f"MongoDB Atlas ({atlas[0]})": hours * atlas[1],
        "NAT gateways": hours * prices.nat_gateways * prices.nat_hour
        + days * load.nat_gb_day * prices.nat_per_gb,
        "SNS push": days * load.pushes_day / 1e6 * prices.sns_per_million_push,
        "CloudWatch Logs": days * load.log_gb_day * prices.logs_ingest_per_gb,
    }


def first_limits(load: Load) -> list[tuple[str, float]]:
    """Each quota's use at the peak, the fullest first."""
    used = [(name, load.peak[name] / quota.limit) for name, quota in QUOTAS.items()]
    return sorted(used, key=lambda item: item[1], reverse=True)


def report(profile: Profile, code: Code = Code(), prices: Prices = Prices()) -> str:
    routes = routes_from_template(code, profile)
    load = load_of(profile, code, routes)
    cost = monthly_cost(load, prices)
    total = sum(cost.values())
    per_million = total / (load.messages_day * MONTH_DAYS / 1e6)
    lines = [
        f"## {profile.name}: {profile.daily_users:,} daily users, "
        f"{load.messages_day:,.0f} messages/day",
        "",
        "| quota | peak use | limit | share | raise it? |",
        "|---|---:|---:|---:|---|",
    ]
    for name, share in first_limits(load):
        quota = QUOTAS[name]
        lines.append(
            f"| {quota.what} | {load.peak[name]:,.1f} | {quota.limit:,.0f} | {share:.1%} | "
            f"{'yes, by request' if quota.adjustable else 'no: shard or switch'} |"
        )
    lines += ["", "| part | $ / month |", "|---|---:|"]
    lines += [f"| {part} | {dollars:,.0f} |" for part, dollars in cost.items()]
    lines += [
        f"| **total** | **{total:,.0f}** |",
        "",
        f"Per million messages: **${per_million:,.2f}**; per 10k daily users: "
        f"**${total / profile.daily_users * 10_000:,.0f}**/month.",
        "",
    ]
    if prices.esm_poller_hour is None:
        lines += [
            f"Not in the total: {prices.esm_pollers} provisioned event pollers, always on "
            "(no published price found; see docs/scaling.md).",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), action="append")
    parser.add_argument("--users", type=int, help="a profile of your own: daily users")
    parser.add_argument("--rooms-per-user", type=int, default=10)
    parser.add_argument("--members", type=int, default=8, help="members of the average room")
    parser.add_argument("--messages", type=float, default=40.0, help="per user per day")
    parser.add_argument("--online-share", type=float, default=0.10)
    args = parser.parse_args(argv)
    if args.users:
        chosen = [
            replace(
                Profile("yours", args.users),
                rooms_per_user=args.rooms_per_user,
                members_per_room=args.members,
                messages_per_user_day=args.messages,
                online_share=args.online_share,
            )
        ]
    else:
        chosen = [PROFILES[name] for name in (args.profile or PROFILES)]
    for profile in chosen:
        print(report(profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
