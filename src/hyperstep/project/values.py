"""Parameter values of one execution: from the command line, and resolved against the step.

``parse_cli_args`` only splits ``--name=value`` arguments into raw values; ``resolve_values`` is
the single gate every value passes before anything runs (CLI, API, task proposals alike): it
fills defaults, coerces types, validates with valohai-yaml's own ``Parameter.validate`` (so the
messages are Valohai's) and refuses NUL bytes, which no process argument can carry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from valohai_yaml.excs import ValidationErrors

from hyperstep.errors import ValidationError
from hyperstep.project.loader import ParamInfo, StepInfo

_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def parse_cli_args(step: StepInfo, args: Sequence[str]) -> dict[str, Any]:
    """Parse ``--NAME=VALUE``, ``--NAME VALUE``, ``--FLAG``, ``--no-FLAG`` into raw values.

    Names may use ``-`` and ``_`` interchangeably when that leaves one candidate. Values stay
    strings (flags become booleans, ``multiple`` parameters lists); :func:`resolve_values`
    coerces and validates them.
    """
    values: dict[str, Any] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if not arg.startswith("--") or arg == "--":
            raise ValidationError(
                f"unexpected argument {arg!r}: parameters are given as --NAME=VALUE "
                f"(step {step.name!r} has {_known(step)})",
                field="parameters",
            )
        body = arg[2:]
        name_part, has_value, inline = body.partition("=")
        param, negated = _lookup(step, name_part)
        value: Any
        if param.type == "flag":
            if negated:
                if has_value:
                    raise ValidationError(
                        f"--no-{name_part[3:]} takes no value", field=f"parameters.{param.name}"
                    )
                value = False
            else:
                value = _flag_value(inline, param) if has_value else True
        elif has_value:
            value = inline
        else:
            if position >= len(args) or args[position].startswith("--"):
                raise ValidationError(
                    f"--{name_part} expects a value (--{name_part}=VALUE)",
                    field=f"parameters.{param.name}",
                )
            value = args[position]
            position += 1
        _store(values, param, value)
    return values


def resolve_values(step: StepInfo, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's final value, in step order: defaults filled, coerced and validated.

    An optional parameter with no value is left out (it is not passed on the command line).
    Flags without a value are ``False``. Raises :class:`ValidationError` with
    ``field="parameters.NAME"``.
    """
    unknown = [name for name in given if name not in step.parameters]
    if unknown:
        name = unknown[0]
        raise ValidationError(
            f"step {step.name!r} has no parameter {name!r} (known: {_known(step)})",
            field=f"parameters.{name}",
        )
    resolved: dict[str, Any] = {}
    for name, param in step.parameters.items():
        value = given.get(name, param.default)
        if value is None or (param.multiple and value == [] and name not in given):
            if param.type == "flag":
                resolved[name] = False
            elif param.optional:
                continue
            else:
                raise ValidationError(
                    f"step {step.name!r} requires a value for {name!r} (it has no default)",
                    field=f"parameters.{name}",
                )
            continue
        resolved[name] = coerce_value(param, value)
    return resolved


def coerce_value(param: ParamInfo, value: Any) -> Any:
    """One parameter's value, typed and validated (valohai-yaml's messages)."""
    field = f"parameters.{param.name}"
    atoms = list(value) if isinstance(value, (list, tuple)) else [value]
    for atom in atoms:
        if isinstance(atom, str) and "\x00" in atom:
            raise ValidationError("the value contains a NUL byte", field=field)
        if isinstance(atom, str) and any("\ud800" <= ch <= "\udfff" for ch in atom):
            # A lone surrogate cannot be encoded as UTF-8: not in argv, not in the store.
            raise ValidationError("the value is not valid Unicode (a lone surrogate)", field=field)
    if param.multiple and not isinstance(value, (list, tuple)):
        value = [value]
    if isinstance(value, (list, tuple)):
        value = [_pre_coerce(param, atom) for atom in value]
    else:
        value = _pre_coerce(param, value)
    try:
        result = param.vh.validate(value)
    except ValidationErrors as err:
        raise ValidationError("; ".join(str(e) for e in err.errors), field=field) from None
    for atom in result if isinstance(result, list) else [result]:
        if isinstance(atom, float) and not math.isfinite(atom):
            raise ValidationError(f"{atom} is not a finite number", field=field)
    return result


def _pre_coerce(param: ParamInfo, atom: Any) -> Any:
    """What valohai-yaml's validate does not do: booleans for flags, exact ints, string text."""
    if param.type == "flag":
        return _flag_value(atom, param)
    if param.type == "integer" and isinstance(atom, float) and atom.is_integer():
        return int(atom)
    if param.type == "integer" and isinstance(atom, str):
        return atom.strip()
    if param.type == "float" and isinstance(atom, str):
        return atom.strip()
    if param.type == "string" and isinstance(atom, (int, float)) and not isinstance(atom, bool):
        return str(atom)
    return atom


def _flag_value(raw: Any, param: ParamInfo) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(
        f"{raw!r} is not a flag value (use true/false, yes/no or 1/0)",
        field=f"parameters.{param.name}",
    )


def _lookup(step: StepInfo, name: str) -> tuple[ParamInfo, bool]:
    """The parameter ``--name`` refers to, and whether it was the ``--no-`` form of a flag."""
    if not name:
        raise ValidationError("an argument has an empty parameter name", field="parameters")
    found = _match(step, name)
    if found is not None:
        return found, False
    if name.startswith("no-") or name.startswith("no_"):
        flag = _match(step, name[3:])
        if flag is not None and flag.type == "flag":
            return flag, True
    raise ValidationError(
        f"step {step.name!r} has no parameter --{name} (known: {_known(step)})",
        field=f"parameters.{name}",
    )


def _match(step: StepInfo, name: str) -> ParamInfo | None:
    if name in step.parameters:
        return step.parameters[name]
    wanted = _normal(name)
    candidates = [p for n, p in step.parameters.items() if _normal(n) == wanted]
    if len(candidates) > 1:
        spelled = " and ".join(f"--{p.name}" for p in candidates)
        raise ValidationError(
            f"--{name} is ambiguous ({spelled}); spell the name exactly",
            field=f"parameters.{name}",
        )
    return candidates[0] if candidates else None


def _normal(name: str) -> str:
    return name.replace("_", "-")


def _store(values: dict[str, Any], param: ParamInfo, value: Any) -> None:
    if param.multiple:
        values.setdefault(param.name, []).append(value)
    elif param.name in values:
        raise ValidationError(
            f"--{param.name} is given more than once (it takes a single value)",
            field=f"parameters.{param.name}",
        )
    else:
        values[param.name] = value


def _known(step: StepInfo) -> str:
    return ", ".join(f"--{n}" for n in step.parameters) or "no parameters"
