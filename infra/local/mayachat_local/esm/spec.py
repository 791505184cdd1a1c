"""The MSK event-source mappings a SAM template declares: every `Type: MSK` event of every
`AWS::Serverless::Function`, with Lambda's defaults and limits applied.

Values may be plain or `!Ref` to a template parameter (its default, or the caller's override,
as `sam deploy --parameter-overrides` does); anything else needs a deployed stack and is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mayachat_local.runtime.template import TemplateError, properties, resources_of_type

# Lambda's documented defaults and ranges for Amazon MSK event sources.
DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 10_000
DEFAULT_WINDOW_SECONDS = 0.5  # MSK's default (SQS and streams default to 0)
MAX_WINDOW_SECONDS = 300
MAX_RETRY_ATTEMPTS = 10_000
RECORD_AGE_RANGE = (60, 604_800)
# "When you configure both infinite retries and an on-failure destination, Lambda
# automatically applies a maximum of 10 retry attempts."
RETRIES_WITH_DESTINATION = 10
STARTING_POSITIONS = {"TRIM_HORIZON": "earliest", "LATEST": "latest"}

log = logging.getLogger("mayachat_local.esm")

_SQS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sqs:([a-z0-9-]+):(\d{12}):(.+)$")


@dataclass(frozen=True)
class Destination:
    """Where discarded records go: a topic on the same cluster, or an SQS queue."""

    uri: str  # as written in the template

    @property
    def kafka_topic(self) -> str | None:
        return self.uri.removeprefix("kafka://") if self.uri.startswith("kafka://") else None

    @property
    def sqs_queue(self) -> tuple[str, str, str] | None:
        """(region, account, queue name) of an SQS queue ARN."""
        match = _SQS_ARN.match(self.uri)
        return (match.group(1), match.group(2), match.group(3)) if match else None


@dataclass(frozen=True)
class MappingSpec:
    """One `Type: MSK` event, resolved for running locally."""

    name: str  # "FunctionLogicalId.EventName"
    function: str  # the function's logical id
    topic: str
    group_id: str
    starting_position: str  # TRIM_HORIZON | LATEST
    batch_size: int = DEFAULT_BATCH_SIZE
    window: float = DEFAULT_WINDOW_SECONDS
    report_item_failures: bool = False
    max_retries: int = -1  # as configured: -1 is infinite
    bisect: bool = False
    max_record_age: int = -1  # seconds; -1 is infinite
    destination: Destination | None = None
    stream_arn: str | None = None

    @property
    def retry_limit(self) -> int | None:
        """The retries Lambda applies: None is "until it succeeds" (the partition stalls)."""
        if self.max_retries >= 0:
            return self.max_retries
        return RETRIES_WITH_DESTINATION if self.destination else None

    @property
    def auto_offset_reset(self) -> str:
        return STARTING_POSITIONS[self.starting_position]


def resolve(value: Any, template: Mapping[str, Any], parameters: Mapping[str, str]) -> Any:
    """A plain scalar as is; `Ref` to a parameter as its override or default; else None."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        if name in parameters:
            return parameters[name]
        param = (template.get("Parameters") or {}).get(name)
        if isinstance(param, dict) and "Default" in param:
            return resolve(param["Default"], template, parameters)
    return None


def read_mappings(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, MappingSpec]:
    """Every MSK event of the template's functions, by "Function.Event" name (disabled ones
    are left out, as Lambda does not poll them)."""
    found: dict[str, MappingSpec] = {}
    for function, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        events = properties(resource).get("Events") or {}
        for event_name, event in events.items():
            if not isinstance(event, dict) or event.get("Type") != "MSK":
                continue
            name = f"{function}.{event_name}"
            props = event.get("Properties") or {}
            reader = _Reader(name, props, template, parameters or {})
            if not reader.flag("Enabled", default=True):
                continue
            found[name] = reader.spec(function)
    return found


