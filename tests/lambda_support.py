"""What Lambda gives a handler, for tests that call handlers directly: the handler file
loaded from its path (as Lambda loads it), and a context object."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


def load_handler_module(path: Path, name: str) -> ModuleType:
    """Import a handler file by path, under `name`, without touching sys.path."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str
    aws_request_id: str = "test-request"
    memory_limit_in_mb: int = 1024
    remaining_ms: int = 15_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
