"""One Lambda "container": imports the handler once, then serves one invocation at a time.

Run by file path (`python -u lambda_worker.py CODE_URI HANDLER`), never imported by the
emulators, so it uses the standard library only and the handler's process holds nothing else.
Protocol: one JSON object per line. The runtime writes invocations to stdin; this process
answers on the original stdout, after moving fd 1 onto stderr so that whatever the handler
prints (print, logging, C extensions) lands in the log stream instead of the protocol.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import IO, Any

_ACCOUNT = "123456789012"


class LambdaContext:
    """The attributes and method of the context object the Python runtime passes."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        region = env.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{_ACCOUNT}:function:{self.function_name}"
        )
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(
    exc: BaseException, error_type: str | None = None, *, from_handler: bool = False
) -> dict[str, Any]:
    tb = exc.__traceback__
    if from_handler and tb is not None:
        tb = tb.tb_next  # start at the handler, as Lambda's traces do, not at this loop
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(type(exc), exc, tb),
    }


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _load(handler: str) -> Any:
    module_name, _, func_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:  # Lambda reports any import failure the same way
        raise _InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}", exc
        ) from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise _InitError(
            "Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'"
        )
    return func


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.cause = cause


def main() -> int:
    code_uri, handler = sys.argv[1], sys.argv[2]
    # The emulator owns shutdown: Ctrl-C in its terminal must not kill a handler mid-call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    # Like /var/task in Lambda: the function's folder first, not this script's folder.
    sys.path[0] = code_uri
    os.chdir(code_uri)

    try:
        func = _load(handler)
    except _InitError as exc:
        error = _error(exc.cause or exc, exc.error_type)
        error["errorMessage"] = str(exc)
        _send(protocol, {"type": "init_error", "error": error})
        return 1
    except BaseException as exc:  # SystemExit at import time included
        _send(protocol, {"type": "init_error", "error": _error(exc, "Runtime.Unknown")})
        return 1
    _send(protocol, {"type": "ready", "pid": os.getpid()})

    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["requestId"]
        context = LambdaContext(request_id, request["deadlineMs"])
        os.environ["_X_AMZN_TRACE_ID"] = request.get("traceId", "")
        try:
            result = func(request["event"], context)
        except Exception as exc:
            error = _error(exc, from_handler=True)
            reply: dict[str, Any] = {"requestId": request_id, "error": error}
        else:
            reply = {"requestId": request_id, "result": result}
        try:
            encoded = json.dumps(reply)
        except (TypeError, ValueError) as exc:
            error = _error(exc, "Runtime.MarshalError")
            encoded = json.dumps({"requestId": request_id, "error": error})
        # Logs first, so they precede the end of the invocation in the emulator's output.
        sys.stdout.flush()
        sys.stderr.flush()
        protocol.write(encoded + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
