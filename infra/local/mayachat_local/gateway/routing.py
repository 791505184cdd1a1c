"""Route selection: `$request.body.<path>` evaluated on the frame's JSON body."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from mayachat_local.gateway.api_spec import CONNECT, DEFAULT, DISCONNECT

_BODY_PREFIX = "$request.body."


class SelectionExpression:
    """A parsed RouteSelectionExpression; only `$request.body.*` exists for WebSocket APIs
    backed by Lambda (`${request.body.x}` is accepted too)."""

    def __init__(self, expression: str) -> None:
        text = expression.strip()
        if text.startswith("${") and text.endswith("}"):
            text = "$" + text[2:-1]
        if not text.startswith(_BODY_PREFIX) or text == _BODY_PREFIX:
            raise ValueError(f"unsupported RouteSelectionExpression {expression!r}")
        self.expression = expression
        self.path = text.removeprefix(_BODY_PREFIX).split(".")

    def evaluate(self, body: str | bytes) -> str | None:
        """The selected value, or None when the body is not a JSON object holding a string
        at the path (binary frames never match: they are not JSON text)."""
        if isinstance(body, bytes):
            return None
        try:
            value: Any = json.loads(body)
        except ValueError:
            return None
        for key in self.path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value if isinstance(value, str) else None


def select_route(
    expression: SelectionExpression, body: str | bytes, routes: Collection[str]
) -> str | None:
    """The route key for a frame: the selected key if declared, else `$default` if declared,
    else None (API Gateway then answers the client with a Forbidden error frame)."""
    key = expression.evaluate(body)
    if key is not None and key in routes and key not in (CONNECT, DISCONNECT, DEFAULT):
        return key
    return DEFAULT if DEFAULT in routes else None
