"""Token verification: only well-formed, signed, current tokens for our audience pass."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from mayachat.auth import Identity, InvalidToken, TokenVerifier
from mayachat.settings import ConfigError

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
ISSUER, AUDIENCE = "mayachat-local", "mayachat"


def token(**overrides: Any) -> str:
    claims = {
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 600,
        "iat": int(time.time()),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, dev_secret=SECRET)


def test_a_good_token_yields_its_subject_and_expiry(verifier: TokenVerifier) -> None:
    exp = int(time.time()) + 600
    assert verifier.verify(token(exp=exp)) == Identity(user_id="alice", expires_at=exp)


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "not-a-jwt",
        token(exp=int(time.time()) - 3600),
        token(aud="someone-else"),
        token(iss="https://evil.example"),
        token(sub=None),
        token(sub="x" * 129),
        token(sub="alice smith"),
        token(sub="bob\u0000"),
        token(exp=None),
        jwt.encode(
            {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600},
            "another-secret-long-enough-for-hs256-x",
            algorithm="HS256",
        ),
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "expired",
        "wrong-aud",
        "wrong-iss",
        "no-sub",
        "sub-too-long",
        "sub-with-a-space",
        "sub-with-a-nul",
        "no-exp",
        "wrong-key",
    ],
)
def test_bad_tokens_are_refused(verifier: TokenVerifier, bad: str | None) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(bad)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    claims = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(InvalidToken):
        verifier.verify(unsigned)


def test_a_tampered_payload_is_refused(verifier: TokenVerifier) -> None:
    header, _, signature = token().split(".")
    forged = _b64({"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600})
    with pytest.raises(InvalidToken):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_without_keys_or_secret_it_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="JWT_JWKS_URL"):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE)
