"""The WebSocket edge: API Gateway events in, calls to the chat services, frames out.

Every frame function is `frame_route(routes)` (mayachat.edge.routes holds the table): it
reads the event, rate-limits the connection, decodes and validates the frame against its
route's model (pydantic, imported at the first frame: see `FrameRoute`), and
turns a refusal into an error frame. The socket stays open (but for token_expired and a
flood); an unexpected failure is logged with the event and answered with `internal_error`.

The answer to the frame (the action's reply, or the error frame) is the response body: the
frame routes are two-way (a `$default` RouteResponse in template.yaml), so API Gateway sends it
on the socket -- no @connections round trip for an ack, a pong or an error.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from aws_lambda_powertools import Logger

from mayachat import bootstrap
from mayachat.codec import (
    decode_body,
    echoable_client_msg_id,
    echoable_message_id,
    encode,
    error_frame,
)
from mayachat.edge.telemetry import publishes_metrics
from mayachat.errors import ChatError, ErrorCode
from mayachat.frames import ServerFrame
from mayachat.metrics import Count
from mayachat.model import TOKEN_LEEWAY_SECONDS, Caller

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from mayachat.protocol import Frame

logger = Logger()

Event = dict[str, Any]
Response = dict[str, Any]
LambdaHandler = Callable[[Event, "LambdaContext"], Response]
Reply = ServerFrame | None  # a frame for the caller, sent as the route response
F = TypeVar("F", bound="Frame")

OK: Response = {"statusCode": 200}


@dataclass(frozen=True)
class Request:
    """What a route reads of API Gateway's event. A dict read, not Powertools' parser models:
    those build some 20 pydantic models at cold start to check a shape AWS guarantees. A key
    missing here is a deploy bug and fails the invocation (KeyError), as the models did."""

    route_key: str
    connection_id: str
    authorizer: dict[str, Any]  # the $connect authorizer's context, on every route
    body: str | None = None
    is_base64_encoded: bool = False
    disconnect_status_code: int | None = None

    @classmethod
    def of(cls, event: Event) -> Request:
        context = event["requestContext"]
        body = event.get("body")
        return cls(
            route_key=str(context["routeKey"]),
            connection_id=str(context["connectionId"]),
            authorizer=dict(context.get("authorizer") or {}),
            body=body if isinstance(body, str) else None,
            is_base64_encoded=bool(event.get("isBase64Encoded", False)),
            disconnect_status_code=context.get("disconnectStatusCode"),
        )

    def text(self) -> str | None:
        if self.body is None:
            return None
        if self.is_base64_encoded:
            return base64.b64decode(self.body).decode("utf-8", errors="replace")
        return self.body


def _caller(authorizer: dict[str, Any], connection_id: str) -> Caller:
    user_id = authorizer.get("userId")
    if not isinstance(user_id, str) or not user_id:
        # Only reachable if the route runs without the $connect authorizer: a deploy bug.
        raise RuntimeError("no userId in the authorizer context")
    return Caller(user_id=user_id, connection_id=connection_id)


def _token_expired(authorizer: dict[str, Any]) -> bool:
    """The authorizer put the token's exp in the context (API Gateway passes it as a string);
    connections opened before that have none and run to their 2 h lifetime."""
    try:
        expires_at = float(authorizer["tokenExpiresAt"])
    except (KeyError, TypeError, ValueError):
        return False
    return time.time() > expires_at + TOKEN_LEEWAY_SECONDS


def _frame_of(event: Request, decoded: dict[str, Any]) -> dict[str, Any]:
    """The frame, for echoing its clientMsgId: decoded already, or decoded now (a store can
    fail before the frame is read: the rate limit is the first Redis call)."""
    if decoded:
        return decoded
    try:
        return decode_body(event.text(), bootstrap.settings().max_frame_bytes)
    except ChatError:
        return {}


def redacted(event: Event) -> Event:
    """The event for an error log: its shape and ids, not what users wrote, their tokens or
    their IPs."""
    copy = dict(event)
    if isinstance(copy.get("body"), str):
        copy["body"] = f"<{len(copy['body'])} characters, redacted>"
    for field in (
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "headers",
        "multiValueHeaders",
    ):
        if copy.get(field):
            copy[field] = dict.fromkeys(copy[field], "<redacted>")
    context = dict(copy.get("requestContext") or {})
    if isinstance(context.get("identity"), dict):
        context["identity"] = dict.fromkeys(context["identity"], "<redacted>")
    copy["requestContext"] = context
    return copy


def _end(caller: Caller, error: ChatError) -> Response:
    """Tell the caller why by @connections (a route response would find the socket closed),
    then close it; if that fails, the route response tells it, and the socket stays open."""
    try:
        bootstrap.delivery().end(caller, error_frame(error))
    except Exception:
        logger.exception("could not close the connection", extra={"code": error.code.value})
        return answer(error_frame(error))
    return OK


def answer(frame: ServerFrame, status: int = 200) -> Response:
    return {"statusCode": status, "body": encode(frame).decode()}


@dataclass(frozen=True)
class FrameRoute(Generic[F]):
    """A route's frame model and the service call that serves it. The table names the model
    (in mayachat.protocol): the models, and pydantic with them (~0.15 s), are imported at the
    first frame, not at cold start, which a $default, $connect or ping never needs (under
    SnapStart the snapshot has them: bootstrap.prepare_snapshot)."""

    frame: type[F] | str
    serve: Callable[[Caller, F], Reply]

    @property
    def model(self) -> type[F]:
        if isinstance(self.frame, str):
            from mayachat import protocol

            return cast("type[F]", getattr(protocol, self.frame))
        return self.frame

    def parse(self, data: dict[str, Any], max_text: int) -> F:
        from mayachat.protocol import parse_frame

        return parse_frame(self.model, data, max_text=max_text)


def frame_route(routes: Mapping[str, FrameRoute[Any]]) -> LambdaHandler:
    """The handler of a function serving these route keys; a frame on any other route (the
    $default route: no or an unknown action) is refused with `unknown_action`."""

    @publishes_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: Event, context: LambdaContext) -> Response:
        ctx = Request.of(event)
        logger.append_keys(
            route=ctx.route_key, connectionId=ctx.connection_id, userId=ctx.authorizer.get("userId")
        )
        data: dict[str, Any] = {}
        try:
            caller = _caller(ctx.authorizer, ctx.connection_id)
            if _token_expired(ctx.authorizer):
                raise ChatError(
                    ErrorCode.TOKEN_EXPIRED,
                    "this connection's token has expired: reconnect with a fresh token",
                    closes=True,
                )
            bootstrap.frame_gate().admit(
                caller, lambda: echoable_client_msg_id(_frame_of(ctx, {}).get("clientMsgId"))
            )
            settings = bootstrap.settings()
            data = decode_body(ctx.text(), settings.max_frame_bytes)
            route = routes.get(ctx.route_key)
            if route is None:
                action_name = data.get("action")
                raise ChatError(
                    ErrorCode.UNKNOWN_ACTION,
                    f"unknown action {action_name!r}"
                    if action_name is not None
                    else "frame has no action",
                )
            frame = route.parse(data, settings.max_text_length)
            reply = route.serve(caller, frame)
        except ChatError as error:
            logger.info("frame refused", extra={"code": error.code.value, "reason": error.message})
            if error.code is ErrorCode.UNAVAILABLE:
                bootstrap.metrics().count(Count.UNAVAILABLE)
            return _end(caller, error) if error.closes else answer(error_frame(error))
        except bootstrap.transient_errors() as exc:
            # Redis or MongoDB down or failing over: nothing was acked, the client retries.
            logger.warning(
                "a backing store is unavailable", extra={"error": f"{type(exc).__name__}: {exc}"}
            )
            bootstrap.metrics().count(Count.UNAVAILABLE)
            frame_data = _frame_of(ctx, data)
            unavailable = ChatError(
                ErrorCode.UNAVAILABLE,
                "the service is briefly unavailable; retry (a message with the same clientMsgId)",
                client_msg_id=echoable_client_msg_id(frame_data.get("clientMsgId")),
                message_id=echoable_message_id(frame_data.get("messageId")),
            )
            return answer(error_frame(unavailable))
        except Exception:
            logger.exception("route failed", extra={"event": redacted(event)})
            internal = f"internal error (request {context.aws_request_id})"
            return answer(error_frame(ChatError(ErrorCode.INTERNAL, internal)), status=500)
        return answer(reply) if reply is not None else OK

    return handler


def default_route() -> LambdaHandler:
    """$default: every frame no route matched (not JSON, no action, unknown action)."""
    return frame_route({})


def connect_route() -> LambdaHandler:
    @publishes_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: Event, context: LambdaContext) -> Response:
        ctx = Request.of(event)
        caller = _caller(ctx.authorizer, ctx.connection_id)
        logger.append_keys(
            route="$connect", connectionId=caller.connection_id, userId=caller.user_id
        )
        try:
            bootstrap.connections().connect(caller)
        except ChatError as refused:
            # A non-2xx $connect answer refuses the upgrade with that HTTP status.
            logger.info("connection refused", extra={"code": refused.code.value})
            return answer(error_frame(refused), status=429)
        return OK

    return handler


def disconnect_route() -> LambdaHandler:
    @publishes_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: Event, context: LambdaContext) -> Response:
        ctx = Request.of(event)
        logger.append_keys(
            route="$disconnect",
            connectionId=ctx.connection_id,
            statusCode=ctx.disconnect_status_code,
        )
        bootstrap.connections().disconnect(ctx.connection_id)
        return OK

    return handler
