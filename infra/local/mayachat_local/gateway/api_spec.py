"""The WebSocket API as template.yaml declares it: selection expression, routes -> functions,
the $connect authorizer and the stage. The template is the only list of routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mayachat_local.runtime.template import (
    FunctionSpec,
    TemplateError,
    function_spec,
    load_template,
    plain_value,
    properties,
    referenced_names,
    resources_of_type,
)

CONNECT = "$connect"
DISCONNECT = "$disconnect"
DEFAULT = "$default"


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function: str  # logical id of the authorizer function
    identity_sources: tuple[str, ...]  # e.g. ("route.request.querystring.token",)


@dataclass(frozen=True)
class WebSocketApiSpec:
    logical_id: str
    selection_expression: str  # e.g. "$request.body.action"
    routes: dict[str, str]  # route key -> function logical id
    two_way: frozenset[str]  # route keys with a route response: the function's body is sent
    authorizer: AuthorizerSpec | None  # on $connect, when the route uses one
    stage: str | None  # the Stage resource's name, when it resolves without a deployment
    functions: dict[str, FunctionSpec]  # every function a route or the authorizer invokes


def _api_id_of(resource: Mapping[str, Any]) -> str | None:
    names = referenced_names(properties(resource).get("ApiId"))
    return names[0] if names else None


def _function_behind(uri: Any, template: Mapping[str, Any], where: str) -> str:
    # IntegrationUri / AuthorizerUri: arn:...:lambda:path/.../functions/${Fn.Arn}/invocations
    resources = template["Resources"]
    for name in referenced_names(uri):
        kind = (resources.get(name) or {}).get("Type")
        if kind == "AWS::Serverless::Function":
            return name
    raise TemplateError(f"{where}: its URI names no AWS::Serverless::Function ({uri!r})")


def _integration_of(target: Any, template: Mapping[str, Any], where: str) -> str:
    # Target: "integrations/${X}" (Sub), or a Join of "integrations" and !Ref X.
    integrations = resources_of_type(template, "AWS::ApiGatewayV2::Integration")
    if isinstance(target, str) and target.startswith("integrations/"):
        names = [target.removeprefix("integrations/")]
    else:
        names = referenced_names(target)
    for name in names:
        if name in integrations:
            return name
    raise TemplateError(f"{where}: Target {target!r} names no AWS::ApiGatewayV2::Integration")


def _pick_api(template: Mapping[str, Any], api: str | None) -> str:
    apis = [
        name
        for name, res in resources_of_type(template, "AWS::ApiGatewayV2::Api").items()
        if properties(res).get("ProtocolType") == "WEBSOCKET"
    ]
    if api is not None:
        if api not in apis:
            raise TemplateError(f"{api}: no WEBSOCKET AWS::ApiGatewayV2::Api with that id")
        return api
    if len(apis) != 1:
        raise TemplateError(
            f"expected one WEBSOCKET AWS::ApiGatewayV2::Api, found {len(apis)}: {apis}"
        )
    return apis[0]


def read_websocket_api(template_path: str | Path, api: str | None = None) -> WebSocketApiSpec:
    path = Path(template_path).resolve()
    template = load_template(path)
    api_id = _pick_api(template, api)
    api_props = properties(template["Resources"][api_id])
    expression = api_props.get("RouteSelectionExpression")
    if not isinstance(expression, str):
        raise TemplateError(f"{api_id}: RouteSelectionExpression must be a plain string")

    integrations = resources_of_type(template, "AWS::ApiGatewayV2::Integration")
    authorizers = resources_of_type(template, "AWS::ApiGatewayV2::Authorizer")
    routes: dict[str, str] = {}
    keys_by_route: dict[str, str] = {}
    authorizer: AuthorizerSpec | None = None
    for name, route in resources_of_type(template, "AWS::ApiGatewayV2::Route").items():
        if _api_id_of(route) != api_id:
            continue
        props = properties(route)
        key = props.get("RouteKey")
        if not isinstance(key, str):
            raise TemplateError(f"{name}: RouteKey must be a plain string")
        integration = _integration_of(props.get("Target"), template, name)
        uri = properties(integrations[integration]).get("IntegrationUri")
        routes[key] = _function_behind(uri, template, integration)
        keys_by_route[name] = key
        if key == CONNECT and props.get("AuthorizationType") == "CUSTOM":
            authorizer = _authorizer(props.get("AuthorizerId"), authorizers, template, name)

    needed = set(routes.values()) | ({authorizer.function} if authorizer else set())
    answered = _routes_with_a_response(template)
    two_way = frozenset(key for route, key in keys_by_route.items() if route in answered)
    return WebSocketApiSpec(
        logical_id=api_id,
        selection_expression=expression,
        routes=routes,
        two_way=two_way,
        authorizer=authorizer,
        stage=_stage_name(template, api_id),
        functions={fn: function_spec(template, fn, path.parent) for fn in sorted(needed)},
    )


def _routes_with_a_response(template: Mapping[str, Any]) -> set[str]:
    """Logical ids of routes with a `$default` route response ("two-way" routes: API Gateway
    sends the integration's response body to the client; without one it drops it)."""
    found = set()
    for name, resource in resources_of_type(template, "AWS::ApiGatewayV2::RouteResponse").items():
        props = properties(resource)
        route = props.get("RouteId")
        if props.get("RouteResponseKey") != DEFAULT:
            raise TemplateError(f"{name}: WebSocket APIs only have the $default route response")
        if not (isinstance(route, dict) and isinstance(route.get("Ref"), str)):
            raise TemplateError(f"{name}: RouteId must be a !Ref to a route")
        found.add(route["Ref"])
    return found


def _authorizer(
    ref: Any, authorizers: Mapping[str, Any], template: Mapping[str, Any], route: str
) -> AuthorizerSpec:
    names = [n for n in referenced_names(ref) if n in authorizers]
    if not names:
        raise TemplateError(f"{route}: AuthorizerId {ref!r} names no AWS::ApiGatewayV2::Authorizer")
    props = properties(authorizers[names[0]])
    if props.get("AuthorizerType") != "REQUEST":
        raise TemplateError(f"{names[0]}: only REQUEST authorizers exist for WebSocket APIs")
    sources = props.get("IdentitySource") or []
    if isinstance(sources, str):
        sources = [s.strip() for s in sources.split(",")]
    return AuthorizerSpec(
        name=names[0],
        function=_function_behind(props.get("AuthorizerUri"), template, names[0]),
        identity_sources=tuple(str(s) for s in sources),
    )


def _stage_name(template: Mapping[str, Any], api_id: str) -> str | None:
    for stage in resources_of_type(template, "AWS::ApiGatewayV2::Stage").values():
        if _api_id_of(stage) == api_id:
            return plain_value(properties(stage).get("StageName"), template)
    return None
