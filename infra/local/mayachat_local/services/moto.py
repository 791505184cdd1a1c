"""moto's standalone server for the AWS APIs we do not emulate ourselves (Secrets Manager,
SSM, SQS, SNS mobile push). Port 4566, LocalStack's, so a running LocalStack is reused as is.

It holds the SNS platform applications the notify function pushes through, one per platform,
and the attachments bucket (with CORS, so the web demo uploads from the browser); both made at
every start: moto keeps nothing across restarts. moto's S3 does not enforce presigned POST
policies: the tests that need it use services/s3s.py."""

from __future__ import annotations

import sys
from typing import Any, Literal

from mayachat_local.services.base import Progress, Service

# The local platform applications: SNS accepts any credential here, as moto does not call FCM
# or APNs (it records each push on its endpoint: mayachat_local.devtools.pushes reads them).
PUSH_APPLICATIONS = {
    "GCM": "PUSH_FCM_APPLICATION_ARN",
    "APNS": "PUSH_APNS_APPLICATION_ARN",
    "APNS_SANDBOX": "PUSH_APNS_SANDBOX_APPLICATION_ARN",
}
PUSH_APPLICATION_NAME = "mayachat-local"
ACCOUNT = "123456789012"  # moto's
REGION = "us-east-1"
# Any origin, as CorsAllowOrigin's default: the demo page is served from the local HTTP API.
ATTACHMENTS_CORS = {
    "CORSRules": [
        {
            "AllowedOrigins": ["*"],
            "AllowedMethods": ["GET", "POST", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]
}


def push_environment() -> dict[str, str]:
    """The notify function's variables for the local platform applications."""
    return {
        variable: f"arn:aws:sns:{REGION}:{ACCOUNT}:app/{platform}/{PUSH_APPLICATION_NAME}"
        for platform, variable in PUSH_APPLICATIONS.items()
    }


class MotoService(Service):
    name = "aws"
    start_timeout = 30.0

    @property
    def port(self) -> int:
        return self.config.aws_port

    @property
    def endpoint(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def _client(self, service: Literal["s3", "sns", "sts"]) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - local only
            config=Config(
                connect_timeout=1,
                read_timeout=2,
                retries={"max_attempts": 1},
                s3={"addressing_style": "path"},
            ),
        )

    def healthy(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client("sts").get_caller_identity()
        except (BotoCoreError, ClientError):
            return False
        return True

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.config.host, "-p", str(self.port)]

    def after_start(self, progress: Progress) -> None:
        sns = self._client("sns")
        have = {
            a["PlatformApplicationArn"]
            for a in sns.list_platform_applications()["PlatformApplications"]
        }
        for platform, variable in PUSH_APPLICATIONS.items():
            if push_environment()[variable] not in have:
                sns.create_platform_application(
                    Name=PUSH_APPLICATION_NAME,
                    Platform=platform,
                    Attributes={"PlatformCredential": "local", "PlatformPrincipal": "local"},
                )
        self._make_attachments_bucket()

    def _make_attachments_bucket(self) -> None:
        from mayachat.settings import Settings

        s3 = self._client("s3")
        bucket = Settings().attachments_bucket  # the default, which the local functions use
        if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=ATTACHMENTS_CORS)
