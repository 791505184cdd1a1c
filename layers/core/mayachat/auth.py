"""Bearer-token verification shared by the WebSocket authorizer and the REST API.

In AWS tokens are RS256, signed by the issuer (Cognito or any OIDC provider), whose JWKS is
fetched once and cached across invocations. Locally they are HS256 with a dev secret
(`make token USER=alice`). Only the configured algorithm is accepted, so `alg: none` and
algorithm-confusion tokens are refused; exp, sub, iss and aud are required.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from mayachat.settings import ConfigError, Settings

LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["exp", "sub", "iss", "aud"]


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for logs, not for clients)."""


@dataclass(frozen=True)
class Identity:
    user_id: str


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        dev_secret: str | None = None,
    ) -> None:
        if jwks_url:
            self._jwks: jwt.PyJWKClient | None = jwt.PyJWKClient(
                jwks_url, cache_keys=True, lifespan=3600, timeout=5
            )
            self._algorithms = ["RS256"]
        elif dev_secret:
            self._jwks = None
            self._algorithms = ["HS256"]
        else:
            raise ConfigError("set JWT_JWKS_URL (the issuer's keys) or, locally, JWT_DEV_SECRET")
        self._secret = dev_secret
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        return cls(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            jwks_url=settings.jwt_jwks_url,
            dev_secret=settings.jwt_dev_secret,
        )

    def verify(self, token: str | None) -> Identity:
        if not token:
            raise InvalidToken("no token")
        try:
            key = (
                self._jwks.get_signing_key_from_jwt(token).key
                if self._jwks is not None
                else str(self._secret)
            )
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("sub is empty")
        return Identity(user_id=subject)
