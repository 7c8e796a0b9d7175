"""Read YAML into plain data plus a map from key paths to 1-based line numbers.

The document is composed into ruamel's node tree and built here, so that
every duplicate key is reported (not just the first) and every key and list
item keeps the line it came from. Scalars are made by ruamel's safe
constructor; mapping keys are always strings. Anchors, aliases and merge keys
(``<<``) are supported; recursive aliases and custom tags are errors.
"""

from __future__ import annotations

import os
import stat
import warnings
from os import PathLike
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from leanflow.errors import LocatedError, ScenarioError
from leanflow.scenario.paths import Path, format_path, shorten  # format_path: also used from here by the loaders

LineMap = dict[Path, int]

CORE = "tag:yaml.org,2002:"
MERGE_TAG = CORE + "merge"
TIMESTAMP_TAG = CORE + "timestamp"
SCALAR_TAGS = frozenset(CORE + t for t in ("null", "bool", "int", "float", "str"))
COLLECTION_TAGS = {MappingNode: CORE + "map", SequenceNode: CORE + "seq"}
MAX_NODES = 1_000_000  # bounds alias expansion ("billion laughs")
MAX_FILE_BYTES = 256 * 1024  # shipped and calibrated files are about 10 kB; ruamel composes ~100 k nodes in 20-30 s
MAX_FILE_NODES = 20_000  # keys, items and values: shipped files have under 1,000; composing 20,000 takes ~5 s
MAX_VALUE_CHARS = 1024 * 1024  # one --set value: a single scalar is fast to parse, however long


def line_for(linemap: LineMap, path: Path) -> int:
    """The line of ``path``, or of its nearest ancestor present in the file (1 if none)."""
    for n in range(len(path), -1, -1):
        if path[:n] in linemap:
            return linemap[path[:n]]
    return 1


def _size(n: int) -> str:
    """A byte count for a message: 256 kB, 1 MB."""
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} kB"


def read_text(path: str | PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; anything else is a ScenarioError.

    A device, pipe or directory is refused before it is opened (``/dev/zero`` never ends, a pipe blocks),
    and a file is read no further than the limit, even if it grows while it is read."""
    name = str(path)

    def refuse(message: str) -> ScenarioError:
        return ScenarioError([LocatedError(name, 1, "", message)])

    too_large = f"file too large: more than {_size(max_bytes)}"
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise refuse("cannot read file: it is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise refuse("cannot read file: not a regular file (a device, pipe or socket)")
        if info.st_size > max_bytes:
            raise refuse(too_large)
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise refuse("file not found") from None
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise refuse(too_large)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded"
        raise ScenarioError([LocatedError(name, line, "", message)]) from None


def read_yaml(path: str | PathLike[str]) -> tuple[Any, LineMap]:
    """Read a YAML file whose top level is a mapping: ``(data, linemap)``."""
    return read_yaml_text(read_text(path), str(path))


def read_yaml_text(text: str, filename: str = "<string>") -> tuple[Any, LineMap]:
    """Parse YAML text whose top level is a mapping: ``(data, linemap)``; any problem raises."""
    data, lines, problems = read_yaml_text_lenient(text, filename)
    if problems:
        raise ScenarioError(problems)
    return data, lines


def read_yaml_text_lenient(text: str, filename: str = "<string>") -> tuple[Any, LineMap, list[LocatedError]]:
    """Like ``read_yaml_text``, but problems that leave usable data (duplicate keys: the first
    one is kept) are returned, so that the caller can go on validating and report them all."""
    yaml = _new_yaml()
    root = _compose(yaml, text, filename)
    if not isinstance(root, MappingNode):
        found = "nothing (the document is empty)" if root is None else _kind(root)
        line = 1 if root is None else root.start_mark.line + 1
        raise ScenarioError([LocatedError(filename, line, "", f"expected a mapping at the top level, found {found}")])
    builder = _Builder(yaml.constructor, filename)
    data = builder.build(root, ())
    return data, builder.lines, builder.errors


def parse_value(text: str, filename: str = "<value>") -> Any:
    """Parse one YAML value of any kind (empty text is null)."""
    yaml = _new_yaml()
    root = _compose(yaml, text, filename)
    if root is None:
        return None
    builder = _Builder(yaml.constructor, filename)
    value = builder.build(root, ())
    if builder.errors:
        raise ScenarioError(builder.errors)
    return value


def _kind(node: Node) -> str:
    return "a list" if isinstance(node, SequenceNode) else "a mapping" if isinstance(node, MappingNode) else "a scalar"


class _TooManyNodes(Exception):
    """Raised by the composer past MAX_FILE_NODES, with the node where it stopped."""

    def __init__(self, node_line: int) -> None:
        self.line = node_line


class _BoundedComposer(Composer):
    """ruamel's composer, stopped after MAX_FILE_NODES nodes: pure-Python composing is slow (a 256 kB list of
    small numbers would take a minute), and no real file comes near the bound."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.nodes = getattr(self, "nodes", 0) + 1
        if self.nodes > MAX_FILE_NODES:
            raise _TooManyNodes(self.parser.peek_event().start_mark.line + 1)
        return super().compose_node(parent, index)


