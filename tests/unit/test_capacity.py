"""The capacity model's arithmetic (bench/capacity.py): loads follow the profile the way the
code behaves, costs follow the prices, and the first limit is the fullest quota."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.capacity import (
    DAY_S,
    MONTH_DAYS,
    PROFILES,
    QUOTAS,
    Code,
    Load,
    Prices,
    Profile,
    first_limits,
    load_of,
    main,
    monthly_cost,
    recipients_of,
    routes_from_template,
)

CODE = Code()


def _load(profile: Profile, code: Code = CODE) -> Load:
    return load_of(profile, code, routes_from_template(code, profile))


def test_a_message_is_posted_to_the_other_members_online_connections() -> None:
    quiet = Profile(
        "t",
        daily_users=1000,
        members_per_room=5,
        online_share=0.5,
        devices_per_user=2,
        typing_per_message=0,
        receipts_per_delivery=0,
        changes_per_message=0,
        ping_interval_s=DAY_S * 10**9,  # (pings out of the way)
    )
    assert recipients_of(quiet) == 4 * 0.5 * 2
    load = _load(quiet)
    messages = 1000 * quiet.messages_per_user_day
    assert load.messages_day == messages
    # Posts: four recipients' connections per message, plus each message's ack.
    assert load.posts_day == pytest.approx(messages * 4 + messages, rel=1e-6)
    assert load.frames_in_day == pytest.approx(messages, rel=1e-6)


def test_receipts_make_big_rooms_quadratic() -> None:
    no_pings = replace(PROFILES["small"], ping_interval_s=DAY_S * 10**9)
    hundred = _load(replace(no_pings, members_per_room=100))
    thousand = _load(replace(no_pings, members_per_room=1000))
    # 10x the members: each message reaches 10x the connections, and so does each of the
    # 10x as many receipts: posts grow towards 10^2, not 10.
    assert 50 < thousand.posts_day / hundred.posts_day < 100
    without = replace(no_pings, receipts_per_delivery=0)
    linear = _load(replace(without, members_per_room=1000)).posts_day
    assert 9 < linear / _load(replace(without, members_per_room=100)).posts_day < 11


def test_fan_out_waves_lengthen_the_send_and_so_its_concurrency() -> None:
    profile = replace(PROFILES["medium"], members_per_room=2_000)
    routes = routes_from_template(CODE, profile)
    waves = -(-recipients_of(profile) // CODE.post_wave)
    assert routes["send"].duration_ms == pytest.approx(
        CODE.kafka_ack_ms + CODE.redis_round_trips_send * CODE.redis_rtt_ms + waves * CODE.post_ms
    )
    wider = replace(CODE, post_wave=CODE.post_wave * 4)
    assert (
        _load(profile, wider).peak["lambda_concurrency"] < _load(profile).peak["lambda_concurrency"]
    )


def test_the_bill_follows_the_prices_and_the_month() -> None:
    load = _load(PROFILES["small"])
    cost = monthly_cost(load, Prices())
    messages_billed = (load.frames_in_day + load.posts_day) * MONTH_DAYS / 1e6
    minutes = load.connection_minutes_day * MONTH_DAYS / 1e6
    assert cost["API Gateway WebSocket"] == pytest.approx(messages_billed * 1.00 + minutes * 0.25)
    doubled = monthly_cost(load, replace(Prices(), ws_per_million_messages=2.0))
    assert doubled["API Gateway WebSocket"] - cost["API Gateway WebSocket"] == pytest.approx(
        messages_billed
    )
    # A cluster-hour is paid whatever the traffic: MSK Serverless has a floor.
    idle = _load(replace(PROFILES["small"], daily_users=1))
    assert monthly_cost(idle, Prices())["MSK Serverless"] >= MONTH_DAYS * 24 * 0.75


def test_the_first_limit_is_the_fullest_quota_and_a_reconnect_storm_leads_at_scale() -> None:
    load = _load(PROFILES["large"])
    ranked = first_limits(load)
    assert [share for _, share in ranked] == sorted((s for _, s in ranked), reverse=True)
    assert {name for name, _ in ranked} == set(QUOTAS)
    name, share = ranked[0]
    assert name == "ws_new_connections_per_s"
    assert share == pytest.approx(load.peak[name] / QUOTAS[name].limit)


def test_the_command_prints_every_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    printed = capsys.readouterr().out
    for name in PROFILES:
        assert f"## {name}:" in printed
    assert main(["--users", "5000", "--members", "40"]) == 0
    assert "5,000 daily users" in capsys.readouterr().out
