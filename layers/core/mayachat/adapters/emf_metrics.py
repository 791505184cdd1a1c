"""The Metrics port on CloudWatch Embedded Metric Format (Powertools Metrics).

Counts add up during the invocation and go out as one value each (a fan-out to 500 members is
one DeliveryPosts of 500, not 500 values); timings keep every value, so CloudWatch can give
percentiles. `flush` prints them as one EMF line on stdout, which Lambda sends to CloudWatch
Logs, where they become metrics: no API call, no latency on the request path.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

from mayachat.metrics import Count, Timing


class EmfMetrics:
    def __init__(self, namespace: str, service: str, stage: str) -> None:
        # The provider behind Powertools' Metrics, with state of its own (Metrics shares one
        # metric set per process). A stage dimension: stages in one account stay apart.
        self._emf = AmazonCloudWatchEMFProvider(
            namespace=namespace, service=service, default_dimensions={"stage": stage}
        )
        self._counts: Counter[Count] = Counter()
        self._timings: defaultdict[Timing, list[float]] = defaultdict(list)

    def count(self, metric: Count, value: int = 1) -> None:
        self._counts[metric] += value

    def timing(self, metric: Timing, milliseconds: float) -> None:
        self._timings[metric].append(milliseconds)

    def flush(self) -> None:
        """Publish what this invocation recorded, if anything (Powertools warns on nothing)."""
        if not self._counts and not self._timings:
            return
        for count, value in self._counts.items():
            self._emf.add_metric(name=count.value, unit=MetricUnit.Count, value=value)
        for timing, values in self._timings.items():
            for milliseconds in values:  # Powertools publishes at 100 values of one metric
                self._emf.add_metric(
                    name=timing.value, unit=MetricUnit.Milliseconds, value=round(milliseconds, 3)
                )
        self._counts.clear()
        self._timings.clear()
        self._emf.flush_metrics()
