"""Bearer-token verification shared by the WebSocket authorizer and the REST API.

In AWS tokens are RS256, signed by the issuer (Cognito or any OIDC provider), whose JWKS is
cached for an hour across invocations (so a key the issuer retires stops working within the
hour) and fetched again when a token names a key id it lacks (a new key), at most every 30 s.
JWKS unreachable is `VerifierUnavailable`, a server-side failure to retry, never a reason
to tell a phone its good token is bad. Locally tokens are HS256 with a dev secret
(`make token USER=alice`). Only the configured algorithm is accepted, so `alg: none` and
algorithm-confusion tokens are refused; exp, sub, iss and aud are required, and `sub` must be
a valid user id (the same rule as everywhere else), so an odd one is refused at the door.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jwt

from mayachat.model import TOKEN_LEEWAY_SECONDS
from mayachat.patterns import USER_ID_PATTERN
from mayachat.settings import ConfigError, Settings

LEEWAY_SECONDS = TOKEN_LEEWAY_SECONDS
REQUIRED_CLAIMS = ["exp", "sub", "iss", "aud"]


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for logs, not for clients)."""


class VerifierUnavailable(Exception):
    """The issuer's keys could not be fetched: the token may be fine; retry later."""


_USER_ID = re.compile(USER_ID_PATTERN)


@dataclass(frozen=True)
class Identity:
    user_id: str
    expires_at: int  # the token's exp (epoch seconds): a socket opened with it ends there


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
            # The key set is cached with an expiry; cache_keys (an lru_cache of keys with
            # none) stays off, so a retired key does not live as long as the container.
            self._jwks: jwt.PyJWKClient | None = jwt.PyJWKClient(
                jwks_url, cache_keys=False, lifespan=3600, timeout=5, cooldown_duration=30
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
        except jwt.PyJWKClientConnectionError as exc:
            raise VerifierUnavailable(f"the issuer's keys are unreachable: {exc}") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from None
        try:
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
        if not isinstance(subject, str) or not _USER_ID.fullmatch(subject):
            raise InvalidToken("sub is not a valid user id (1-128 of [A-Za-z0-9_.@:|+-])")
        return Identity(user_id=subject, expires_at=int(claims["exp"]))
