"""The console view of the local runtime's logs: one short line per function log event and
per invocation; raw JSON kept for the file."""

from __future__ import annotations

import json
import logging

import pytest

from mayachat.adapters.emf_metrics import EmfMetrics
from mayachat.metrics import Count, Timing
from mayachat_local.runtime.logview import (
    PrettyFormatter,
    RawFormatter,
    describe_event,
    format_output,
    outcome_of,
)

POWERTOOLS_LINE = json.dumps(
    {
        "level": "INFO",
        "location": "send:130",
        "message": "sent to Kafka",
        "timestamp": "2025-11-26 20:42:07,123+0000",
        "service": "mayachat",
        "cold_start": False,
        "function_name": "ws_send_message",
        "function_request_id": "abc",
        "xray_trace_id": "1-2-3",
        "roomId": "dm-1",
        "seq": 4,
    }
)


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("mayachat_local.lambda", logging.INFO, __file__, 1, "raw", (), None)
    record.__dict__.update(extra)
    return record


def test_a_powertools_line_becomes_short() -> None:
    level, text = format_output("WsSendMessageFunction", POWERTOOLS_LINE)
    assert level == "INFO"
    assert text == "WsSendMessageFunction  INFO  sent to Kafka  roomId=dm-1 seq=4"


def test_an_error_line_keeps_its_traceback() -> None:
    line = json.dumps(
        {"level": "ERROR", "message": "boom", "exception": "Traceback ...\nValueError: x"}
    )
    level, text = format_output("F", line)
    assert level == "ERROR"
    assert text.endswith("Traceback ...\nValueError: x")


def test_an_emf_metrics_line_shows_names_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = EmfMetrics("MayaChat", "mayachat", "local")
    metrics.count(Count.MESSAGES_SENT)
    metrics.timing(Timing.ACK_LATENCY, 9.75)
    metrics.timing(Timing.ACK_LATENCY, 4.5)
    metrics.flush()
    level, text = format_output("WsSendMessageFunction", capsys.readouterr().out.strip())
    assert level == "INFO"
    assert text == "WsSendMessageFunction  METRIC MessagesSent=1  AckLatency=9.75,4.5 ms"


def test_plain_output_passes_through() -> None:
    assert format_output("F", "print() output") == ("INFO", "F  print() output")
    assert format_output("F", "[1, 2]") == ("INFO", "F  [1, 2]")


def test_events_are_described() -> None:
    ws = {"requestContext": {"routeKey": "sendMessage", "eventType": "MESSAGE"}}
    assert describe_event(ws) == "sendMessage"
    http = {"rawPath": "/api/rooms", "requestContext": {"http": {"method": "GET", "path": "/x"}}}
    assert describe_event(http) == "GET /x"
    kafka = {
        "eventSource": "aws:kafka",
        "records": {"chat-messages-0": [{}, {}], "chat-messages-2": [{}]},
    }
    assert describe_event(kafka) == "kafka chat-messages (3 records)"
    authorizer = {
        "type": "REQUEST",
        "methodArn": "arn",
        "requestContext": {"routeKey": "$connect"},
    }
    assert describe_event(authorizer) == "authorizer $connect"
    assert describe_event("x") == "-"


def test_outcomes() -> None:
    assert outcome_of({"statusCode": 200}) == "200"
    assert outcome_of({"batchItemFailures": []}) == "ok"
    assert outcome_of({"batchItemFailures": [{"itemIdentifier": "1"}]}) == "1 failed"
    assert outcome_of(None) == "ok"


def test_pretty_lines() -> None:
    fmt = PrettyFormatter()
    report = fmt.format(
        _record(
            function="WsSendMessageFunction",
            route="sendMessage",
            duration_ms=12.34,
            outcome="200",
            init_ms=None,
        )
    )
    assert report.endswith("WsSendMessageFunction  sendMessage  12.3 ms  200")
    output = fmt.format(_record(function="F", output=POWERTOOLS_LINE))
    assert output.endswith("F  INFO  sent to Kafka  roomId=dm-1 seq=4")
    plain = fmt.format(_record())
    assert plain.endswith(" raw")


def test_the_raw_file_keeps_the_json() -> None:
    assert RawFormatter().format(_record(function="F", output=POWERTOOLS_LINE)) == POWERTOOLS_LINE
