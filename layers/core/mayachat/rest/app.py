"""The FastAPI app: routes by resource, domain errors mapped to HTTP answers.

Not a member of a room: 404, for every room-scoped endpoint, so room ids do not leak.
Asking for another user's unread messages: 403. Bad input: 422 naming the field. A backing
store down (Kafka, Redis, MongoDB): 503 with Retry-After, never a 500.
"""

from __future__ import annotations

import pymongo.errors  # noqa: F401 - so transient_errors() includes MongoDB's
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from mayachat import bootstrap
from mayachat.errors import ChatError, ErrorCode, Forbidden, Invalid, NotFound
from mayachat.metrics import Count
from mayachat.rest import attachments, messages, presence, push, rooms

CHAT_ERROR_STATUS = {
    ErrorCode.NOT_A_MEMBER: 404,
    ErrorCode.INVALID_SEQ: 422,
    ErrorCode.INVALID_FIELD: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
}


RETRY_AFTER = {"Retry-After": "2"}


def create_app() -> FastAPI:
    app = FastAPI(
        title="MayaChat REST API",
        version="1.0.0",
        description="Catch up over HTTPS: history, unread, receipts, stats, rooms, "
        "attachments and presence. "
        "Every call needs `Authorization: Bearer <JWT>`; the user is the token's `sub`.",
    )
    app.include_router(messages.router)
    app.include_router(rooms.router)
    app.include_router(push.router)
    app.include_router(attachments.router)
    app.include_router(presence.router)

    @app.get("/health", tags=["health"], summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # A browser's CORS preflight (no token: browsers never send one with it) reaches the app by
    # the OPTIONS route, which has no authorizer; API Gateway adds the CORS headers of its
    # CorsConfiguration to this answer (template.yaml).
    @app.options("/api/{path:path}", include_in_schema=False, status_code=204)
    def preflight(path: str) -> Response:
        return Response(status_code=204)

    @app.exception_handler(NotFound)
    def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": f"not found: {exc}"}, status_code=404)

    @app.exception_handler(Forbidden)
    def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=403)

    @app.exception_handler(Invalid)
    def invalid(_: Request, exc: Invalid) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(ChatError)
    def chat_error(_: Request, exc: ChatError) -> JSONResponse:
        status = CHAT_ERROR_STATUS.get(exc.code, 400)
        if status == 503:
            bootstrap.metrics().count(Count.UNAVAILABLE)
        return JSONResponse(
            {"detail": exc.message, "code": exc.code.value},
            status_code=status,
            headers=RETRY_AFTER if status == 503 else None,
        )

    def unavailable(_: Request, exc: Exception) -> JSONResponse:
        bootstrap.metrics().count(Count.UNAVAILABLE)
        return JSONResponse(
            {"detail": "the service is briefly unavailable; retry", "code": "unavailable"},
            status_code=503,
            headers=RETRY_AFTER,
        )

    for error in bootstrap.transient_errors():
        app.add_exception_handler(error, unavailable)

    return app
