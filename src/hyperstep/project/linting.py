"""``hyperstep lint``: valohai-yaml's validation and lint, plus what a local runner must check.

The verdict on the format is valohai-yaml's: its JSON schema (errors) and its semantic lint
(errors and warnings). On top of that we check what Valohai only finds out when a task runs:

* a blueprint names a step or a parameter that does not exist (error);
* a blueprint's values do not fit the step parameter's type, ``min``, ``max``, ``choices``
  (error);
* a command template puts a placeholder of a parameter whose value can need quoting (a free
  string) inside quotes, backticks or ``$(…)``, which defeats valohai-yaml's quoting (error);
* a blueprint hyperstep could not run as written (no ``execution-count`` for a Bayesian task,
  a ``distributed`` task…) and a ``{parameter:X}`` naming no parameter (warnings).

Every message carries the line it is about when it can be found.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from valohai_yaml.commands import interpolable_re
from valohai_yaml.lint import LintResult
from valohai_yaml.objs import Config, Task

from hyperstep.errors import ConfigError, HyperstepError, ValidationError
from hyperstep.model import TaskType
from hyperstep.project.blueprints import task_to_spec
from hyperstep.project.commands import (
    is_parameter_placeholder,
    placeholder_parameters,
    quoted_placeholders,
    quoting_needed,
)
from hyperstep.project.loader import (
    PARSE_ERRORS,
    ParamInfo,
    StepInfo,
    check_top_level,
    index_items,
    parse_config,
)
from hyperstep.project.schema import schema_problems
from hyperstep.project.yamlfile import (
    LineIndex,
    YamlSyntaxError,
    parse_yaml_text,
    read_config_text,
)
from hyperstep.taskspec import (
    TaskSpec,
    check_variant,
    parameter_set_problems,
    setting_problems,
)

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class LintMessage:
    """One finding; ``line`` is 1-based, ``None`` when the message is about no single line."""

    level: Level
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{self.level}: {where}{self.message}"


def lint(path: Path | str) -> list[LintMessage]:
    """Every error and warning for the ``valohai.yaml`` at ``path``, in line order."""
    file_path = Path(path)
    try:
        text = read_config_text(file_path)
    except ConfigError as err:
        return [LintMessage("error", str(err))]
    try:
        data, lines = parse_yaml_text(text)
    except YamlSyntaxError as err:
        return [LintMessage("error", err.message, err.line)]
    if data is None:
        return []
    try:
        check_top_level(data, None)
    except ConfigError as err:
        return [LintMessage("error", str(err), 1)]

    messages = [
        LintMessage("error", f"{p.where}: {p.message}", lines.line(p.line_path))
        for p in schema_problems(data)
    ]
    config = _parse_leniently(data, lines, file_path.name, messages)
    if config is not None:
        linter = _Linter(config, lines, index_items(data), strict=not messages)
        messages.extend(linter.valohai_yaml_messages())
        messages.extend(linter.command_messages())
        messages.extend(linter.blueprint_messages())
    return sorted(_unique(messages), key=lambda m: (m.line is None, m.line or 0))


def _parse_leniently(
    data: list[Any], lines: LineIndex, name: str, messages: list[LintMessage]
) -> Config | None:
    """Parse even after schema errors, so valohai-yaml's semantic warnings still show."""
    try:
        return parse_config(data, lines, name)
    except ConfigError as err:
        if not messages:  # a schema error already explains why parsing fails
            messages.append(LintMessage("error", str(err).split(": ", 1)[-1], err.line))
        return None


