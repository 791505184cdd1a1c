"""The HTTP API routes of template.yaml: every `Type: HttpApi` event of every function."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mayachat_local.runtime.template import load_template, properties, resources_of_type


@dataclass(frozen=True)
class HttpRoute:
    function: str  # logical id
    method: str  # GET, POST, ... or ANY
    path: str  # /api/{proxy+}
    pattern: re.Pattern[str]
    authorized: bool = False  # an authorizer checks it first (the API's default, unless NONE)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None

    @property
    def specificity(self) -> tuple[int, int, bool]:
        """API Gateway prefers exact paths, then fewer variables, then longer ones, and a
        route of the request's method over ANY on the same path."""
        return (self.path.count("{"), -len(self.path), self.method == "ANY")


def _compile(path: str) -> re.Pattern[str]:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(regex)


def read_http_routes(template_path: str | Path) -> list[HttpRoute]:
    template = load_template(template_path)
    defaults = {
        name: (properties(api).get("Auth") or {}).get("DefaultAuthorizer")
        for name, api in resources_of_type(template, "AWS::Serverless::HttpApi").items()
    }
    routes = []
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        for event in (properties(resource).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            path = str(props.get("Path", "$default"))
            method = str(props.get("Method", "ANY")).upper()
            if path == "$default":
                path, method = "/{proxy+}", "ANY"
            api = props.get("ApiId")
            default = defaults.get(api["Ref"]) if isinstance(api, dict) and "Ref" in api else None
            authorizer = (props.get("Auth") or {}).get("Authorizer", default)
            authorized = authorizer not in (None, "NONE")
            routes.append(HttpRoute(logical_id, method, path, _compile(path), authorized))
    return sorted(routes, key=lambda r: r.specificity)


def select(
    routes: list[HttpRoute], method: str, path: str
) -> tuple[HttpRoute, dict[str, str]] | None:
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None
