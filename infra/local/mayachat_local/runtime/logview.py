"""The console view of the local runtime's logs (`make dev`).

Functions log structured JSON (Powertools Logger), one object per line, like in CloudWatch.
The runtime logs each such line, and one REPORT line per invocation, with the fields as
record attributes (`function`, `output`; `route`, `duration_ms`, `outcome`). With `pretty`,
the console shows each as one short line:

    12:01:03 ws_send_message  INFO  message sent  roomId=dm-... seq=4
    12:01:03 ws_send_message  METRIC MessagesSent=1  AckLatency=9.8 ms
    12:01:03 ws_send_message  sendMessage  12.3 ms  200

while the raw lines (JSON as the function wrote it) go to a file, e.g. .local/logs/functions.log.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Powertools' standard keys: shown in the line's head, or not at all.
_STANDARD = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "sampling_rate",
        "exception",
        "exception_name",
        "stack_trace",
    }
)
_MAX_KEYS = 6
_MAX_VALUE = 60

_RESET = "\033[0m"
_COLOURS = {"DEBUG": "\033[2m", "WARNING": "\033[33m", "ERROR": "\033[31m", "CRITICAL": "\033[31m"}


def describe_event(event: Any) -> str:
    """What triggered an invocation, in a few words: a WebSocket route, an HTTP route, the
    Kafka topics of an MSK batch, or the authorizer."""
    if not isinstance(event, Mapping):
        return "-"
    context = event.get("requestContext")
    if isinstance(context, Mapping):
        if event.get("type") == "REQUEST" and "methodArn" in event:
            return "authorizer " + str(context.get("routeKey") or "$connect")
        http = context.get("http")
        if isinstance(http, Mapping):  # HTTP API payload 2.0
            return f"{http.get('method', '?')} {http.get('path', event.get('rawPath', '?'))}"
        if "routeKey" in context:
            return str(context["routeKey"])
    if event.get("type") == "REQUEST" and "methodArn" in event:
        return "authorizer"
    if event.get("eventSource") == "aws:kafka":
        records = event.get("records")
        if isinstance(records, Mapping):
            topics = sorted({str(k).rpartition("-")[0] for k in records})
            count = sum(len(v) for v in records.values() if isinstance(v, list))
            return f"kafka {','.join(topics)} ({count} records)"
        return "kafka"
    return "-"


def outcome_of(result: Any) -> str:
    """'ok', or the status code a proxy integration answered with."""
    if isinstance(result, Mapping) and "statusCode" in result:
        return str(result["statusCode"])
    if isinstance(result, Mapping) and isinstance(result.get("batchItemFailures"), list):
        failures = len(result["batchItemFailures"])
        return f"{failures} failed" if failures else "ok"
    return "ok"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def format_metrics(emf: Mapping[str, Any]) -> str | None:
    """An Embedded Metric Format line (Powertools Metrics) as `name=value unit` pairs; None
    when it is not one."""
    aws = emf.get("_aws")
    if not isinstance(aws, Mapping) or not isinstance(aws.get("CloudWatchMetrics"), list):
        return None
    pairs = []
    for directive in aws["CloudWatchMetrics"]:
        for metric in directive.get("Metrics", []) if isinstance(directive, Mapping) else []:
            name = metric.get("Name") if isinstance(metric, Mapping) else None
            if not isinstance(name, str) or name not in emf:
                continue
            values = emf[name] if isinstance(emf[name], list) else [emf[name]]
            unit = " ms" if metric.get("Unit") == "Milliseconds" else ""
            shown = ",".join(f"{v:g}" if isinstance(v, float | int) else str(v) for v in values)
            pairs.append(f"{name}={shown}{unit}")
    return "  ".join(pairs)


def format_output(function: str, line: str) -> tuple[str, str]:
    """A function's log line as (level, readable text). Non-JSON lines pass through."""
    try:
        data = json.loads(line)
    except ValueError:
        data = None
    metrics = format_metrics(data) if isinstance(data, dict) else None
    if metrics is not None:
        return "INFO", f"{function}  METRIC {metrics}"
    if not isinstance(data, dict) or "message" not in data:
        return "INFO", f"{function}  {line}"
    level = str(data.get("level", "INFO")).upper()
    message = data.get("message")
    text = message if isinstance(message, str) else json.dumps(message, default=str)
    extras = [(k, v) for k, v in data.items() if k not in _STANDARD]
    keys = " ".join(f"{k}={_short(v)}" for k, v in extras[:_MAX_KEYS])
    out = f"{function}  {level:<5} {text}" + (f"  {keys}" if keys else "")
    trace = data.get("exception") or data.get("stack_trace")
    if trace:
        out += "\n" + (trace if isinstance(trace, str) else json.dumps(trace, indent=2))
    return level, out


class PrettyFormatter(logging.Formatter):
    """Short lines for the console: function output and REPORTs rewritten, the rest as is."""

    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        function = getattr(record, "function", None)
        output = getattr(record, "output", None)
        level = record.levelname
        if function is not None and output is not None:
            level, text = format_output(function, output)
        elif function is not None and hasattr(record, "duration_ms"):
            text = (
                f"{function}  {getattr(record, 'route', '-')}  "
                f"{record.duration_ms:.1f} ms  {getattr(record, 'outcome', '?')}"
            )
            init = getattr(record, "init_ms", None)
            if init is not None:
                text += f"  (cold start {init:.0f} ms)"
        else:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
            if record.levelno >= logging.WARNING:
                text = f"{level} {text}"
        line = f"{clock} {text}"
        colour = _COLOURS.get(level) if self.colour else None
        return f"{colour}{line}{_RESET}" if colour else line


class RawFormatter(logging.Formatter):
    """The raw file: function output verbatim (the JSON line), everything else formatted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        function = getattr(record, "function", None)
        output = getattr(record, "output", None)
        if function is not None and output is not None:
            return str(output)
        return super().format(record)


def configure(
    *, pretty: bool = True, raw_path: Path | None = None, level: int = logging.INFO
) -> None:
    """Console logging for the local runtime; raw lines also to `raw_path` when given."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    if pretty:
        console.setFormatter(PrettyFormatter(colour=sys.stderr.isatty()))
    else:
        console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(console)
    if raw_path is not None:
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        raw = logging.FileHandler(raw_path, encoding="utf-8")
        raw.setFormatter(RawFormatter())
        root.addHandler(raw)
    # Chatty libraries stay at WARNING.
    for name in ("websockets", "botocore", "urllib3", "kafka", "pymongo", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
