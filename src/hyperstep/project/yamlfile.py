"""Reading ``valohai.yaml`` so that every later error can point at a line, and so that no file
can hurt the process that reads it.

valohai-yaml works on plain Python data and never knows where a value came from. We compose the
text into PyYAML's node graph, whose nodes carry their start marks, and construct the data from
that same graph with the safe constructors (what ``yaml.safe_load`` does, and what valohai-yaml
itself uses). :class:`LineIndex` then maps a data path such as ``(0, "step", "parameters", 2)``
back to the line it was written on.

Between composing and constructing, the graph is checked, because the file may come from anyone
(a cloned repository, a pull request) and PyYAML itself sets no limits:

* aliases must not expand to more than :data:`MAX_EXPANDED_NODES` values: a "billion laughs" file
  is a few hundred bytes for PyYAML, but billions of values for whatever walks the data next
  (the schema validation, valohai-yaml, a JSON dump); an alias to one of its own ancestors (a
  recursive document) is refused for the same reason;
* nesting deeper than :data:`MAX_DEPTH` is refused (PyYAML and the validators recurse);
* a key written twice in one mapping is refused: YAML says keys are unique, and PyYAML would
  silently keep the last one, so a reader of the file could believe the first;
* files over :data:`MAX_CONFIG_BYTES` are not read at all.

Tags that construct Python objects (``!!python/object``…) are refused by the safe constructors.
Every refusal is a :class:`YamlSyntaxError` with the line, and the column in the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hyperstep.errors import ConfigError

#: Largest ``valohai.yaml`` read (real ones are a few kilobytes).
MAX_CONFIG_BYTES = 1 << 20
#: Most values the document may hold once every alias is expanded.
MAX_EXPANDED_NODES = 100_000
#: Deepest nesting of collections accepted.
MAX_DEPTH = 64


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
    """Parse ``text`` into data and a line index; raise :class:`YamlSyntaxError` on bad YAML.

    Also raised for documents that are valid YAML but unsafe to use (see the module's notes).
    """
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None, LineIndex(None)
        check_node_graph(root)
        data = loader.construct_document(root)
    except yaml.YAMLError as err:
        raise YamlSyntaxError(_describe_yaml_error(err), _error_line(err)) from None
    except RecursionError:
        raise YamlSyntaxError(
            f"invalid YAML: collections are nested too deeply (the limit is {MAX_DEPTH} levels)",
            None,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, LineIndex(root)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse(node: yaml.Node, message: str) -> YamlSyntaxError:
    mark = node.start_mark
    return YamlSyntaxError(f"{message} (column {mark.column + 1})", mark.line + 1)


def check_node_graph(root: yaml.Node) -> None:
    """Refuse duplicate keys, recursive aliases, deep nesting and alias bombs.

    One iterative walk (no recursion, whatever the depth) that visits each node once: the
    expanded size of a node shared by several aliases is computed once and reused, so a bomb
    is measured in microseconds without ever being expanded.
    """
    sizes: dict[int, int] = {}
    expanding: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            expanding.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > MAX_EXPANDED_NODES:
                raise _refuse(
                    node,
                    f"invalid YAML: its aliases expand to more than {MAX_EXPANDED_NODES} values "
                    "(an alias bomb?)",
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise _refuse(
                node, f"invalid YAML: collections are nested deeper than {MAX_DEPTH} levels"
            )
        if isinstance(node, yaml.MappingNode):
            _check_unique_keys(node)
        expanding.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) in expanding:
                raise _refuse(child, "invalid YAML: an alias refers to a collection containing it")
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _check_unique_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, str], yaml.Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
            continue
        first = seen.setdefault((key_node.tag, key_node.value), key_node)
        if first is not key_node:
            raise _refuse(
                key_node,
                f"invalid YAML: duplicate key {key_node.value!r} "
                f"(first written on line {first.start_mark.line + 1})",
            )


def read_config_text(path: Path) -> str:
    """The file's text, or a :class:`ConfigError` that says why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a file", path=str(path)) from None
    except OSError as err:
        raise ConfigError(f"cannot read the file: {err.strerror}", path=str(path)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB, the most hyperstep reads",
            path=str(path),
        )
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
