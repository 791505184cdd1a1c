"""An S3 server that enforces presigned POST policies, for the attachment tests: s3s-fs, built
from crates.io with cargo (once, about 2 minutes; cached like FerretDB's build).

moto's S3 stores whatever a POST sends: it reads neither the policy nor the signature (see
moto/s3/responses.py, _bucket_response_post), so against it the limits an upload's policy
sets (its key, type, tag set and size) cannot be seen to hold. s3s checks the signature and
every condition, as S3 does. It has no object tagging, CORS or lifecycle, so the app's local
bucket stays on moto (services/moto.py) and this one is started only when a test asks for it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from mayachat_local.process import run_checked
from mayachat_local.services.base import Progress, Service, require

# The newest release that builds with the machine's Rust (1.95; 0.15 and later need 1.96).
VERSION = "0.14.1"
ACCESS_KEY = "mayachat"
SECRET_KEY = "mayachat-local-secret"  # noqa: S105 - local only, the server's own
BUCKET = "mayachat-attachments"


class S3sService(Service):
    name = "s3s"
    on_demand = True
    start_timeout = 15.0

    @property
    def port(self) -> int:
        return self.config.s3s_port

    @property
    def endpoint(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def binary(self) -> Path:
        return self.config.cache_dir / f"s3s-fs-{VERSION}" / "bin" / "s3s-fs"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=1,
                read_timeout=5,
                retries={"max_attempts": 1},
            ),
        )

    def healthy(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client().list_buckets()
        except (BotoCoreError, ClientError):
            return False
        return True

    def install(self, progress: Progress) -> None:
        if self.binary.exists():
            return
        cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
        require(
            os.access(cargo, os.X_OK),
            "cargo not found: the attachment tests' S3 server (s3s-fs) is built with "
            "`cargo install` (install Rust 1.92+) and retry",
        )
        progress(f"s3s: building s3s-fs {VERSION} with cargo (first run only, about 2 minutes)")
        crate = ["s3s-fs", "--version", VERSION, "--features", "binary"]
        # --locked: the crate's own Cargo.lock, so no newer dependency needs a newer Rust.
        where = ["--locked", "--root", str(self.binary.parent.parent)]
        run_checked([cargo, "install", *crate, *where], what="cargo install s3s-fs")

    def prepare(self) -> None:
        self.config.data_dir(self.name).mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "--host",
            self.config.host,
            "--port",
            str(self.port),
            "--access-key",
            ACCESS_KEY,
            "--secret-key",
            SECRET_KEY,
            str(self.config.data_dir(self.name)),
        ]

    def after_start(self, progress: Progress) -> None:
        s3 = self.client()
        if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=BUCKET)
