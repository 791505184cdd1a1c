"""The local HTTP API: serves template.yaml's HttpApi routes by invoking their functions
with payload-format-2.0 events, through the same Lambda worker runtime as the WebSocket
gateway, so the REST function runs locally exactly as in Lambda (Mangum and all)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from mayachat_local.gateway.http_server import HttpRequest, HttpResponse, HttpServer
from mayachat_local.http_api.events import request_event, response_of
from mayachat_local.http_api.routes import read_http_routes, select
from mayachat_local.lambda_env import worker_environment
from mayachat_local.lambda_runtime import FunctionError, LambdaRuntime
from mayachat_local.template import function_spec, load_template

log = logging.getLogger("mayachat_local.http_api")

DEFAULT_PORT = 3000
_JSON = [("content-type", "application/json")]


class LocalHttpApi:
    def __init__(
        self,
        template_path: str | Path = "template.yaml",
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        env_overrides: Mapping[str, str] | None = None,
        *,
        max_concurrency: int = 10,
    ) -> None:
        self.template_path = Path(template_path)
        self.routes = read_http_routes(self.template_path)
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
        self._runtime = LambdaRuntime(
            specs,
            {
                name: worker_environment(spec, overrides=self.env_overrides)
                for name, spec in specs.items()
            },
            max_workers=self.max_concurrency,
        )
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
        found = select(self.routes, request.method, path)
        if found is None:
            return HttpResponse(404, b'{"message":"Not Found"}', list(_JSON))
        route, params = found
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
        return response_of(result)
