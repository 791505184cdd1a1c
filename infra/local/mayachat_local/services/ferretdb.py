"""MongoDB wire protocol: FerretDB v1, built from the Go module proxy, on PostgreSQL (the
default: with the index mirror of services/postgres.py its finds use indexes) or on SQLite
(`MAYACHAT_MONGODB_BACKEND=sqlite`: no server beside it, but every find scans the collection).

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
from mayachat_local.services.postgres import PostgresService

FERRETDB_SOURCES = ("main.go", "go.mod", "go.sum")


class FerretDBService(Service):
    name = "mongodb"
    start_timeout = 30.0

    @property
    def port(self) -> int:
        return self.config.mongodb_port

    @property
    def requires(self) -> tuple[str, ...]:
        return ("postgres",) if self.config.mongodb_backend == "postgresql" else ()

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
            client.admin.command("listDatabases")  # reaches the backend, not only FerretDB
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
        if self.config.mongodb_backend == "postgresql":
            backend = f"-postgresql-url={PostgresService(self.config).endpoint}"
        else:
            backend = f"-sqlite-url=file:{self.config.data_dir(self.name)}/"
        return [
            str(self.binary),
            f"-listen-addr={self.config.host}:{self.port}",
            f"-handler={self.config.mongodb_backend}",
            backend,
            "-log-level=error",  # at warn it logs every unsupported command (endSessions),
        ]
