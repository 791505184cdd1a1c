"""PostgreSQL, the backend of the local MongoDB stand-in (FerretDB): Debian's postgresql, run
by the project as a local process, installed with apt when missing.

PostgreSQL refuses to run as root. As root (a fresh machine, CI) the server runs in a user
namespace where root is mapped to `nobody`: unprivileged to PostgreSQL, while its files stay
root's on disk, under any checkout path (a 0700 temp dir included), and `make clean` removes
them. As any other user it simply runs as that user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from mayachat_local.process import StackError, run_checked
from mayachat_local.services.apt import apt_install
from mayachat_local.services.base import Progress, Service

SUPERUSER = "ferretdb"  # a local trust-only server on loopback: no password
DATABASE = "postgres"  # FerretDB keeps each MongoDB database as a schema of it
INDEXES_SQL = Path("infra") / "local" / "postgres" / "ferretdb-indexes.sql"
_NOBODY = "65534"


def bin_dir() -> Path | None:
    """Debian's server binaries (newest major version), or whichever `postgres` PATH has."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("postgres")
    return Path(found).resolve().parent if found else None


class PostgresService(Service):
    name = "postgres"
    start_timeout = 30.0
    on_demand = True  # started as the MongoDB stand-in's backend (FerretDBService.requires)

    @property
    def port(self) -> int:
        return self.config.postgres_port

    @property
    def endpoint(self) -> str:
        return f"postgres://{SUPERUSER}@{self.config.host}:{self.port}/{DATABASE}"

    @property
    def data(self) -> Path:
        return self.config.data_dir(self.name)

    def _bin(self, program: str) -> str:
        found = bin_dir()
        if found is None:
            raise StackError("postgresql not found: install it (`apt-get install postgresql`)")
        return str(found / program)

    def healthy(self) -> bool:
        """pg_isready says only that it accepts connections; a query proves the login works."""
        try:
            result = subprocess.run(
                [*self.psql(), "-tAc", "SELECT 1"],
                capture_output=True,
                timeout=5,
                check=False,
            )
        except (StackError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0 and result.stdout.strip() == b"1"

    def psql(self) -> list[str]:
        """psql, connected as the superuser (a trust-only server on loopback)."""
        host, port = self.config.host, str(self.port)
        return [self._bin("psql"), "-X", "-q", "-h", host, "-p", port, "-U", SUPERUSER, DATABASE]

    def install(self, progress: Progress) -> None:
        if bin_dir() is None:
            apt_install("postgresql", progress)

    def prepare(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.data.parent.mkdir(parents=True, exist_ok=True)
        run_checked(
            [
                *self._unprivileged(),
                self._bin("initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-instructions",
            ],
            what="initdb",
        )

    def command(self) -> list[str]:
        return [
            *self._unprivileged(),
            self._bin("postgres"),
            "-D",
            str(self.data),
            "-c",
            f"listen_addresses={self.config.host}",
            "-c",
            f"port={self.port}",
            "-c",
            "unix_socket_directories=",  # TCP on loopback only: no socket dir to own
            # FerretDB sends the field name as a parameter (`_jsonb -> $1 @> $2`); only a
            # custom plan sees it, and so the indexes below.
            "-c",
            "plan_cache_mode=force_custom_plan",
        ]

    def after_start(self, progress: Progress) -> None:
        sql = self.config.repo / INDEXES_SQL
        run_checked(
            [*self.psql(), "-v", "ON_ERROR_STOP=1", "-f", str(sql)],
            what="psql (the FerretDB index mirror)",
        )

    @staticmethod
    def _unprivileged() -> list[str]:
        if os.geteuid() != 0:
            return []
        unshare = shutil.which("unshare")
        if unshare is None:
            raise StackError("PostgreSQL cannot run as root and util-linux's unshare is missing")
        return [unshare, "--user", f"--map-user={_NOBODY}", f"--map-group={_NOBODY}"]
