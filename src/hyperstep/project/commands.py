"""Building a step's shell command, and spotting templates that would defeat its quoting.

valohai-yaml interpolates the values and ``shlex.quote``s each argument, so ``; rm -rf ~`` is a
single literal argument — as long as the placeholder stands bare in the template. Written inside
quotes, backticks or ``$(…)``, the quoting no longer nests: ``echo "{parameters}"`` turns a value
``x"; rm -rf ~; "`` back into shell syntax. ``quoted_placeholders`` finds such placeholders and
``quoting_needed`` tells whether the parameters behind one can carry such text, so that
``hyperstep lint`` can refuse exactly the dangerous templates.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from valohai_yaml.commands import interpolable_re, join_command

from hyperstep.errors import ConfigError, ValidationError
from hyperstep.project.loader import ParamInfo, Project, StepInfo


def build_command(step: StepInfo, values: Mapping[str, Any]) -> str:
    """The shell command for ``values`` (normally :func:`resolve_values`' output).

    valohai-yaml's ``Step.build_command`` does the interpolation and quoting; its commands are
    joined with ``&&`` (valohai-yaml's ``join_command``, which keeps a shebang line first).
    """
    check_template(step)
    commands = step.vh.build_command(dict(values))
    command = join_command(commands, " && ")
    if "\x00" in command:
        raise ValidationError("the command contains a NUL byte", field="parameters")
    return command


def check_template(step: StepInfo, project: Project | None = None) -> None:
    """Refuse to build a command whose template lint rejects (a quoted string placeholder).

    ``hyperstep lint`` reports it; running it anyway would let a value such as
    ``$(touch PWNED)`` run as shell code, so nothing runs until the template is fixed. With
    the project, the error names the file, the line and the column of the placeholder.
    """
    commands = step.vh.command
    listed = isinstance(commands, list)
    for number, text in enumerate(commands if listed else [commands]):
        for found in quoted_placeholders(str(text)):
            params = placeholder_parameters(step, found.placeholder[1:-1])
            risky = [p.name for p in params if quoting_needed(p)]
            if not risky:
                continue
            message = (
                f"step {step.name!r}: {found.placeholder} is inside {found.context} in the "
                "command; a value with a quote or $ would run as shell code. Write the "
                "placeholder bare (values are shell-quoted); see 'hyperstep lint'"
            )
            if project is None:
                raise ValidationError(message, field="command")
            sub: tuple[int, ...] = (number,) if listed else ()
            line = project.line_of("step", step.name, "command", *sub)
            column = None
            if line is not None:
                line += found.line_offset
                lines = project.config_path.read_text(errors="replace").splitlines()
                if 0 < line <= len(lines) and found.placeholder in lines[line - 1]:
                    column = lines[line - 1].index(found.placeholder) + 1
            where = f" (column {column})" if column else ""
            raise ConfigError(f"{message}{where}", path=str(project.config_path.name), line=line)


@dataclass(frozen=True)
class QuotedPlaceholder:
    """A parameter placeholder written inside some shell quoting construct."""

    placeholder: str  # e.g. "{parameter:lr}"
    context: str  # "single quotes", "double quotes", "backticks", "$(...)"
    line_offset: int  # 0-based line within the command text


def is_parameter_placeholder(inner: str) -> bool:
    """Whether ``{inner}`` is one of the placeholders valohai-yaml fills with parameters."""
    return inner in ("parameters", "params") or inner.startswith(("parameter:", "parameter-value:"))


def quoting_needed(param: ParamInfo) -> bool:
    """Whether a value of ``param`` can need shell quoting (and so break inside quotes).

    Integers, floats and flags pass validation only as plain number or ``--name`` text, and a
    string parameter whose every choice is plain text cannot carry quotes or ``$`` either; such
    placeholders are harmless inside quotes (valohai-yaml's own examples write
    ``echo "The wibble is {parameter:wibble} today."`` for an integer).
    """
    if param.type in ("integer", "float", "flag"):
        return False
    if param.choices:
        return any(shlex.quote(str(choice)) != str(choice) for choice in param.choices)
    return True


def placeholder_parameters(step: StepInfo, inner: str) -> list[ParamInfo]:
    """The parameters a placeholder (``parameters``, ``parameter:lr``…) expands to."""
    if inner in ("parameters", "params"):
        return list(step.parameters.values())
    name = inner.split(":", 1)[1]
    return [step.parameters[name]] if name in step.parameters else []


def quoted_placeholders(command: str) -> list[QuotedPlaceholder]:
    """Parameter placeholders of ``command`` that stand inside quotes, backticks or ``$(…)``."""
    found: list[QuotedPlaceholder] = []
    for match in interpolable_re.finditer(command):
        if not is_parameter_placeholder(match.group(1)):
            continue
        context = _shell_context(command, match.start())
        if context is not None:
            line_offset = command.count("\n", 0, match.start())
            found.append(QuotedPlaceholder(match.group(0), context, line_offset))
    return found


_CONTEXTS = {"'": "single quotes", '"': "double quotes", "`": "backticks", "$(": "$(...)"}


def _shell_context(text: str, stop: int) -> str | None:
    """The innermost quoting construct open at ``text[stop]`` (a small POSIX-sh scanner).

    Tracks single and double quotes, backticks and ``$(``…``)`` (with nesting and quotes inside
    substitutions), backslash escapes and comments; enough for command templates.
    """
    stack: list[str] = []
    position = 0
    while position < stop:
        if stack and stack[-1] == "'":
            if text[position] == "'":
                stack.pop()
            position += 1
            continue
        advanced = _scan(text, position, stop, stack)
        if advanced is None:
            return None  # the placeholder is in a comment; the shell never sees it
        position = advanced
    for construct in reversed(stack):
        if construct in _CONTEXTS:
            return _CONTEXTS[construct]
    return None


def _scan(text: str, position: int, stop: int, stack: list[str]) -> int | None:
    """Read one token outside single quotes; return where the next one starts."""
    char = text[position]
    top = stack[-1] if stack else None
    if char == "\\":
        return position + 2  # escaped (inside double quotes too: close enough here)
    if char == "`":
        if top == "`":
            stack.pop()
        else:
            stack.append("`")
    elif text.startswith("$(", position):
        stack.append("$(")
        return position + 2
    elif top == '"':
        if char == '"':
            stack.pop()
    elif char in "'\"":
        stack.append(char)
    elif char == "(" and top in ("$(", "("):
        stack.append("(")
    elif char == ")" and top in ("$(", "("):
        stack.pop()
    elif char == "#" and (position == 0 or text[position - 1] in " \t\n;&|"):
        newline = text.find("\n", position)
        return None if newline == -1 or newline >= stop else newline + 1
    return position + 1
