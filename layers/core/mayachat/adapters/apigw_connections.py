"""Posting frames to WebSocket connections through the API Gateway Management API.

Fan-out is concurrent (a thread pool over one boto3 client, which is thread-safe) so a room of
500 costs about as much as the slowest post, not the sum. Throttling is retried with backoff by
botocore's standard retry mode; 410 Gone is reported so the caller drops that connection; any
other failure is logged and ignored (the message is in the log).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import get_session

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient

logger = Logger(child=True)


class ApiGatewayConnections:
    def __init__(self, endpoint_url: str, region: str, max_concurrency: int = 32) -> None:
        # botocore's own session, not boto3's: boto3 also imports s3transfer, ~40 ms of every
        # route function's cold start for nothing. Same client, same config, same errors.
        self._client: ApiGatewayManagementApiClient = get_session().create_client(  # type: ignore[assignment]
            "apigatewaymanagementapi",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                retries={"mode": "standard", "max_attempts": 4},
                max_pool_connections=max_concurrency,
                connect_timeout=2,
                read_timeout=5,
            ),
        )
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="post")

    def post_many(self, posts: Sequence[tuple[str, bytes]]) -> set[str]:
        if len(posts) == 1:
            connection_id, data = posts[0]
            return {connection_id} if self._post(connection_id, data) else set()
        gone = self._pool.map(lambda post: self._post(*post), posts)
        return {cid for (cid, _), is_gone in zip(posts, gone, strict=True) if is_gone}

    def _post(self, connection_id: str, data: bytes) -> bool:
        """Post one frame; True if the connection is gone."""
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException:
            logger.info("connection gone", extra={"connectionId": connection_id})
            return True
        except (ClientError, BotoCoreError) as exc:
            logger.warning(
                "delivery failed", extra={"connectionId": connection_id, "error": str(exc)}
            )
        return False
