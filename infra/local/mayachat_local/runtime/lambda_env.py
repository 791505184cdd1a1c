"""How every emulator hosts its functions: the environment a local Lambda worker starts with,
the region they run in, and the runtime that invokes them (the gateway, the HTTP API and the
event-source mappings all build theirs here)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from mayachat_local.runtime.lambda_runtime import LambdaRuntime
from mayachat_local.runtime.template import FunctionSpec

DEFAULT_REGION = "us-east-1"


def worker_environment(
    spec: FunctionSpec,
    *,
    management_endpoint: str | None = None,
    overrides: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """os.environ, then the template's plain values, then what Lambda itself sets, then the
    caller's overrides (they win: that is how local endpoints replace the template's).
    `management_endpoint` is the local @connections API, when a gateway runs."""
    env = dict(os.environ if base is None else base)
    env.update(spec.environment)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": _seconds(spec.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "_HANDLER": spec.handler,
        }
    )
    if management_endpoint is not None:
        # The template's value is a !Sub of the deployed API; ours is the local gateway.
        env["WEBSOCKET_MANAGEMENT_ENDPOINT"] = management_endpoint
    env.update(overrides or {})
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    env["AWS_REGION"] = region
    env.setdefault("AWS_DEFAULT_REGION", region)
    if not env.get("AWS_ACCESS_KEY_ID") and not env.get("AWS_PROFILE"):
        # boto3 signs every request; the local endpoints accept any key, AWS accepts none.
        env["AWS_ACCESS_KEY_ID"] = "local"
        env["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - a placeholder, not a secret
    # LAMBDA_TASK_ROOT makes Powertools' Tracer think it is in Lambda; no X-Ray daemon here.
    env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    return env


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def host_region(overrides: Mapping[str, str]) -> str:
    """The region the functions run in: the overrides', the environment's, or us-east-1."""
    return (
        overrides.get("AWS_REGION")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION
    )


def host_runtime(
    functions: Mapping[str, FunctionSpec],
    overrides: Mapping[str, str],
    *,
    max_workers: int,
    management_endpoint: str | None = None,
) -> LambdaRuntime:
    """A runtime for these functions, each worker with its environment (worker_environment)."""
    return LambdaRuntime(
        functions,
        {
            name: worker_environment(
                spec, management_endpoint=management_endpoint, overrides=overrides
            )
            for name, spec in functions.items()
        },
        max_workers=max_workers,
    )
