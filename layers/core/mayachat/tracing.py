"""X-Ray subsegments around each call to Kafka, Redis, MongoDB and @connections, when asked.

Lambda's active tracing already shows every invocation (its Init and Invocation phases)
without any SDK. Subsegments need Powertools' Tracer, and its X-Ray SDK costs a cold start
~60 ms, so they are opt-in: POWERTOOLS_TRACE_DISABLED=false (template parameter
TraceSubsegments). Otherwise `subsegment` is a no-op and the SDK is never imported.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from mayachat.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)


@functools.cache
def tracer() -> Tracer | None:
    """The Tracer, built on first use in a function that traces; None where none traces."""
    if get_settings().powertools_trace_disabled:
        return None
    from aws_lambda_powertools import Tracer

    # Nothing patched: the subsegments below are the ones we want, and patching botocore or
    # pymongo would import them at cold start in functions that never use them.
    return Tracer(patch_modules=[])


def subsegment(name: str) -> AbstractContextManager[Any]:
    traced = tracer()
    return nullcontext() if traced is None else traced.provider.in_subsegment(name=name)


def traced(name: str) -> Callable[[F], F]:
    """The method's calls, each in a subsegment `name`."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with subsegment(name):
                return method(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def traced_calls(service: str) -> Callable[[C], C]:
    """Each public method of the adapter class in a subsegment `service.method` (redis.claim,
    kafka.append...): the trace shows where a slow frame spent its time."""

    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if inspect.isfunction(member) and not name.startswith("_"):
                setattr(cls, name, traced(f"{service}.{name}")(member))
        return cls

    return decorate
