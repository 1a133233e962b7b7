"""The compact text form of a variant parameter, for ``--param 'name=SPEC'`` on the CLI.

``SPEC`` is a call or a bare value::

    uniform(0, 1)                 uniform(0, 0.5, step=0.05)      loguniform(-5, -1, base=2)
    integer(16, 128, step=16)     categorical(adam, sgd)          multiple(1, 2, 3)
    linear(0, 1, 0.1)             logspace(-5, -1, 5)             random(0, 1, 10, seed=3)
    fixed(3)   single(adam)       3   adam   "a, b"

Arguments are separated by commas; ``key=value`` arguments name a rule. Values that look like
numbers or booleans (``true``/``false``, any case) become numbers or booleans; anything else is
a string, and quotes (``'…'`` or ``"…"``, with ``\\`` escaping) keep commas, parentheses and
number-looking text as a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hyperstep.space._errors import SpaceError
from hyperstep.space._variants import variant_distribution, variant_values


@dataclass(frozen=True)
class _Call:
    """How one call name maps to a variant ``style`` and its ``rules``."""

    style: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    fixed: tuple[tuple[str, str], ...] = ()
    items: bool = False


_UNIFORM = _Call(
    "random", ("min", "max"), (), ("step", "integerify"), (("distribution", "uniform"),)
)
_LOG = _Call(
    "random", ("min", "max"), (), ("base", "step", "integerify"), (("distribution", "loguniform"),)
)
_INT = _Call("random", ("min", "max"), (), ("step",), (("distribution", "integer"),))
_CHOICE = _Call("multiple", items=True)
_FIXED = _Call("single", ("value",))

_CALLS: dict[str, _Call] = {
    "uniform": _UNIFORM,
    "loguniform": _LOG,
    "log_uniform": _LOG,
    "log-uniform": _LOG,
    "integer": _INT,
    "int": _INT,
    "categorical": _CHOICE,
    "choice": _CHOICE,
    "multiple": _CHOICE,
    "linear": _Call("linear", ("start", "end", "step"), (), ("integerify",)),
    "logspace": _Call("logspace", ("start", "end", "count"), (), ("base", "integerify")),
    "random": _Call(
        "random", ("min", "max"), ("count",), ("distribution", "seed", "step", "base", "integerify")
    ),
    "fixed": _FIXED,
    "single": _FIXED,
}

_CALL_RE = re.compile(r"\s*([A-Za-z_][\w-]*)\s*\((.*)\)\s*\Z", re.DOTALL)
_OPEN_RE = re.compile(r"\s*([A-Za-z_][\w-]*)\s*\(")
_INT_RE = re.compile(r"[+-]?\d+\Z")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?\Z")
_KEYWORD_RE = re.compile(r"([A-Za-z_][\w-]*)\s*=(.*)\Z", re.DOTALL)


def parse_distribution(text: str, *, field: str | None = None) -> tuple[str, dict[str, Any]]:
    """Read a ``--param`` value into the ``(style, rules)`` of a variant parameter.

    The result is checked with :func:`variant_distribution` (and :func:`variant_values` for
    styles a grid can expand), so a bad bound fails here, naming the text.

    Raises:
        SpaceError: the text is malformed, names an unknown call or breaks a rule; the message
            quotes the text. ``field`` (e.g. ``--param lr``) is attached to the error.

    >>> parse_distribution("integer(16, 128, step=16)")
    ('random', {'distribution': 'integer', 'min': 16, 'max': 128, 'step': 16})
    >>> parse_distribution("adam")
    ('single', {'value': 'adam'})
    """
    if not isinstance(text, str) or not text.strip():
        raise SpaceError("empty value: give a value or a call such as uniform(0, 1)", field=field)
    style, rules = _parse(text, field)
    try:
        variant_distribution(style, rules, field="spec")
        if style != "random" or "count" in rules:
            variant_values(style, rules, field="spec", seed=0)
    except SpaceError as exc:
        raise SpaceError(f"{text.strip()!r}: {_plain_message(exc)}", field=field) from None
    return style, rules


def _parse(text: str, field: str | None) -> tuple[str, dict[str, Any]]:
    match = _CALL_RE.match(text)
    if match is None:
        if _OPEN_RE.match(text):
            raise SpaceError(f"{text.strip()!r}: missing the closing ')'", field=field)
        return "single", {"value": _value(text, text, field)}
    name, body = match.group(1), match.group(2)
    call = _CALLS.get(name.lower())
    if call is None:
        known = ", ".join(sorted(_CALLS))
        raise SpaceError(
            f"{text.strip()!r}: unknown call {name!r} (expected one of: {known})", field=field
        )
    args = _split(body, text, field)
    return call.style, _bind(call, name, args, text, field)


def _bind(call: _Call, name: str, args: list[str], text: str, field: str | None) -> dict[str, Any]:
    def fail(message: str) -> SpaceError:
        return SpaceError(f"{text.strip()!r}: {message}", field=field)

    rules: dict[str, Any] = dict(call.fixed)
    positional: list[Any] = []
    for arg in args:
        keyword = (
            _KEYWORD_RE.match(arg.strip()) if not arg.lstrip().startswith(("'", '"')) else None
        )
        if keyword is None:
            if rules.keys() - dict(call.fixed).keys():
                raise fail("a positional argument cannot follow a key=value argument")
            positional.append(_value(arg, text, field))
            continue
        key = keyword.group(1).lower().replace("-", "_")
        allowed = call.required + call.optional + call.keywords
        if key not in allowed:
            hint = ", ".join(allowed) if allowed else "none"
            raise fail(f"{name}() takes no argument {key!r} (it takes: {hint})")
        if key in rules:
            raise fail(f"{key} is given twice")
        rules[key] = _value(keyword.group(2), text, field)
    if call.items:
        if not positional:
            raise fail(f"{name}() needs at least one value")
        return {"items": positional}
    names = call.required + call.optional
    if len(positional) > len(names):
        raise fail(f"{name}() takes at most {len(names)} values, got {len(positional)}")
    for key, value in zip(names, positional, strict=False):
        if key in rules:
            raise fail(f"{key} is given twice")
        rules[key] = value
    missing = [key for key in call.required if key not in rules]
    if missing:
        raise fail(f"{name}() needs {', '.join(call.required)}; missing {', '.join(missing)}")
    order = [key for key, _ in call.fixed] + list(names + call.keywords)
    return {key: rules[key] for key in order if key in rules}


def _split(body: str, text: str, field: str | None) -> list[str]:
    """Split on top-level commas, keeping quoted text whole; an empty body has no arguments."""
    args: list[str] = []
    current: list[str] = []
    quote: str | None = None
    escaped = False
    for char in body:
        if quote is not None:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == ",":
            args.append("".join(current))
            current = []
        elif char in "()":
            raise SpaceError(
                f"{text.strip()!r}: unexpected {char!r}; quote values that hold parentheses",
                field=field,
            )
        else:
            current.append(char)
    if quote is not None:
        raise SpaceError(f"{text.strip()!r}: unclosed quote {quote}", field=field)
    args.append("".join(current))
    if len(args) == 1 and not args[0].strip():
        return []
    for position, arg in enumerate(args, start=1):
        if not arg.strip():
            raise SpaceError(f"{text.strip()!r}: argument #{position} is empty", field=field)
    return args


def _value(raw: str, text: str, field: str | None) -> Any:
    """A bare or quoted value: bool, int, float or string."""
    token = raw.strip()
    if not token:
        raise SpaceError(f"{text.strip()!r}: a value is empty", field=field)
    if token[0] in "'\"":
        return _unquote(token, text, field)
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT_RE.match(token):
        return int(token)
    if _FLOAT_RE.match(token):
        return float(token)
    return token


def _unquote(token: str, text: str, field: str | None) -> str:
    quote = token[0]
    chars: list[str] = []
    escaped = False
    for index, char in enumerate(token[1:], start=1):
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == quote:
            if token[index + 1 :].strip():
                raise SpaceError(
                    f"{text.strip()!r}: text after the closing quote in {token!r}", field=field
                )
            return "".join(chars)
        else:
            chars.append(char)
    raise SpaceError(f"{text.strip()!r}: unclosed quote {quote}", field=field)


def _plain_message(exc: SpaceError) -> str:
    """The error without the internal ``spec.rules.`` prefix: ``min: 5 is greater than …``."""
    if exc.field is None:
        return exc.message
    where = exc.field.removeprefix("spec").removeprefix(".").removeprefix("rules").lstrip(".")
    return f"{where}: {exc.message}" if where else exc.message
