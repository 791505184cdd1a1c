"""The local HTTP API's routes and CORS, read from template.yaml as API Gateway reads them."""

from __future__ import annotations

from pathlib import Path

from mayachat_local.gateway.http_server import HttpRequest, HttpResponse
from mayachat_local.http_api.cors import Cors
from mayachat_local.http_api.routes import read_http_routes, select
from mayachat_local.runtime.template import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def preflight(origin: str = "https://app.example") -> HttpRequest:
    headers = {"origin": origin, "access-control-request-method": "GET"}
    return HttpRequest("OPTIONS", "/api/rooms", headers, b"")


def test_preflights_take_the_route_without_an_authorizer() -> None:
    routes = read_http_routes(TEMPLATE)
    found = select(routes, "OPTIONS", "/api/rooms")
    assert found is not None
    assert (found[0].method, found[0].authorized) == ("OPTIONS", False)  # not ANY's
    get = select(routes, "GET", "/api/rooms")
    assert get is not None
    assert (get[0].method, get[0].authorized) == ("ANY", True)
    health = select(routes, "GET", "/health")
    assert health is not None
    assert not health[0].authorized


def test_cors_answers_as_configured_and_replaces_the_backends_headers() -> None:
    cors = Cors.of(load_template(TEMPLATE))
    assert cors is not None
    assert "authorization" in cors.allow_headers
    assert "GET" in cors.allow_methods
    answer = dict(cors.preflight(preflight()).headers)
    assert answer["access-control-allow-origin"] == "*"  # the parameter's default
    assert "authorization" in answer["access-control-allow-headers"]
    backend = HttpResponse(200, b"{}", [("access-control-allow-origin", "https://evil.example")])
    applied = dict(
        cors.apply(HttpRequest("GET", "/api/rooms", {"origin": "https://a"}, b""), backend).headers
    )
    assert applied["access-control-allow-origin"] == "*"


def test_only_allowed_origins_get_the_headers() -> None:
    cors = Cors(("https://app.example",), ("authorization",), ("GET",), "600")
    assert (
        dict(cors.preflight(preflight()).headers)["access-control-allow-origin"]
        == "https://app.example"
    )
    assert not cors.preflight(preflight("https://other.example")).headers
