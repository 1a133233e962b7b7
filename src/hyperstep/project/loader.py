"""``load_project``: a ``valohai.yaml`` parsed by valohai-yaml, wrapped in typed views.

valohai-yaml accepts and normalises the file (so every file Valohai accepts loads here); this
module only adds what a runner needs on top: errors that name the file and line instead of a
traceback, and small typed records (:class:`StepInfo`, :class:`ParamInfo`) that the rest of
hyperstep can use without knowing valohai-yaml's classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valohai_yaml.objs import Config, Parameter, Step, Task

from hyperstep.errors import ConfigError, NotFoundError
from hyperstep.project.schema import schema_problems
from hyperstep.project.yamlfile import (
    LineIndex,
    YamlSyntaxError,
    parse_yaml_text,
    read_config_text,
)

#: the top-level item kinds valohai-yaml parses; ``blueprint`` is its old alias of ``pipeline``
ITEM_KINDS = ("step", "task", "pipeline", "blueprint", "endpoint", "deployment")

#: errors valohai-yaml's object constructors raise on data the schema let through
#: (``time-limit: 1e30`` overflows a timedelta, an unknown task type is a ValueError…)
PARSE_ERRORS = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError)


@dataclass(frozen=True)
class ParamInfo:
    """A step parameter, typed; ``vh`` is valohai-yaml's object (its ``validate`` is used)."""

    name: str
    type: str  # "float" | "integer" | "string" | "flag"
    default: Any
    optional: bool
    min: float | None
    max: float | None
    choices: list[Any] | None  # None for flags: their type already says True/False
    multiple: str | None  # None, "repeat" or "separate"
    description: str | None
    vh: Parameter = field(repr=False, compare=False)

    @classmethod
    def from_vh(cls, param: Parameter) -> ParamInfo:
        is_flag = param.type == "flag"
        return cls(
            name=param.name,
            type=str(param.type),
            default=param.default,
            optional=bool(param.optional),
            min=param.min,  # type: ignore[arg-type]
            max=param.max,  # type: ignore[arg-type]
            choices=None if is_flag or param.choices is None else list(param.choices),
            multiple=param.multiple.value if param.multiple else None,
            description=param.description,
            vh=param,
        )

    @property
    def required(self) -> bool:
        """True when a value must be given: not optional, no default, not a flag."""
        return self.type != "flag" and not self.optional and self.default in (None, [])


@dataclass(frozen=True)
class StepInfo:
    """A ``- step:``: its command template(s) and typed parameters, in declaration order."""

    name: str
    image: str
    command: list[str]
    parameters: dict[str, ParamInfo]
    vh: Step = field(repr=False, compare=False)

    @classmethod
    def from_vh(cls, step: Step) -> StepInfo:
        commands = step.command if isinstance(step.command, list) else [step.command]
        return cls(
            name=step.name,
            image=step.image,
            command=[str(c) for c in commands],
            parameters={name: ParamInfo.from_vh(p) for name, p in step.parameters.items()},
            vh=step,
        )


@dataclass(frozen=True)
class Project:
    """A loaded project: the folder, its ``valohai.yaml``, steps and task blueprints."""

    root: Path
    config_path: Path
    steps: dict[str, StepInfo]
    blueprints: dict[str, Task]
    config: Config = field(repr=False, compare=False)
    lines: LineIndex = field(repr=False, compare=False)
    #: (kind, name) -> index of the top-level item, to find lines (last one wins, as in parsing)
    item_index: dict[tuple[str, str], int] = field(repr=False, compare=False)

    def step(self, name: str) -> StepInfo:
        """The step called ``name``; :class:`NotFoundError` lists the known steps."""
        try:
            return self.steps[name]
        except KeyError:
            raise NotFoundError(
                f"{self.config_path.name}: no step named {name!r} "
                f"(known steps: {_names(self.steps)})"
            ) from None

    def blueprint(self, name: str) -> Task:
        """The blueprint called ``name``; :class:`NotFoundError` lists the known ones."""
        try:
            return self.blueprints[name]
        except KeyError:
            raise NotFoundError(
                f"{self.config_path.name}: no task blueprint named {name!r} "
                f"(known blueprints: {_names(self.blueprints)})"
            ) from None

    def line_of(self, kind: str, name: str, *path: str | int) -> int | None:
        """The line of item ``kind``/``name`` (or of ``path`` inside it), when known."""
        index = self.item_index.get((kind, name))
        if index is None:
            return None
        return self.lines.line((index, kind, *path) if path else (index,))


def load_project(root: Path | str, config: str = "valohai.yaml") -> Project:
    """Read, validate and parse ``root/config``; every problem is a :class:`ConfigError`."""
    root_path = Path(root)
    config_path = root_path / config
    display = str(config_path)
    text = read_config_text(config_path)
    try:
        data, lines = parse_yaml_text(text)
    except YamlSyntaxError as err:
        raise ConfigError(err.message, path=display, line=err.line) from None
    if data is None:
        data = []  # an empty file is an empty project, as in valohai-yaml
    check_top_level(data, display)

    problems = schema_problems(data)
    if problems:
        first = problems[0]
        message = f"{first.where}: {first.message}"
        more = [f"line {lines.line(p.line_path)}: {p.where}: {p.message}" for p in problems[1:]]
        if more:
            message += f" (and {len(more)} more: " + "; ".join(more) + ")"
        raise ConfigError(message, path=display, line=lines.line(first.line_path))

    parsed = parse_config(data, lines, display)
    return Project(
        root=root_path,
        config_path=config_path,
        steps={name: StepInfo.from_vh(step) for name, step in parsed.steps.items()},
        blueprints=dict(parsed.tasks),
        config=parsed,
        lines=lines,
        item_index=index_items(data),
    )


def check_top_level(data: Any, display: str | None) -> None:
    """valohai.yaml is a list of one-key mappings; say so plainly when it is not."""
    if not isinstance(data, list):
        kind = type(data).__name__
        raise ConfigError(
            f"the file must be a YAML list of items (- step: ..., - task: ...), not a {kind}",
            path=display,
            line=1,
        )


def parse_config(data: list[Any], lines: LineIndex, display: str) -> Config:
    """valohai-yaml's ``Config.parse``; on failure, find the item at fault to name its line."""
    try:
        return Config.parse(data)
    except PARSE_ERRORS as err:
        message = str(err) or type(err).__name__
        line = None
        for index, item in enumerate(data):
            try:
                Config.parse([item])
            except PARSE_ERRORS as item_err:
                message = str(item_err) or type(item_err).__name__
                line = lines.line((index,))
                break
        raise ConfigError(f"cannot be parsed: {message}", path=display, line=line) from None


def index_items(data: list[Any]) -> dict[tuple[str, str], int]:
    """Map (kind, name) of every top-level item to its index in the list."""
    index: dict[tuple[str, str], int] = {}
    for position, item in enumerate(data):
        if not isinstance(item, Mapping):
            continue
        for kind in ITEM_KINDS:
            body = item.get(kind)
            if isinstance(body, Mapping) and isinstance(body.get("name"), str):
                canonical = "pipeline" if kind == "blueprint" else kind
                index[(canonical, body["name"])] = position
                break
    return index


def _names(items: Mapping[str, Any]) -> str:
    return ", ".join(repr(n) for n in items) or "none"