def _new_yaml() -> YAML:
    """A pure-Python safe loader, so marks and messages are the same everywhere; bounded in nodes."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _BoundedComposer
    return yaml


def _compose(yaml: YAML, text: str, filename: str) -> Node | None:
    """The node tree of a single YAML document; syntax errors become ScenarioError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            return yaml.compose(text)
    except YAMLError as exc:
        raise ScenarioError([_syntax_error(exc, text, filename)]) from None
    except RecursionError:
        raise ScenarioError([LocatedError(filename, 1, "", "YAML nesting is too deep")]) from None
    except _TooManyNodes as exc:
        message = f"too many values: more than {MAX_FILE_NODES:,d} keys, items and values in one file"
        raise ScenarioError([LocatedError(filename, exc.line, "", message)]) from None


def _syntax_error(exc: YAMLError, text: str, filename: str) -> LocatedError:
    """A located error for a ruamel parse failure, its line clamped to the text."""
    last_line = max(1, len(text.splitlines()))
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark:
            message += f" ({exc.context}, line {min(exc.context_mark.line + 1, last_line)})"
    elif isinstance(exc, ReaderError):
        line = text[: exc.position].count("\n") + 1
        message = f"character U+{exc.character:04X} is not allowed: {exc.reason}"
    else:
        line, message = 1, str(exc).splitlines()[0]
    return LocatedError(filename, min(line, last_line), "", f"YAML syntax error: {message}")


class _Builder:
    """Turns ruamel nodes into dicts, lists and scalars, recording lines and errors."""

    def __init__(self, constructor: SafeConstructor, filename: str) -> None:
        self.constructor = constructor
        self.filename = filename
        self.lines: LineMap = {(): 1}
        self.errors: list[LocatedError] = []
        self.active: set[int] = set()
        self.count = 0

    def error(self, node: Node, path: Path, message: str) -> None:
        """Record a problem at the node's line."""
        self.errors.append(LocatedError(self.filename, node.start_mark.line + 1, format_path(path), message))

    def build(self, node: Node, path: Path) -> Any:
        """Build the value of any node, guarding against recursive and exploding aliases."""
        self.count += 1
        if self.count > MAX_NODES:
            message = f"more than {MAX_NODES} values (aliases expanding?)"
            raise ScenarioError([LocatedError(self.filename, 1, "", message)])
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.error(node, path, "an alias refers to a value that contains it")
            return None
        if node.tag != COLLECTION_TAGS[type(node)]:
            self.error(node, path, f"unsupported tag '{shorten(node.tag)}'")
        self.active.add(id(node))
        try:
            return self.mapping(node, path) if isinstance(node, MappingNode) else self.sequence(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        """A null, bool, int, float or string (timestamps stay strings)."""
        if node.tag == TIMESTAMP_TAG:
            return node.value
        if node.tag not in SCALAR_TAGS:
            self.error(node, path, f"unsupported tag '{shorten(node.tag)}'")
            return node.value
        try:
            return self.constructor.yaml_constructors[node.tag](self.constructor, node)
        except (ValueError, KeyError):
            self.error(node, path, f"cannot read '{shorten(node.value)}' as {node.tag.removeprefix(CORE)}")
            return node.value

    def sequence(self, node: SequenceNode, path: Path) -> list[Any]:
        """A list, recording each item's line."""
        items = []
        for i, item in enumerate(node.value):
            self.lines[(*path, i)] = item.start_mark.line + 1
            items.append(self.build(item, (*path, i)))
        return items

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        """A dict; merged keys first, then explicit keys, which win; duplicates are errors."""
        result: dict[str, Any] = {}
        explicit: list[tuple[str, Node, int]] = []
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path, seen)
            if key is None:
                continue
            if key_node.tag == MERGE_TAG:
                self.merge(value_node, path, result)
            else:
                explicit.append((key, value_node, seen[key]))
        for key, value_node, line in explicit:
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key))
        return result

    def key(self, node: Node, path: Path, seen: dict[str, int]) -> str | None:
        """The key's text, or None (after recording an error) if it is complex or a duplicate."""
        if not isinstance(node, ScalarNode):
            self.error(node, path, "a mapping key must be a plain value, not a list or mapping")
            return None
        line = node.start_mark.line + 1
        if node.value in seen:
            first = seen[node.value]
            self.error(node, (*path, node.value), f"duplicate key '{shorten(node.value)}' (first at line {first})")
            return None
        seen[node.value] = line
        return node.value

    def merge(self, node: Node, path: Path, result: dict[str, Any]) -> None:
        """Apply a ``<<`` merge: a mapping or a list of mappings, earlier ones winning."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in reversed(sources):
            if isinstance(source, MappingNode):
                result.update(self.build(source, path))
            else:
                self.error(source, path, "'<<' must merge a mapping or a list of mappings")
