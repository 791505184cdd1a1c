"""`make invoke`: one function, once, from template.yaml, against the local stack -- what
`sam local invoke` does, without Docker.

    make invoke FUNCTION=WsSendMessageFunction EVENT=tests/events/ws_send_message.json [AS=alice]

The function runs in a worker of the local Lambda runtime (the environment template.yaml and
Lambda give it, pointed at the local servers, which are started when they are not running and
left running). Its posts to @connections go to a local gateway started for the call (a
connection id from a sample event is gone: 410). The response is printed on stdout as JSON,
the function's logs on stderr; a failed invocation prints Lambda's error payload and exits 1.

AS=alice makes the event alice's: a fresh dev token in the authorizer's `?token=` or the REST
call's Authorization header, and her id in a route event's authorizer context.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import sys
from pathlib import Path
from typing import Any

from mayachat_local.config import StackConfig
from mayachat_local.devtools.devauth import mint
from mayachat_local.gateway.server import LocalWebSocketGateway
from mayachat_local.process import StackError
from mayachat_local.runtime.lambda_env import host_runtime
from mayachat_local.runtime.lambda_runtime import FunctionError
from mayachat_local.runtime.logview import configure as configure_logging
from mayachat_local.runtime.template import TemplateError, function_spec, load_template
from mayachat_local.stack import function_environment, up


def as_user(event: dict[str, Any], user: str) -> dict[str, Any]:
    """The event, sent by `user` with a valid dev token."""
    event = copy.deepcopy(event)
    context = event.setdefault("requestContext", {})
    if "methodArn" in event:  # the $connect authorizer
        event.setdefault("queryStringParameters", {})["token"] = mint(user)
    elif "rawPath" in event:  # HTTP API (payload 2.0): the app verifies the token again
        event.setdefault("headers", {})["authorization"] = f"Bearer {mint(user)}"
        claims = context.setdefault("authorizer", {}).setdefault("jwt", {})
        claims.setdefault("claims", {})["sub"] = user
    elif isinstance(context.get("authorizer"), dict) or "connectionId" in context:
        authorizer = context.setdefault("authorizer", {})
        authorizer.update({"userId": user, "principalId": user})
    return event


async def invoke(
    config: StackConfig, function: str, event: Any, overrides: dict[str, str] | None = None
) -> tuple[int, Any]:
    """(exit code, what to print): the response, or Lambda's error payload. `overrides` win
    over the local stack's environment (tests give their own database)."""
    template_path = config.repo / "template.yaml"
    try:
        spec = function_spec(load_template(template_path), function, template_path.parent)
    except TemplateError as exc:
        return 2, {"errorType": "TemplateError", "errorMessage": str(exc)}
    try:
        endpoints = {s.name: s.endpoint for s in up(config)}
    except StackError as exc:
        return 1, {"errorType": "StackError", "errorMessage": str(exc)}
    env = function_environment(endpoints) | (overrides or {})
    gateway = LocalWebSocketGateway(template_path, host=config.host, port=0, env_overrides=env)
    await gateway.start()
    runtime = host_runtime(
        {function: spec}, env, max_workers=1, management_endpoint=gateway.management_endpoint
    )
    try:
        result = await runtime.invoke(function, event, log_errors=False)
    except FunctionError as exc:
        error: dict[str, Any] = {"errorType": exc.error_type, "errorMessage": exc.error_message}
        if exc.stack_trace:
            error["stackTrace"] = exc.stack_trace
        return 1, error
    finally:
        await runtime.close()
        await gateway.stop()
    return 0, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("function", help="the function's logical id in template.yaml")
    parser.add_argument("event", type=Path, help="a JSON event file (tests/events/*.json)")
    parser.add_argument("--user", help="send the event as this user, with a fresh dev token")
    args = parser.parse_args(argv)
    configure_logging(pretty=True)
    try:
        event = json.loads(args.event.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the event {args.event}: {exc}", file=sys.stderr)
        return 2
    if args.user:
        event = as_user(event, args.user)
    # stdout carries the answer alone (scripts pipe it to jq); progress goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        code, output = asyncio.run(invoke(StackConfig.from_env(), args.function, event))
    print(json.dumps(output, indent=2, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
