"""The issuer's keys (JWKS) served by a real HTTP server of this test's own: a key the issuer
adds is fetched when a token names it, a key it retires stops working when the cached set
expires, and an unreachable issuer is a retryable failure, never a bad token."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mayachat.auth import InvalidToken, TokenVerifier, VerifierUnavailable

ISSUER, AUDIENCE = "https://issuer.test", "mayachat"


class Issuer:
    """Signing keys and the JWKS document that publishes them."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.fetches = 0

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> bytes:
        self.fetches += 1
        public = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            public.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return json.dumps({"keys": public}).encode()

    def token(self, kid: str, sub: str = "alice") -> str:
        claims = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def issuer() -> Iterator[tuple[Issuer, str, ThreadingHTTPServer]]:
    state = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state.jwks()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield state, url, server
    server.shutdown()
    server.server_close()


def test_a_key_the_issuer_adds_is_fetched_when_a_token_names_it(
    issuer: tuple[Issuer, str, ThreadingHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url, _ = issuer
    state.add_key("k1")
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=url)
    assert verifier.verify(state.token("k1")).user_id == "alice"
    assert verifier.verify(state.token("k1")).user_id == "alice"
    assert state.fetches == 1  # cached
    state.add_key("k2")  # rotation: a new key id
    with pytest.raises(InvalidToken):  # unknown kids refetch at most every 30 s: no flood
        verifier.verify(state.token("k2"))
    later = time.monotonic() + 31
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert verifier.verify(state.token("k2")).user_id == "alice"
    assert state.fetches == 2


def test_a_retired_key_stops_working_once_the_cached_set_expires(
    issuer: tuple[Issuer, str, ThreadingHTTPServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url, _ = issuer
    state.add_key("old")
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=url)
    old_token = state.token("old")
    assert verifier.verify(old_token).user_id == "alice"
    del state.keys["old"]  # the issuer retires it (a leaked key)
    state.add_key("new")
    later = time.monotonic() + 3601  # past the key set's one-hour lifespan
    monkeypatch.setattr(time, "monotonic", lambda: later)
    with pytest.raises(InvalidToken):
        verifier.verify(old_token)


def test_an_unreachable_issuer_is_a_retryable_failure_not_a_bad_token(
    issuer: tuple[Issuer, str, ThreadingHTTPServer],
) -> None:
    state, url, server = issuer
    state.add_key("k1")
    token = state.token("k1")
    server.shutdown()
    server.server_close()  # nothing listens there now
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=url)
    with pytest.raises(VerifierUnavailable):
        verifier.verify(token)
