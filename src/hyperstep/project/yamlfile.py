"""Reading ``valohai.yaml`` so that every later error can point at a line.

valohai-yaml works on plain Python data and never knows where a value came from. We parse the text
twice: once into data (``yaml.safe_load``, exactly what valohai-yaml itself does) and once into
PyYAML's node graph, whose nodes carry their start marks. :class:`LineIndex` then maps a data path
such as ``(0, "step", "parameters", 2)`` back to the line it was written on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hyperstep.errors import ConfigError


class YamlSyntaxError(Exception):
    """The text is not YAML; carries the 1-based line of the error mark when PyYAML gives one."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class LineIndex:
    """Line lookup for paths into the document (1-based lines; ``None`` when unknown)."""

    root: yaml.Node | None

    def line(self, path: Iterable[str | int]) -> int | None:
        """Line of the deepest node reachable along ``path``.

        A path that leaves the document (a key that is absent, an index out of range, a merge key)
        stops at the last node found, which is still the best place to look.
        """
        node = self._deepest(path)
        return None if node is None else node.start_mark.line + 1

    def text_line(self, path: Iterable[str | int]) -> int | None:
        """Line where the text of the scalar at ``path`` starts.

        Differs from :meth:`line` for block scalars (``command: |``), whose text begins on the
        line after the indicator.
        """
        node = self._deepest(path)
        if node is None:
            return None
        block = isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
        return node.start_mark.line + 1 + (1 if block else 0)

    def _deepest(self, path: Iterable[str | int]) -> yaml.Node | None:
        node = self.root
        if node is None:
            return None
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode):
        if isinstance(part, int) and 0 <= part < len(node.value):
            child: yaml.Node = node.value[part]
            return child
        return None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                found: yaml.Node = value_node
                return found
    return None


def parse_yaml_text(text: str) -> tuple[Any, LineIndex]:
    """Parse ``text`` into data and a line index; raise :class:`YamlSyntaxError` on bad YAML."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise YamlSyntaxError(_describe_yaml_error(err), _error_line(err)) from None
    return data, LineIndex(root)


def read_config_text(path: Path) -> str:
    """The file's text, or a :class:`ConfigError` that says why it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a file", path=str(path)) from None
    except OSError as err:
        raise ConfigError(f"cannot read the file: {err.strerror}", path=str(path)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"not UTF-8 text (byte {err.start} cannot be decoded)", path=str(path)
        ) from None


def _error_line(err: yaml.YAMLError) -> int | None:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if mark is None:
        return None
    return int(mark.line) + 1


def _describe_yaml_error(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError):
        bits = [b for b in (err.context, err.problem) if b]
        column = f" (column {err.problem_mark.column + 1})" if err.problem_mark else ""
        return "invalid YAML: " + ", ".join(bits) + column
    return f"invalid YAML: {err}"