class _Reader:
    def __init__(
        self,
        name: str,
        props: Mapping[str, Any],
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
    ) -> None:
        self.name = name
        self.props = props
        self.template = template
        self.parameters = parameters

    def value(self, key: str, raw: Any = None) -> Any:
        raw = self.props.get(key) if raw is None else raw
        if raw is None:
            return None
        value = resolve(raw, self.template, self.parameters)
        if value is None:
            raise TemplateError(f"{self.name}.{key}: {raw!r} cannot be resolved locally")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.value(key)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TemplateError(f"{self.name}.{key}: expected a number, got {value!r}") from None
        if not low <= number <= high:
            raise TemplateError(f"{self.name}.{key}: {number:g} is outside {low:g}..{high:g}")
        return number

    def flag(self, key: str, default: bool) -> bool:
        value = self.value(key)
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise TemplateError(f"{self.name}.{key}: expected true or false, got {value!r}")
        return value

    def spec(self, function: str) -> MappingSpec:
        topics = self.props.get("Topics")
        if not isinstance(topics, list) or len(topics) != 1:
            raise TemplateError(f"{self.name}.Topics: an MSK mapping takes exactly one topic")
        topic = str(self.value("Topics", topics[0]))
        start = str(self.value("StartingPosition") or "")
        if start not in STARTING_POSITIONS:
            raise TemplateError(
                f"{self.name}.StartingPosition: {start or '(missing)'!r} is not supported "
                "locally (TRIM_HORIZON or LATEST)"
            )
        age = int(self.number("MaximumRecordAgeInSeconds", -1, -1, RECORD_AGE_RANGE[1]))
        if age != -1 and age < RECORD_AGE_RANGE[0]:
            raise TemplateError(
                f"{self.name}.MaximumRecordAgeInSeconds: -1 or {RECORD_AGE_RANGE[0]}.."
                f"{RECORD_AGE_RANGE[1]}, got {age}"
            )
        types = self.props.get("FunctionResponseTypes") or []
        unknown = [t for t in types if t != "ReportBatchItemFailures"]
        if unknown:
            raise TemplateError(f"{self.name}.FunctionResponseTypes: unknown {unknown}")
        destination = self.destination(topic)
        if self.props.get("FilterCriteria"):
            log.warning(
                "%s: FilterCriteria is not applied locally; every record is delivered", self.name
            )
        stream = self.props.get("Stream")
        arn = resolve(stream, self.template, self.parameters) if stream is not None else None
        return MappingSpec(
            name=self.name,
            function=function,
            topic=topic,
            # AWS defaults the group to a value unique to the mapping: here, its name.
            group_id=str(self.value("ConsumerGroupId") or self.name),
            starting_position=start,
            batch_size=int(self.number("BatchSize", DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE)),
            window=self.number(
                "MaximumBatchingWindowInSeconds", DEFAULT_WINDOW_SECONDS, 0, MAX_WINDOW_SECONDS
            ),
            report_item_failures=bool(types),
            max_retries=int(self.number("MaximumRetryAttempts", -1, -1, MAX_RETRY_ATTEMPTS)),
            bisect=self.flag("BisectBatchOnFunctionError", default=False),
            max_record_age=age,
            destination=destination,
            stream_arn=str(arn) if arn else None,
        )

    def destination(self, topic: str) -> Destination | None:
        config = self.props.get("DestinationConfig")
        on_failure = config.get("OnFailure") if isinstance(config, dict) else None
        raw = on_failure.get("Destination") if isinstance(on_failure, dict) else None
        if raw is None:
            return None
        uri = str(self.value("DestinationConfig.OnFailure.Destination", raw))
        if not uri:
            return None
        destination = Destination(uri)
        if destination.kafka_topic is not None:
            if destination.kafka_topic == topic:
                # Lambda refuses this too: it would feed its own failures back in.
                raise TemplateError(f"{self.name}: the destination is the source topic {topic}")
            return destination
        if destination.sqs_queue is not None:
            return destination
        raise TemplateError(
            f"{self.name}: on-failure destination {uri!r} is not supported locally "
            "(kafka://TOPIC or an SQS queue ARN)"
        )
