"""The REQUEST authorizer on $connect: identity sources, and what its answer means."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mayachat_local.runtime.lambda_runtime import FunctionError


@dataclass(frozen=True)
class Decision:
    """Allow (status None) with the context for requestContext.authorizer, or a status."""

    status: int | None
    principal_id: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.status is None


def identity_present(
    sources: Iterable[str],
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
) -> bool:
    """Every identity source has a non-empty value; API Gateway answers 401 without calling
    the authorizer otherwise. Supports route.request.querystring.X and .header.X."""
    header_map = {name.lower(): value for name, value in headers}
    query_map = dict(query)
    for source in sources:
        if source.startswith("route.request.querystring."):
            value = query_map.get(source.removeprefix("route.request.querystring."))
        elif source.startswith("route.request.header."):
            value = header_map.get(source.removeprefix("route.request.header.").lower())
        else:  # stageVariables / context sources: nothing the client can omit
            continue
        if not value:
            return False
    return True


def decision_for_error(error: FunctionError) -> Decision:
    """`raise Exception("Unauthorized")` is the documented way to answer 401; any other
    failure (exception, timeout, crash) is a 500 in API Gateway, and here."""
    if error.error_message == "Unauthorized":
        return Decision(401, reason="authorizer raised Unauthorized")
    return Decision(500, reason=f"authorizer failed: {error.error_type}: {error.error_message}")


def decide(output: Any, method_arn: str) -> Decision:
    """Evaluate the authorizer's answer against the $connect method ARN. A malformed answer
    is API Gateway's AuthorizerConfigurationException: 500."""
    if not isinstance(output, Mapping):
        return Decision(500, reason="authorizer returned no policy object")
    principal = output.get("principalId")
    policy = output.get("policyDocument")
    context = output.get("context") or {}
    if not isinstance(principal, str | int | float) or isinstance(principal, bool):
        return Decision(500, reason="authorizer output lacks principalId")
    if not isinstance(policy, Mapping) or not isinstance(context, Mapping):
        return Decision(500, reason="authorizer output lacks policyDocument or has a bad context")
    if any(isinstance(v, Mapping | list) for v in context.values()):
        return Decision(500, reason="authorizer context values must be string, number or boolean")
    statements = policy.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping) or not _applies(statement, method_arn):
            continue
        effect = str(statement.get("Effect", "")).lower()
        if effect == "deny":
            return Decision(403, reason="policy denies execute-api:Invoke")
        allowed = allowed or effect == "allow"
    if not allowed:
        return Decision(403, reason="policy does not allow execute-api:Invoke on $connect")
    return Decision(None, principal_id=str(principal), context=dict(context))


def authorizer_context(decision: Decision, latency_ms: int) -> dict[str, Any]:
    """requestContext.authorizer: the context map as strings (API Gateway stringifies it),
    then principalId and integrationLatency."""
    ctx: dict[str, Any] = {key: _stringify(value) for key, value in decision.context.items()}
    ctx["principalId"] = decision.principal_id
    ctx["integrationLatency"] = latency_ms
    return ctx


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _applies(statement: Mapping[str, Any], method_arn: str) -> bool:
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    return any(_glob(a, "execute-api:Invoke", ignore_case=True) for a in actions) and any(
        _glob(r, method_arn) for r in resources
    )


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _glob(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: '*' any run of characters, '?' one character; nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, text, flags) is not None
