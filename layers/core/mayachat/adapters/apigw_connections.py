"""Posting frames to WebSocket connections through the API Gateway Management API.

Each post is one SigV4-signed `POST /{stage}/@connections/{id}`, signed by botocore's own
signer and sent over a kept-alive `http.client` connection per thread. Not the boto3 client:
profiling the send path showed its request pipeline (parameter handling, event hooks, urllib3)
at ~1.2 ms of CPU per post against ~0.3 ms for sign + send, and a room's fan-out is one post
per member under one GIL. It also keeps ~85 ms of service-model loading out of cold start.

Fan-out is concurrent (a thread pool) so a room of 500 costs about as much as its slowest
posts, not the sum. 429 and 5xx answers and dropped connections are retried with jittered
backoff (short: a chat frame is worth little seconds later); 410 Gone is reported so the
caller drops that connection; any other failure is logged and ignored (the message is in the
log).
"""

from __future__ import annotations

import http.client
import random
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from aws_lambda_powertools import Logger

from mayachat.ports import Posted
from mayachat.tracing import traced_calls

if TYPE_CHECKING:  # botocore (~0.1 s) at the first post: pings and $connect never sign
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials

logger = Logger(child=True)

# The log message of a post that failed for good (not 410); the Delivery service counts these
# as the DeliveryFailed metric, which an alarm watches (a 403 would otherwise only log).
DELIVERY_FAILED = "delivery failed"

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 4
BACKOFF_BASE_SECONDS = 0.025
BACKOFF_CAP_SECONDS = 0.5
TIMEOUT_SECONDS = 5.0


class _Result(Enum):
    DELIVERED = "delivered"
    GONE = "gone"
    FAILED = "failed"


@traced_calls("connections")
class ApiGatewayConnections:
    def __init__(
        self,
        endpoint_url: str,
        region: str,
        max_concurrency: int = 32,
        credentials: Credentials | None = None,
    ) -> None:
        url = urlsplit(endpoint_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self._endpoint = f"{url.scheme}://{url.netloc}"
        self._stage_path = url.path  # "/{stage}" on execute-api; empty on a custom domain
        self._host, self._port, self._tls = url.hostname, url.port, url.scheme == "https"
        self._region = region
        self._credentials = credentials
        self._sigv4: SigV4Auth | None = None  # on first post: cold start does not look for keys
        self._ssl = ssl.create_default_context() if self._tls else None
        self._local = threading.local()  # one kept-alive connection per thread
        self.max_concurrency = max_concurrency
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="post")

    def post_many(self, posts: Sequence[tuple[str, bytes]]) -> Posted:
        if len(posts) == 1:
            results = [self._post(*posts[0])]
        else:
            results = list(self._pool.map(lambda post: self._post(*post), posts))
        return Posted(
            gone=frozenset(
                cid
                for (cid, _), result in zip(posts, results, strict=True)
                if result is _Result.GONE
            ),
            failed=results.count(_Result.FAILED),
        )

    def close(self, connection_id: str) -> None:
        self._call("DELETE", connection_id, b"")

    def _post(self, connection_id: str, data: bytes) -> _Result:
        return self._call("POST", connection_id, data)

    def _call(self, method: str, connection_id: str, data: bytes) -> _Result:
        """One @connections call, retried on throttling and 5xx."""
        path = f"{self._stage_path}/@connections/{quote(connection_id, safe='')}"
        signer = self._signer()
        if signer is None:
            logger.warning(
                DELIVERY_FAILED,
                extra={"connectionId": connection_id, "error": "no AWS credentials to sign with"},
            )
            return _Result.FAILED
        status, reason = 0, ""
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                time.sleep(_backoff(attempt))
            try:
                status, reason = self._send(signer, method, path, data)
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                status, reason = 0, f"{type(exc).__name__}: {exc}"
                continue
            if status not in RETRYABLE_STATUS:
                break
        if status == 410:
            logger.info("connection gone", extra={"connectionId": connection_id})
            return _Result.GONE
        if not 200 <= status < 300:
            logger.warning(
                DELIVERY_FAILED,
                extra={"connectionId": connection_id, "status": status, "error": reason},
            )
            return _Result.FAILED
        return _Result.DELIVERED

    def _signer(self) -> SigV4Auth | None:
        if self._sigv4 is None:
            from botocore.auth import SigV4Auth

            credentials = self._credentials or _lambda_credentials()
            if credentials is not None:
                self._sigv4 = SigV4Auth(credentials, "execute-api", self._region)
        return self._sigv4

    def _send(self, signer: SigV4Auth, method: str, path: str, data: bytes) -> tuple[int, str]:
        from botocore.awsrequest import AWSRequest  # imported by _signer already: a dict lookup

        request = AWSRequest(method=method, url=self._endpoint + path, data=data)
        signer.add_auth(request)
        connection = self._connection()
        connection.request(method, path, body=data, headers=dict(request.headers.items()))
        response = connection.getresponse()
        body = response.read()  # read fully: the connection is reused
        if response.status < 300:
            return response.status, ""
        error_type = response.getheader("x-amzn-ErrorType", "").split(":", 1)[0]
        return (
            response.status,
            f"{error_type or response.reason}: {body[:200].decode(errors='replace')}",
        )

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._tls:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=TIMEOUT_SECONDS, context=self._ssl
                )
            else:
                connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=TIMEOUT_SECONDS
                )
            self._local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def _backoff(attempt: int) -> float:
    """Full jitter: spreads the retries of a fan-out that hit the same throttle."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


def _lambda_credentials() -> Credentials | None:
    """Lambda hands a function its role's credentials in environment variables; anywhere
    else (a profile, SSO, an instance role) botocore's full chain finds them."""
    from botocore.credentials import EnvProvider

    credentials = EnvProvider().load()
    if credentials is None:
        from botocore.session import get_session

        credentials = get_session().get_credentials()
    return credentials
