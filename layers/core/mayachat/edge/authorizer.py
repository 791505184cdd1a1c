"""The REQUEST authorizer of the WebSocket $connect route: the JWT in `?token=`.

API Gateway answers 401 when we raise "Unauthorized" and 403 for a Deny policy; either way the
upgrade never happens. When the issuer's keys cannot be fetched the token may be fine, so the
handshake fails as a server error (500: the phone retries) rather than a 401 that makes it
throw its token away. The user id (the token's `sub`) and the token's expiry reach every
route of the connection as `requestContext.authorizer.userId` and `.tokenExpiresAt`: a frame
after the expiry ends the connection (mayachat.edge.websocket).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from mayachat import bootstrap
from mayachat.auth import InvalidToken, VerifierUnavailable
from mayachat.edge.telemetry import publishes_metrics
from mayachat.metrics import Count

logger = Logger()


@publishes_metrics
@logger.inject_lambda_context(clear_state=True)
def authorize(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token = (event.get("queryStringParameters") or {}).get("token")
    try:
        identity = bootstrap.token_verifier().verify(token)
    except InvalidToken as exc:
        logger.info("token refused", extra={"reason": str(exc)})
        # Counted: its Errors alarm subtracts these, so it fires on faults only.
        bootstrap.metrics().count(Count.TOKENS_REFUSED)
        raise Exception("Unauthorized") from None
    except VerifierUnavailable as exc:
        logger.error("cannot verify tokens now", extra={"reason": str(exc)})
        raise  # a 500 for API Gateway: retryable
    logger.info("token accepted", extra={"userId": identity.user_id})
    return {
        "principalId": identity.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": {"userId": identity.user_id, "tokenExpiresAt": identity.expires_at},
    }
