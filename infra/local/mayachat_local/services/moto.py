"""moto's standalone server for the AWS APIs we do not emulate ourselves (Secrets Manager,
SSM, SQS). Port 4566, LocalStack's, so a running LocalStack is reused as is."""

from __future__ import annotations

import sys

from mayachat_local.services.base import Service


class MotoService(Service):
    name = "aws"
    start_timeout = 30.0

    @property
    def port(self) -> int:
        return self.config.aws_port

    @property
    def endpoint(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def healthy(self) -> bool:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        sts = boto3.client(
            "sts",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - local only
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
        )
        try:
            sts.get_caller_identity()
        except (BotoCoreError, ClientError):
            return False
        return True

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.config.host, "-p", str(self.port)]
