"""The REQUEST authorizer of the WebSocket $connect route: the JWT in `?token=`.

API Gateway answers 401 when we raise "Unauthorized" and 403 for a Deny policy; either way the
upgrade never happens. The user id (the token's `sub`) reaches every route of the connection
as `requestContext.authorizer.userId`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from mayachat import bootstrap
from mayachat.auth import InvalidToken

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def authorize(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token = (event.get("queryStringParameters") or {}).get("token")
    try:
        identity = bootstrap.token_verifier().verify(token)
    except InvalidToken as exc:
        logger.info("token refused", extra={"reason": str(exc), "sourceIp": _source_ip(event)})
        raise Exception("Unauthorized") from None
    logger.info("token accepted", extra={"userId": identity.user_id})
    return {
        "principalId": identity.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": {"userId": identity.user_id},
    }


def _source_ip(event: dict[str, Any]) -> str | None:
    return ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
