"""Read the SAM template the way the local emulators need it: CloudFormation YAML with short
tags, and each `AWS::Serverless::Function` as a folder, a handler and its settings.

Intrinsic functions are kept as data (`{"Ref": X}`, `{"Fn::Sub": ...}`), never evaluated: the
emulators only follow references between resources and keep values that are plain scalars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Lambda's own defaults when neither the function nor Globals set a value.
LAMBDA_DEFAULT_TIMEOUT = 3
LAMBDA_DEFAULT_MEMORY_MB = 128

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template lacks something an emulator needs; the message names it."""


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into `{"Ref": X}` and `!Sub s` into `{"Fn::Sub": s}`."""


def _construct_intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        # The short form is "Resource.Attribute"; the long form is a two-item list.
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | Path) -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return data


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of `kind`."""
    return {
        name: res
        for name, res in template["Resources"].items()
        if isinstance(res, dict) and res.get("Type") == kind
    }


def properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    props = resource.get("Properties") or {}
    return props if isinstance(props, dict) else {}


def referenced_names(value: Any) -> list[str]:
    """Logical ids a value points at: `Ref` (`X.Alias` too), `GetAtt`, `${X}` / `${X.Arn}` in
    `Sub`, and the same inside `Join`. Pseudo parameters (`AWS::Region`) are left out."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.append(inner.removesuffix(".Alias"))  # SAM's ref to an AutoPublishAlias
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                found.append(str(inner[0]))
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(text, str):
                    found += [m.split(".", 1)[0] for m in _SUB_VARIABLE.findall(text)]
            else:
                found += referenced_names(inner)
    elif isinstance(value, list):
        for item in value:
            found += referenced_names(item)
    return [name for name in found if not name.startswith("AWS::")]


def plain_value(value: Any, template: Mapping[str, Any] | None = None) -> str | None:
    """A value as CloudFormation would render it, when that needs no deployment: scalars,
    and (given the template) `Ref` to a parameter with a default. Otherwise None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if template is not None and isinstance(value, dict) and set(value) == {"Ref"}:
        param = (template.get("Parameters") or {}).get(value["Ref"])
        if isinstance(param, dict) and "Default" in param:
            return plain_value(param["Default"])
    return None


@dataclass(frozen=True)
class FunctionSpec:
    """One `AWS::Serverless::Function`, resolved for running locally."""

    logical_id: str
    name: str  # FunctionName when it is a plain string, else the logical id
    code_uri: Path  # absolute folder: what Lambda mounts as /var/task
    handler: str  # "module.function"
    timeout: float  # seconds
    memory_size: int  # MB
    runtime: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    # ReservedConcurrentExecutions, with the parameters' defaults: past it Lambda throttles.
    reserved_concurrency: int | None = None


def _with_defaults(value: Any, template: Mapping[str, Any]) -> Any:
    """A value with the parameters' defaults, for the few intrinsics a local run can decide:
    Ref (a parameter with a default, AWS::NoValue), Fn::If on a condition of Fn::Equals /
    Fn::Not / Fn::And / Fn::Or over such values. None when it needs a deployed stack."""
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        if value["Ref"] == "AWS::NoValue":
            return None
        param = (template.get("Parameters") or {}).get(value["Ref"])
        return param.get("Default") if isinstance(param, dict) else None
    if set(value) == {"Fn::If"} and isinstance(value["Fn::If"], list):
        condition, when_true, when_false = value["Fn::If"]
        holds = _condition(condition, template)
        if holds is None:
            return None
        return _with_defaults(when_true if holds else when_false, template)
    return None


def _condition(name_or_expr: Any, template: Mapping[str, Any]) -> bool | None:
    expr = (
        (template.get("Conditions") or {}).get(name_or_expr)
        if isinstance(name_or_expr, str)
        else name_or_expr
    )
    if not isinstance(expr, dict) or len(expr) != 1:
        return None
    ((kind, args),) = expr.items()
    if kind == "Condition":
        return _condition(args, template)
    if kind == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
        left, right = (_with_defaults(a, template) for a in args)
        return None if left is None or right is None else str(left) == str(right)
    parts = [_condition(a, template) for a in args] if isinstance(args, list) else [None]
    if None in parts:
        return None
    if kind == "Fn::Not":
        return not parts[0]
    if kind == "Fn::And":
        return all(parts)
    if kind == "Fn::Or":
        return any(parts)
    return None


def _plain_environment(variables: Any) -> dict[str, str]:
    # Intrinsics (!Ref, !Sub ...) need a deployed stack to resolve: skip them.
    if not isinstance(variables, dict):
        return {}
    env: dict[str, str] = {}
    for key, value in variables.items():
        text = plain_value(value)
        if text is not None:
            env[str(key)] = text
    return env


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TemplateError(f"{what}: expected a number, got {value!r}") from None


def function_spec(template: Mapping[str, Any], logical_id: str, base_dir: Path) -> FunctionSpec:
    """Resolve a function with the Globals.Function fallbacks SAM applies."""
    resource = template["Resources"].get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
        raise TemplateError(f"{logical_id}: not an AWS::Serverless::Function in the template")
    props = properties(resource)
    globals_fn = ((template.get("Globals") or {}).get("Function")) or {}

    def setting(key: str) -> Any:
        return props.get(key, globals_fn.get(key))

    code_uri = setting("CodeUri")
    handler = setting("Handler")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: Handler must be 'module.function', got {handler!r}")
    timeout = setting("Timeout")
    memory = setting("MemorySize")
    env = _plain_environment(((globals_fn.get("Environment") or {}).get("Variables")) or {})
    env.update(_plain_environment(((props.get("Environment") or {}).get("Variables")) or {}))
    name = props.get("FunctionName")
    runtime = setting("Runtime")
    reserved = _with_defaults(setting("ReservedConcurrentExecutions"), template)
    return FunctionSpec(
        logical_id=logical_id,
        name=name if isinstance(name, str) else logical_id,
        code_uri=(base_dir / code_uri).resolve(),
        handler=handler,
        timeout=_number(timeout, f"{logical_id}.Timeout")
        if timeout is not None
        else LAMBDA_DEFAULT_TIMEOUT,
        memory_size=int(_number(memory, f"{logical_id}.MemorySize"))
        if memory is not None
        else LAMBDA_DEFAULT_MEMORY_MB,
        runtime=runtime if isinstance(runtime, str) else None,
        environment=env,
        reserved_concurrency=int(reserved) if isinstance(reserved, int | str) else None,
    )
