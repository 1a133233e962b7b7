"""valohai-yaml's JSON-schema validation, turned into messages that name a path and a line.

valohai-yaml's own linter prints one line per schema error with ANSI colours and no line number;
we run the same validator (so the set of accepted files is exactly valohai-yaml's) and keep the
error's path so the caller can map it to a line. For ``anyOf``/``oneOf`` failures (a pipeline node
that fits none of the node kinds) the top-level message just repeats the whole object, so we
descend into the alternative that came closest and report its concrete complaint instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError as SchemaError
from jsonschema.exceptions import relevance
from valohai_yaml.validation import get_validator


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: where it is (a data path) and what is wrong."""

    path: tuple[str | int, ...]
    message: str
    #: where to look for the line: the deepest path the message talks about
    line_path: tuple[str | int, ...] = ()

    @property
    def where(self) -> str:
        """The path as valohai-yaml prints it (``0.step.parameters.1.type``)."""
        return ".".join(str(p) for p in self.path) or "(top level)"


def schema_problems(data: Any) -> list[SchemaProblem]:
    """Every schema violation of ``data`` (the parsed YAML list), most relevant first."""
    errors = sorted(
        get_validator().iter_errors(data),
        key=lambda e: (relevance(e), repr(list(e.path))),
    )
    return [_explain(error) for error in errors]


def _explain(error: SchemaError) -> SchemaProblem:
    path = tuple(error.absolute_path)
    if not error.context:
        message = str(error.message)
        if len(path) == 2 and not error.instance:
            message += " (the YAML is valid, but this item may be mis-indented)"
        return SchemaProblem(path, message, path)
    if all(sub.validator == "required" for sub in error.context):
        # a task needs `parameters` or `parameter-sets`: name every alternative
        missing = " or ".join(repr(sub.message.split("'")[1]) for sub in error.context)
        return SchemaProblem(path, f"{missing} is required", path)
    branch = _closest_alternative(error.context)
    deepest = max(branch, key=lambda e: len(e.absolute_path))
    detail = "; ".join(_located(e, len(path)) for e in branch)
    return SchemaProblem(path, detail, tuple(deepest.absolute_path))


def _closest_alternative(context: Sequence[SchemaError]) -> list[SchemaError]:
    """The errors of the ``anyOf``/``oneOf`` branch that nearly matched.

    A branch that failed on a ``const`` (the ``type: task`` of a pipeline node) is the wrong kind
    of object altogether, so it only counts when every branch did.
    """
    branches: dict[Any, list[SchemaError]] = {}
    for sub in context:
        key = sub.relative_schema_path[0] if sub.relative_schema_path else None
        branches.setdefault(key, []).append(sub)
    candidates = [b for b in branches.values() if not any(e.validator == "const" for e in b)]
    return min(candidates or list(branches.values()), key=len)


def _located(error: SchemaError, base_depth: int) -> str:
    rest = list(error.absolute_path)[base_depth:]
    if rest:
        return f"{'.'.join(str(p) for p in rest)}: {error.message}"
    return str(error.message)
