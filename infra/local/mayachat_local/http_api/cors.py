"""The HTTP API's CORS, as API Gateway applies a `CorsConfiguration`: it answers a preflight
that no route takes, puts its own Access-Control-* headers on every response to an allowed
origin, and drops the ones the backend set (AWS: "API Gateway ignores CORS headers returned
from your backend integration"). A preflight that a route does take -- an `ANY` route with
an authorizer, say -- goes to that route like any request: that is API Gateway's behaviour,
and why template.yaml gives `/api/{proxy+}` an OPTIONS route without an authorizer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mayachat_local.gateway.http_server import HttpRequest, HttpResponse
from mayachat_local.runtime.template import plain_value, properties, resources_of_type


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...]
    allow_headers: tuple[str, ...]
    allow_methods: tuple[str, ...]
    max_age: str | None

    @classmethod
    def of(cls, template: Mapping[str, Any]) -> Cors | None:
        """The (first) HttpApi's CorsConfiguration, its parameters at their defaults."""
        for api in resources_of_type(template, "AWS::Serverless::HttpApi").values():
            config = properties(api).get("CorsConfiguration")
            if not isinstance(config, dict):
                continue

            max_age = config.get("MaxAge")
            return cls(
                _values(config, "AllowOrigins", template),
                tuple(h.lower() for h in _values(config, "AllowHeaders", template)),
                tuple(m.upper() for m in _values(config, "AllowMethods", template)),
                plain_value(max_age, template) if max_age is not None else None,
            )
        return None

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins

    @staticmethod
    def is_preflight(request: HttpRequest) -> bool:
        return (
            request.method == "OPTIONS"
            and "origin" in request.headers
            and "access-control-request-method" in request.headers
        )

    def preflight(self, request: HttpRequest) -> HttpResponse:
        """API Gateway's own answer to a preflight no route takes."""
        response = HttpResponse(204)
        origin = request.headers.get("origin", "")
        if self.allows(origin):
            response.headers += self._origin(origin) + self._preflight_headers()
            if self.max_age is not None:
                response.headers.append(("access-control-max-age", self.max_age))
        return response

    def apply(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """The configured headers on a route's response, in place of the backend's."""
        response.headers = [
            (k, v) for k, v in response.headers if not k.lower().startswith("access-control-")
        ]
        origin = request.headers.get("origin")
        if origin is not None and self.allows(origin):
            response.headers += self._origin(origin)
            if self.is_preflight(request):  # a route answered it: still API Gateway's headers
                response.headers += self._preflight_headers()
        return response

    def _preflight_headers(self) -> list[tuple[str, str]]:
        headers = [("access-control-allow-methods", ",".join(self.allow_methods))]
        if self.allow_headers:
            headers.append(("access-control-allow-headers", ",".join(self.allow_headers)))
        return headers

    def _origin(self, origin: str) -> list[tuple[str, str]]:
        if "*" in self.allow_origins:
            return [("access-control-allow-origin", "*")]
        return [("access-control-allow-origin", origin), ("vary", "origin")]


def _values(config: Mapping[str, Any], key: str, template: Mapping[str, Any]) -> tuple[str, ...]:
    found = (plain_value(v, template) for v in config.get(key) or [])
    return tuple(v for v in found if v is not None)
