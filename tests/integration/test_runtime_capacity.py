"""The local runtime's capacity: at most so many warm workers in the process, whatever
functions a session touched (past the budget the least recently used idle one retires), and
a function's reserved concurrency, past which Lambda throttles."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import pytest

from mayachat_local.runtime import capacity
from mayachat_local.runtime.capacity import WarmBudget
from mayachat_local.runtime.lambda_runtime import FunctionError, LambdaRuntime
from mayachat_local.runtime.template import function_spec, load_template

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "gateway" / "template.yaml"
EVENT = {"requestContext": {"routeKey": "reply"}, "body": "{}"}


def test_past_the_budget_the_least_recently_used_warm_worker_retires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(capacity, "WARM_BUDGET", WarmBudget(2))
    replier = function_spec(load_template(FIXTURE), "ReplierFunction", FIXTURE.parent)
    names = ["First", "Second", "Third"]
    specs = {n: replace(replier, logical_id=n, name=n) for n in names}
    runtime = LambdaRuntime(specs, {n: dict(os.environ) for n in names}, max_workers=1)

    async def touch(order: list[str]) -> dict[str, list[int]]:
        for name in order:
            await runtime.invoke(name, EVENT)
        return {n: runtime.pool(n).worker_pids for n in names}

    async def session() -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        try:
            after_three = await touch(names)
            after_first_again = await touch(["First"])
            return after_three, after_first_again
        finally:
            await runtime.close()

    after_three, after_first_again = asyncio.run(session())
    assert [len(after_three[n]) for n in names] == [0, 1, 1]  # First was the oldest
    # First starts cold again, and now Second is the least recently used.
    assert [len(after_first_again[n]) for n in names] == [1, 0, 1]
    assert after_first_again["Third"] == after_three["Third"]  # still the same warm worker


def test_past_its_reserved_concurrency_a_function_is_throttled_as_in_lambda(
    caplog: pytest.LogCaptureFixture,
) -> None:
    replier = function_spec(load_template(FIXTURE), "ReplierFunction", FIXTURE.parent)
    spec = replace(replier, reserved_concurrency=1)
    runtime = LambdaRuntime({"Reserved": spec}, {"Reserved": dict(os.environ)}, max_workers=5)

    async def two_at_once() -> list[object]:
        try:
            return await asyncio.gather(
                runtime.invoke("Reserved", EVENT),
                runtime.invoke("Reserved", EVENT),
                return_exceptions=True,
            )
        finally:
            await runtime.close()

    first, second = asyncio.run(two_at_once())
    assert isinstance(first, dict)
    assert isinstance(second, FunctionError)
    assert second.error_type == "TooManyRequestsException"
    throttled = [r for r in caplog.records if "THROTTLED" in r.getMessage()]
    assert [r.levelname for r in throttled] == ["WARNING"]  # capacity, not a crash
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_the_templates_reservations_are_read_with_the_parameters_defaults() -> None:
    template = load_template(FIXTURE.parents[2].parent / "template.yaml")
    root = FIXTURE.parents[2].parent
    reserved = {
        name: function_spec(template, name, root).reserved_concurrency
        for name in ("PersistFunction", "WsAuthorizerFunction", "WsSendMessageFunction")
    }
    # PersistReservedConcurrency 10, AuthorizerReservedConcurrency 20, producers 0 (none).
    assert reserved == {
        "PersistFunction": 10,
        "WsAuthorizerFunction": 20,
        "WsSendMessageFunction": None,
    }