class _Linter:
    def __init__(
        self,
        config: Config,
        lines: LineIndex,
        index: dict[tuple[str, str], int],
        *,
        strict: bool,
    ) -> None:
        self.config = config
        self.lines = lines
        self.index = index
        self.strict = strict  # False after schema errors: parsed objects may be incomplete
        self.steps: dict[str, StepInfo] = {}
        for name, step in config.steps.items():
            try:
                self.steps[name] = StepInfo.from_vh(step)
            except PARSE_ERRORS:
                continue

    def line(self, kind: str, name: str, *path: str | int) -> int | None:
        position = self.index.get((kind, name))
        if position is None:
            return None
        return self.lines.line((position, kind, *path) if path else (position,))

    # ---------------------------------------------------------------- valohai-yaml's own lint

    def valohai_yaml_messages(self) -> Iterator[LintMessage]:
        result = LintResult()
        try:
            self.config.lint(result, context={})
        except Exception as err:  # invalid data can trip any of valohai-yaml's checks
            if self.strict:
                yield LintMessage("error", f"valohai-yaml could not lint the file: {err}")
            return
        for item in result.messages:
            if item["type"] in ("error", "warning"):
                level: Level = "error" if item["type"] == "error" else "warning"
                yield LintMessage(level, item["message"], self._guess_line(item["message"]))

    def _guess_line(self, message: str) -> int | None:
        """valohai-yaml names the item (``Step X, …``, ``Pipeline "P" …``); find its line."""
        for (kind, name), _ in sorted(self.index.items(), key=lambda kv: -len(kv[0][1])):
            title = kind.capitalize()
            if message.startswith((f"{title} {name},", f'{title} "{name}"', f"{title} {name}:")):
                return self.line(kind, name)
        return None

    # ------------------------------------------------------------------------- commands

    def command_messages(self) -> Iterator[LintMessage]:
        for step in self.steps.values():
            commands = step.vh.command
            for number, command in enumerate(
                commands if isinstance(commands, list) else [commands]
            ):
                sub: tuple[int, ...] = (number,) if isinstance(commands, list) else ()
                text = str(command)
                position = self.index.get(("step", step.name))
                start = (
                    None
                    if position is None
                    else self.lines.text_line((position, "step", "command", *sub))
                )
                for found in quoted_placeholders(text):
                    params = placeholder_parameters(step, found.placeholder[1:-1])
                    risky = [p.name for p in params if quoting_needed(p)]
                    if not risky:
                        continue  # numbers and plain choices need no quoting
                    yield LintMessage(
                        "error",
                        f"step {step.name!r}: {found.placeholder} is inside {found.context}; "
                        f"the value of {', '.join(repr(r) for r in risky)} is shell-quoted when "
                        "the command is built, and quotes do not nest, so a value with a quote "
                        "or $ would run as shell code (write the placeholder bare)",
                        None if start is None else start + found.line_offset,
                    )
                yield from self._unknown_placeholders(step, text, start)

    def _unknown_placeholders(
        self, step: StepInfo, command: str, line: int | None
    ) -> Iterator[LintMessage]:
        for match in interpolable_re.finditer(command):
            inner = match.group(1)
            if not is_parameter_placeholder(inner) or inner in ("parameters", "params"):
                continue
            name = inner.split(":", 1)[1]
            if name not in step.parameters:
                yield LintMessage(
                    "warning",
                    f"step {step.name!r}: {match.group(0)} names no parameter of the step, so "
                    "it is left in the command as it is",
                    line,
                )

    # ------------------------------------------------------------------------ blueprints

    def blueprint_messages(self) -> Iterator[LintMessage]:
        for name, task in self.config.tasks.items():
            try:
                yield from self._blueprint(name, task)
            except PARSE_ERRORS as err:
                if self.strict:  # after schema errors, a crash here is expected noise
                    yield LintMessage(
                        "error",
                        f"task {name!r} could not be checked: {err}",
                        self.line("task", name),
                    )

    def _blueprint(self, name: str, task: Task) -> Iterator[LintMessage]:
        label = f"task {name!r}"
        step = self.steps.get(task.step)
        if step is None:
            known = ", ".join(repr(s) for s in self.steps) or "none"
            yield LintMessage(
                "error",
                f"{label}: step {task.step!r} does not exist (known steps: {known})",
                self.line("task", name, "step"),
            )
            return
        try:
            spec = task_to_spec(task)
        except ValidationError as err:
            yield LintMessage("warning", f"{label}: {err}", self.line("task", name, "type"))
            spec = None
        for position, variant in enumerate(task.parameters):
            param = step.parameters.get(variant.name)
            where = ("parameters", position)
            if param is None:
                known = ", ".join(step.parameters) or "none"
                yield LintMessage(
                    "error",
                    f"{label}: step {step.name!r} has no parameter {variant.name!r} "
                    f"(known: {known})",
                    self.line("task", name, *where),
                )
            elif spec is not None:
                yield from self._variant(label, name, spec, position, param)
        if spec is None:
            return
        yield from self._parameter_sets(label, name, spec, step)
        for problem in setting_problems(spec, step):
            yield LintMessage(
                "warning",
                f"{label}: hyperstep cannot run this task as written: {problem}",
                self.line("task", name, *_field_path(problem)),
            )

    def _variant(
        self, label: str, name: str, spec: TaskSpec, position: int, param: ParamInfo
    ) -> Iterator[LintMessage]:
        variant = spec.parameters[param.name]
        try:
            check_variant(spec.type, param.name, variant, param, spec.seed)
        except ValidationError as err:
            rest = _field_path(err)[2:]  # after "parameters", NAME
            yield LintMessage(
                "error",
                f"{label}: {err}",
                self.line("task", name, "parameters", position, *rest),
            )

    def _parameter_sets(
        self, label: str, name: str, spec: TaskSpec, step: StepInfo
    ) -> Iterator[LintMessage]:
        if spec.type is not TaskType.MANUAL_SEARCH:
            return  # valohai-yaml already warns about sets on other task types
        for problem in parameter_set_problems(spec, step):
            yield LintMessage(
                "error",
                f"{label}: {problem}",
                self.line("task", name, *_field_path(problem)),
            )


def _field_path(problem: HyperstepError) -> list[str | int]:
    """``parameter-sets.2.lr`` → ``["parameter-sets", 2, "lr"]``, for line lookups."""
    field = getattr(problem, "field", None) or ""
    return [int(p) if p.isdigit() else p for p in field.split(".") if p]


def _unique(messages: Iterable[LintMessage]) -> list[LintMessage]:
    seen: set[tuple[str, str]] = set()
    result = []
    for message in messages:
        key = (message.level, message.message)
        if key not in seen:
            seen.add(key)
            result.append(message)
    return result
