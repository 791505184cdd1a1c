"""LocalEventSourceMappings: every MSK event-source mapping of a SAM template, run against the
real broker, invoking the template's handler files through the local Lambda runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from mayachat.kafka_config import client_config, consumer_config, producer_config
from mayachat.settings import Settings, load_settings
from mayachat_local.esm.destinations import Destinations, Origin
from mayachat_local.esm.mapping import LocalEventSourceMapping
from mayachat_local.esm.plan import Backoff
from mayachat_local.esm.spec import MappingSpec, read_mappings
from mayachat_local.runtime.lambda_env import host_region, host_runtime
from mayachat_local.runtime.lambda_runtime import LambdaRuntime
from mayachat_local.runtime.template import FunctionSpec, function_spec, load_template

log = logging.getLogger("mayachat_local.esm")

T = TypeVar("T")
ACCOUNT = "123456789012"  # the account the local Lambda context reports


class LocalEventSourceMappings:
    def __init__(
        self,
        template_path: str | Path = "template.yaml",
        env_overrides: Mapping[str, str] | None = None,
        *,
        parameter_overrides: Mapping[str, str] | None = None,
        only: Iterable[str] | None = None,
        group_ids: Mapping[str, str] | None = None,
        settings: Settings | None = None,
        max_concurrency: int = 10,
        backoff: Backoff | None = None,
    ) -> None:
        """`env_overrides` go to the functions (over the template's values);
        `parameter_overrides` replace template parameter defaults; `only` picks mappings by
        name ("Function.Event"); `group_ids` replaces a mapping's ConsumerGroupId (tests use
        fresh groups on real topics); `settings` (default: from the environment) is how the
        mappings reach Kafka; `backoff` spaces the retries of a failed batch."""
        self.template_path = Path(template_path)
        template = load_template(self.template_path)
        specs = read_mappings(template, parameter_overrides)
        selected = list(only) if only is not None else list(specs)
        unknown = [n for n in [*selected, *(group_ids or {})] if n not in specs]
        if unknown:
            raise ValueError(f"no MSK mapping named {unknown}; the template has {sorted(specs)}")
        self.specs: dict[str, MappingSpec] = {}
        for name in selected:
            spec = specs[name]
            if group_ids and name in group_ids:
                spec = replace(spec, group_id=group_ids[name])
            self.specs[name] = spec
        base = self.template_path.resolve().parent
        self.functions: dict[str, FunctionSpec] = {
            s.function: function_spec(template, s.function, base) for s in self.specs.values()
        }
        self.env_overrides = dict(env_overrides or {})
        self.settings = settings or load_settings()
        self.region = host_region(self.env_overrides)
        self.max_concurrency = max_concurrency
        self.backoff = backoff or Backoff()
        self.mappings: dict[str, LocalEventSourceMapping] = {}
        self._runtime: LambdaRuntime | None = None
        self._destinations: Destinations | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._runtime = host_runtime(
            self.functions, self.env_overrides, max_workers=self.max_concurrency
        )
        self._destinations = Destinations(producer_config(self.settings), self.region)
        for name, spec in self.specs.items():
            function = self.functions[spec.function]
            origin = Origin(
                function_arn=f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{function.name}",
                source_arn=spec.stream_arn or self._local_cluster_arn(),
                bootstrap_servers=self.settings.kafka_brokers,
            )
            mapping = LocalEventSourceMapping(
                spec,
                self._runtime,
                consumer_config(self.settings, spec.group_id),
                client_config(self.settings),
                self._destinations,
                origin,
                self.backoff,
            )
            try:
                await mapping.start()
            except BaseException:
                await self.stop()  # the ones already running
                raise
            self.mappings[name] = mapping

    def reload(self) -> None:
        """Retire the warm workers: the next batch imports the handler files afresh."""
        if self._runtime is not None:
            self._runtime.reload()

    async def stop(self) -> None:
        await asyncio.gather(*(m.stop() for m in self.mappings.values()))
        if self._runtime is not None:
            await self._runtime.close()
        if self._destinations is not None:
            await asyncio.to_thread(self._destinations.close)

    async def __aenter__(self) -> LocalEventSourceMappings:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def mapping(self, name: str) -> LocalEventSourceMapping:
        try:
            return self.mappings[name]
        except KeyError:
            raise KeyError(
                f"no running mapping {name!r}; running: {sorted(self.mappings)}"
            ) from None

    # ------------------------------------------------------------------ asyncio API
    async def wait_caught_up(self, name: str | None = None, timeout: float = 60.0) -> None:
        """Until the mapping's group (each mapping's, without a name) has committed every
        record its topic holds now: "wait until the function has seen what I produced"."""
        targets = [self.mapping(name)] if name else list(self.mappings.values())
        await asyncio.gather(*(m.wait_caught_up(timeout) for m in targets))

    # ------------------------------------------------------------------ from other threads
    def wait_until_caught_up(self, name: str | None = None, timeout: float = 60.0) -> None:
        """`wait_caught_up` for synchronous callers (see `run_in_thread`)."""
        self._blocking(self.wait_caught_up(name, timeout), timeout + 10)

    def redeliver_last_batch(self, name: str, times: int = 1, timeout: float = 120.0) -> list[Any]:
        """`mapping(name).redeliver_last_batch(times)` for synchronous callers."""
        return self._blocking(self.mapping(name).redeliver_last_batch(times), timeout)

    def _blocking(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("the mappings are not started")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError("on the mappings' own loop: await the async method instead")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def _local_cluster_arn(self) -> str:
        return f"arn:aws:kafka:{self.region}:{ACCOUNT}:cluster/mayachat-local/local-1"
