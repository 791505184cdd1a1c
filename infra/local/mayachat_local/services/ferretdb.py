"""MongoDB wire protocol: FerretDB v1 on SQLite, built from the Go module proxy.

`infra/local/ferretdb` is a ten-line main that embeds FerretDB's `ferretdb` package (see the
comment there for why not `go install .../cmd/ferretdb`); go.sum pins every module.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from mayachat_local.process import StackError, run_checked
from mayachat_local.services.base import Progress, Service, require

FERRETDB_SOURCES = ("main.go", "go.mod", "go.sum")


class FerretDBService(Service):
    name = "mongodb"
    start_timeout = 30.0

    @property
    def port(self) -> int:
        return self.config.mongodb_port

    @property
    def endpoint(self) -> str:
        return f"mongodb://{self.config.host}:{self.port}/mayachat"

    @property
    def source_dir(self) -> Path:
        return self.config.repo / "infra" / "local" / "ferretdb"

    @property
    def binary(self) -> Path:
        digest = hashlib.sha256()
        for name in FERRETDB_SOURCES:
            digest.update((self.source_dir / name).read_bytes())
        return self.config.cache_dir / "bin" / f"ferretdb-{digest.hexdigest()[:12]}"

    def healthy(self) -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(
            self.endpoint, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
        )
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        finally:
            client.close()
        return True

    def install(self, progress: Progress) -> None:
        if self.binary.exists():
            return
        go = shutil.which("go")
        require(
            go is not None,
            "Go not found: FerretDB is built with `go build` "
            "(install Go 1.24+, e.g. `apt-get install golang` or from go.dev) and retry",
        )
        progress("mongodb: building FerretDB v1 with Go (first run only, about 2 minutes)")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        partial = self.binary.with_suffix(".partial")
        build = [str(go), "build", "-trimpath", "-o", str(partial), "."]
        try:
            run_checked(build, what="go build (FerretDB)", cwd=self.source_dir)
        except StackError:
            # Newer Go toolchains refuse some old //go:linkname uses; this flag is the
            # documented escape hatch.
            progress("mongodb: retrying the build with -ldflags=-checklinkname=0")
            run_checked(
                [*build[:2], "-ldflags=-checklinkname=0", *build[2:]],
                what="go build (FerretDB)",
                cwd=self.source_dir,
            )
        os.replace(partial, self.binary)

    def prepare(self) -> None:
        self.config.data_dir(self.name).mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            str(self.binary),
            f"-listen-addr={self.config.host}:{self.port}",
            f"-sqlite-url=file:{self.config.data_dir(self.name)}/",
            "-log-level=error",  # at warn it logs every unsupported command (endSessions),
        ]
