"""Building a step's shell command, and spotting templates that would defeat its quoting.

valohai-yaml interpolates the values and ``shlex.quote``s each argument, so ``; rm -rf ~`` is a
single literal argument — as long as the placeholder stands bare in the template. Written inside
quotes, backticks or ``$(…)``, the quoting no longer nests: ``echo "{parameters}"`` turns a value
``x"; rm -rf ~; "`` back into shell syntax. ``quoted_placeholders`` finds such placeholders so
that ``hyperstep lint`` can refuse them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from valohai_yaml.commands import interpolable_re, join_command

from hyperstep.errors import ValidationError
from hyperstep.project.loader import StepInfo


def build_command(step: StepInfo, values: Mapping[str, Any]) -> str:
    """The shell command for ``values`` (normally :func:`resolve_values`' output).

    valohai-yaml's ``Step.build_command`` does the interpolation and quoting; its commands are
    joined with ``&&`` (valohai-yaml's ``join_command``, which keeps a shebang line first).
    """
    commands = step.vh.build_command(dict(values))
    command = join_command(commands, " && ")
    if "\x00" in command:
        raise ValidationError("the command contains a NUL byte", field="parameters")
    return command


@dataclass(frozen=True)
class QuotedPlaceholder:
    """A parameter placeholder written inside some shell quoting construct."""

    placeholder: str  # e.g. "{parameter:lr}"
    context: str  # "single quotes", "double quotes", "backticks", "$(...)"
    line_offset: int  # 0-based line within the command text


def is_parameter_placeholder(inner: str) -> bool:
    """Whether ``{inner}`` is one of the placeholders valohai-yaml fills with parameters."""
    return inner in ("parameters", "params") or inner.startswith(
        ("parameter:", "parameter-value:")
    )


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


def _shell_context(text: str, stop: int) -> str | None:
    """The innermost quoting construct open at ``text[stop]`` (a small POSIX-sh scanner).

    Tracks single and double quotes, backticks and ``$(``…``)`` (including nesting and quotes
    inside substitutions), backslash escapes and comments; enough for command templates.
    """
    stack: list[str] = []
    i = 0
    while i < stop:
        ch = text[i]
        top = stack[-1] if stack else None
        if top == "'":
            if ch == "'":
                stack.pop()
        elif ch == "\\":
            i += 1  # the next character is escaped (in double quotes too, close enough)
        elif top == '"' and ch == '"':
            stack.pop()
        elif ch == "`":
            if top == "`":
                stack.pop()
            else:
                stack.append("`")
        elif ch == "$" and text.startswith("$(", i):
            stack.append("$(")
            i += 1
        elif top == '"':
            pass
        elif ch == "'":
            stack.append("'")
        elif ch == '"':
            stack.append('"')
        elif ch == "(" and top == "$(":
            stack.append("(")
        elif ch == ")" and top in ("$(", "("):
            stack.pop()
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n;&|"):
            newline = text.find("\n", i)
            if newline == -1 or newline >= stop:
                return None  # the placeholder is in a comment; the shell never sees it
            i = newline
        i += 1
    for construct in reversed(stack):
        if construct != "(":
            return {
                "'": "single quotes",
                '"': "double quotes",
                "`": "backticks",
                "$(": "$(...)",
            }[construct]
    return None
