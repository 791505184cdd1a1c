"""Who is calling: the bearer token, verified the same way as the WebSocket authorizer, and
within their share: a token bucket per user (one Redis round trip), so one token flooding the
API cannot starve everyone behind the stage-wide throttle.

In AWS the HTTP API's JWT authorizer checks the token first; the app checks it again, so the
identity never comes from anything but a verified token (never a path or body field).
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mayachat import bootstrap
from mayachat.auth import InvalidToken, VerifierUnavailable
from mayachat.metrics import Count

_bearer = HTTPBearer(auto_error=False, description="A JWT; its `sub` is the user id")


def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers=challenge)
    try:
        user_id = bootstrap.token_verifier().verify(credentials.credentials).user_id
    except InvalidToken:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or expired token", headers=challenge
        ) from None
    except VerifierUnavailable:
        # The token may be fine: never a 401 that makes the app throw it away.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "cannot verify tokens right now; retry",
            headers={"Retry-After": "2"},
        ) from None
    wait = bootstrap.rate_limiter().take(user_id, bootstrap.limits().rest_call())
    if wait:
        bootstrap.metrics().count(Count.REST_RATE_LIMITED)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many requests from this user; retry after the Retry-After seconds",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return user_id


CurrentUser = Annotated[str, Depends(current_user)]
