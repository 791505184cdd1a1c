"""What every local service has in common: reuse a healthy one, else install, start, wait."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from mayachat_local.config import StackConfig
from mayachat_local.process import StackError, port_open, running_pid, spawn, wait_healthy

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Status:
    name: str
    endpoint: str
    state: str  # "started", "running" (started earlier by us) or "reused" (not ours)


class Service(ABC):
    name: str
    start_timeout: float = 30.0
    on_demand: bool = False  # started only when named (`make up` and `make dev` leave it)

    @property
    def started_by_default(self) -> bool:
        """Whether `make up` / `make dev` start it (else only when named or required)."""
        return not self.on_demand

    @property
    def requires(self) -> tuple[str, ...]:
        """The services that must be up before this one starts."""
        return ()

    def __init__(self, config: StackConfig) -> None:
        self.config = config

    @property
    @abstractmethod
    def port(self) -> int: ...

    @property
    @abstractmethod
    def endpoint(self) -> str:
        """What clients connect to, in the form the app's settings take."""

    @abstractmethod
    def healthy(self) -> bool:
        """A real round trip with the server (not just an open port)."""

    @abstractmethod
    def command(self) -> list[str]: ...

    def install(self, progress: Progress) -> None:  # noqa: B027 - optional hook
        """Check prerequisites; fetch and build into the cache (fast when already cached)."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Lay out data and config files before the first start."""

    def after_start(self, progress: Progress) -> None:  # noqa: B027 - optional hook
        """Idempotent set-up once the server answers (topics, ...)."""

    def ensure(self, progress: Progress) -> Status:
        pid = running_pid(self.config, self.name)
        if pid is not None:
            wait_healthy(self.config, self.name, None, self.healthy, self.start_timeout)
            state = "running"
        elif port_open(self.config.host, self.port):
            if not self.healthy():
                raise StackError(
                    f"{self.name}: port {self.port} is taken by something that does not answer "
                    f"like {self.name}; stop it or choose another port "
                    f"(MAYACHAT_{self.name.upper()}_PORT)"
                )
            progress(f"{self.name}: reusing the server already on port {self.port}")
            state = "reused"
        else:
            self.install(progress)
            self.prepare()
            progress(f"{self.name}: starting on port {self.port}")
            proc = spawn(self.config, self.name, self.command(), cwd=self.config.state_dir)
            wait_healthy(self.config, self.name, proc, self.healthy, self.start_timeout)
            state = "started"
        self.after_start(progress)
        return Status(self.name, self.endpoint, state)


def require(condition: bool, message: str) -> None:
    if not condition:
        raise StackError(message)
