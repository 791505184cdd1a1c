"""HTTP API payload format 2.0: requests to Lambda events, Lambda results to responses."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

from mayachat_local.gateway.http_server import HttpRequest, HttpResponse
from mayachat_local.http_api.routes import HttpRoute

_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/javascript")


def request_event(
    request: HttpRequest,
    route: HttpRoute,
    params: dict[str, str],
    *,
    api_id: str,
    domain: str,
    source_ip: str,
) -> dict[str, Any]:
    url = urlsplit(request.target)
    now = time.time()
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "cookie"}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": request.method,
                "path": url.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if "cookie" in {k.lower() for k in request.headers}:
        cookie = next(v for k, v in request.headers.items() if k.lower() == "cookie")
        event["cookies"] = [c.strip() for c in cookie.split(";") if c.strip()]
    if params:
        event["pathParameters"] = {k: unquote(v) for k, v in params.items()}
    if request.body:
        if _is_text(headers.get("content-type", "")):
            event["body"] = request.body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    return event


def _is_text(content_type: str) -> bool:
    return content_type.startswith(_TEXT_TYPES)


def response_of(result: Any) -> HttpResponse:
    """API Gateway's reading of a v2 result: a dict with statusCode is used as is; anything
    else is a 200 with the result as JSON."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse(
            200, json.dumps(result).encode(), [("content-type", "application/json")]
        )
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name, str(v)) for v in values]
    headers += [("set-cookie", c) for c in result.get("cookies") or []]
    return HttpResponse(int(result["statusCode"]), raw, headers)
