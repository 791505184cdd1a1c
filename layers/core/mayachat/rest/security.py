"""Who is calling: the bearer token, verified the same way as the WebSocket authorizer.

In AWS the HTTP API's JWT authorizer checks the token first; the app checks it again, so the
identity never comes from anything but a verified token (never a path or body field).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mayachat import bootstrap
from mayachat.auth import InvalidToken

_bearer = HTTPBearer(auto_error=False, description="A JWT; its `sub` is the user id")


def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers=challenge)
    try:
        return bootstrap.token_verifier().verify(credentials.credentials).user_id
    except InvalidToken:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or expired token", headers=challenge
        ) from None


CurrentUser = Annotated[str, Depends(current_user)]
