"""Dev tokens for the local stack: HS256 with a fixed, public, local-only secret.

`make token USER=alice` prints one. The deployed authorizer never accepts these: in AWS the
functions have JWT_JWKS_URL (RS256 keys of the real issuer) and no JWT_DEV_SECRET.
"""

from __future__ import annotations

import os
import sys
import time

import jwt

DEV_SECRET = "mayachat-local-dev-secret-do-not-use-in-aws"  # noqa: S105 - public, local only
DEV_ISSUER = "mayachat-local"
DEV_AUDIENCE = "mayachat"


def dev_secret() -> str:
    return os.environ.get("JWT_DEV_SECRET", DEV_SECRET)


def auth_environment() -> dict[str, str]:
    """What the local functions need to verify dev tokens."""
    return {"JWT_DEV_SECRET": dev_secret(), "JWT_ISSUER": DEV_ISSUER, "JWT_AUDIENCE": DEV_AUDIENCE}


def mint(user_id: str, ttl_seconds: int = 12 * 3600, **claims: object) -> str:
    now = int(time.time())
    payload = {
        "sub": user_id,
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        **claims,
    }
    return jwt.encode(payload, dev_secret(), algorithm="HS256")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0]:
        print("usage: python -m mayachat_local.devtools.devauth USER", file=sys.stderr)
        return 2
    print(mint(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
