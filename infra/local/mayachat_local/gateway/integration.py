"""API Gateway's side of a Lambda proxy integration: invoke, and wait no longer than the
integration timeout (the Lambda itself may run on, as it does in AWS)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mayachat_local.runtime.lambda_runtime import LambdaRuntime

log = logging.getLogger("mayachat_local.gateway")


class IntegrationTimeout(Exception):
    """API Gateway gave up waiting for the integration."""


class Integrations:
    def __init__(self, runtime: LambdaRuntime, timeout: float) -> None:
        self.runtime = runtime
        self.timeout = timeout
        self._abandoned: set[asyncio.Future[Any]] = set()

    async def __call__(self, function: str, event: Any, *, log_errors: bool = True) -> Any:
        """The handler's result; FunctionError when it failed, IntegrationTimeout."""
        invocation = asyncio.ensure_future(
            self.runtime.invoke(function, event, log_errors=log_errors)
        )
        # Its outcome is read through the shield below, or by nobody once we stop waiting.
        invocation.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(invocation), self.timeout)
        except TimeoutError:
            log.warning(
                "%s: no answer within the %.1f s integration timeout", function, self.timeout
            )
            self._abandoned.add(invocation)
            invocation.add_done_callback(self._abandoned.discard)
            raise IntegrationTimeout(function) from None

    async def drain(self, timeout: float) -> None:
        """Give invocations nobody waits for any more a moment to end (before stopping)."""
        if self._abandoned:
            await asyncio.wait(list(self._abandoned), timeout=timeout)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # marks it retrieved: failures are logged by the runtime
