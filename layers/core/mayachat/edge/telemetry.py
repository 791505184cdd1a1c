"""Every handler publishes the invocation's metrics as it returns, or as it raises."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from mayachat import bootstrap

logger = Logger(child=True)

H = TypeVar("H", bound=Callable[..., Any])


def publishes_metrics(handler: H) -> H:
    @functools.wraps(handler)
    def publishing(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            try:
                bootstrap.metrics().flush()
            except Exception:
                # Metrics are worth less than the answer they would replace.
                logger.exception("could not publish the metrics")

    return publishing  # type: ignore[return-value]
