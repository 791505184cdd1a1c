"""The local HTTP API: serves template.yaml's HttpApi routes by invoking their functions
with payload-format-2.0 events, through the same Lambda worker runtime as the WebSocket
gateway, so the REST function runs locally exactly as in Lambda (Mangum and all)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

from mayachat_local.gateway.http_server import HttpRequest, HttpResponse, HttpServer
from mayachat_local.http_api.cors import Cors
from mayachat_local.http_api.events import request_event, response_of
from mayachat_local.http_api.routes import read_http_routes, select
from mayachat_local.runtime.lambda_env import host_runtime
from mayachat_local.runtime.lambda_runtime import FunctionError, LambdaRuntime
from mayachat_local.runtime.template import function_spec, load_template

log = logging.getLogger("mayachat_local.http_api")

DEFAULT_PORT = 3000
_JSON = [("content-type", "application/json")]

# The web demo (local only, never deployed): static files, a dev-token minter and the URLs.
DEMO_STATIC = Path(__file__).resolve().parent.parent / "demo" / "static"
_DEMO_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
}
_DEMO_USER = re.compile(r"^[A-Za-z0-9_.@:|+-]{1,128}$")  # the REST API's user ids


class LocalHttpApi:
    def __init__(
        self,
        template_path: str | Path = "template.yaml",
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        env_overrides: Mapping[str, str] | None = None,
        *,
        max_concurrency: int = 10,
        demo: bool = False,
        websocket_url: str | None = None,
    ) -> None:
        """`demo` adds the local-only web demo under /demo/ (static page, POST /demo/token
        minting dev tokens, GET /demo/config naming `websocket_url` and this API's URL,
        GET /demo/pushes?token= listing what the local SNS recorded for a device)."""
        self.demo = demo
        self.websocket_url = websocket_url
        self.template_path = Path(template_path)
        self.routes = read_http_routes(self.template_path)
        self.cors = Cors.of(load_template(self.template_path))
        self.host = host
        self.port = port
        self.env_overrides = dict(env_overrides or {})
        self.max_concurrency = max_concurrency
        self.api_id = "local" + os.urandom(3).hex()
        self._http = HttpServer(self._handle)
        self._runtime: LambdaRuntime | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        template = load_template(self.template_path)
        base = self.template_path.resolve().parent
        specs = {
            name: function_spec(template, name, base) for name in {r.function for r in self.routes}
        }
        self._runtime = host_runtime(specs, self.env_overrides, max_workers=self.max_concurrency)
        self.port = await self._http.start(self.host, self.port)

    async def stop(self) -> None:
        await self._http.close()
        if self._runtime is not None:
            await self._runtime.close()

    def reload(self) -> None:
        if self._runtime is not None:
            self._runtime.reload()

    async def _handle(self, request: HttpRequest) -> HttpResponse:
        path = request.target.split("?", 1)[0]
        if self.demo and (path == "/demo" or path.startswith("/demo/")):
            return self._demo(request, path)
        found = select(self.routes, request.method, path)
        if found is None:
            if self.cors is not None and self.cors.is_preflight(request):
                return self.cors.preflight(request)
            return HttpResponse(404, b'{"message":"Not Found"}', list(_JSON))
        route, params = found
        if route.authorized and not request.headers.get("authorization"):
            # The JWT authorizer's identity source is missing: refused before any function
            # runs. (A token that is present is verified by the app, as in AWS it is again.)
            return HttpResponse(401, b'{"message":"Unauthorized"}', list(_JSON))
        event = request_event(
            request,
            route,
            params,
            api_id=self.api_id,
            domain=f"{self.host}:{self.port}",
            source_ip=self.host,
        )
        assert self._runtime is not None
        try:
            result = await self._runtime.invoke(route.function, event)
        except FunctionError:  # logged with its traceback and event by the runtime
            return HttpResponse(500, b'{"message":"Internal Server Error"}', list(_JSON))
        response = response_of(result)
        return self.cors.apply(request, response) if self.cors is not None else response

    # ------------------------------------------------------------------ the web demo (local)
    def _demo(self, request: HttpRequest, path: str) -> HttpResponse:
        if path == "/demo":
            return HttpResponse(308, b"", [("location", "/demo/")])
        if path == "/demo/token" and request.method == "POST":
            return self._demo_token(request.body)
        if path == "/demo/pushes" and request.method == "GET":
            return self._demo_pushes(request)
        if path == "/demo/config" and request.method == "GET":
            config = {"websocket": self.websocket_url, "rest": self.url}
            return HttpResponse(200, json.dumps(config).encode(), list(_JSON))
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(405, b'{"message":"Method Not Allowed"}', list(_JSON))
        name = path.removeprefix("/demo/") or "index.html"
        file = (DEMO_STATIC / name).resolve()
        if not file.is_relative_to(DEMO_STATIC) or not file.is_file():
            return HttpResponse(404, b'{"message":"Not Found"}', list(_JSON))
        kind = _DEMO_TYPES.get(file.suffix, "application/octet-stream")
        body = file.read_bytes() if request.method == "GET" else b""
        return HttpResponse(200, body, [("content-type", kind), ("cache-control", "no-store")])

    def _demo_pushes(self, request: HttpRequest) -> HttpResponse:
        """What the local AWS server recorded for a device token (moto: /moto-api)."""
        from urllib.parse import parse_qs, urlsplit

        from mayachat_local.devtools.pushes import pushes

        token = parse_qs(urlsplit(request.target).query).get("token", [""])[0]
        aws = self.env_overrides.get("AWS_ENDPOINT_URL")
        if not token or not aws:
            return HttpResponse(422, b'{"message":"?token= and a local AWS server"}', list(_JSON))
        try:
            found = [dataclasses.asdict(p) for p in pushes(aws, token)]
        except OSError as exc:
            message = {"message": f"the local AWS server did not answer: {exc}"}
            return HttpResponse(503, json.dumps(message).encode(), list(_JSON))
        return HttpResponse(200, json.dumps(found).encode(), list(_JSON))

    @staticmethod
    def _demo_token(body: bytes) -> HttpResponse:
        from mayachat_local.devtools.devauth import mint

        try:
            user = json.loads(body or b"{}").get("user")
        except (ValueError, AttributeError):
            user = None
        if not isinstance(user, str) or not _DEMO_USER.match(user):
            message = {"message": 'body must be {"user": "<id>"}, a user id of 1-128 characters'}
            return HttpResponse(422, json.dumps(message).encode(), list(_JSON))
        return HttpResponse(
            200, json.dumps({"user": user, "token": mint(user)}).encode(), list(_JSON)
        )
