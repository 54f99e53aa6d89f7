"""Strict, safe YAML reading that remembers where every value came from.

PyYAML only *composes* the node tree here (no constructor runs, so no tag can execute code);
the conversion to Python values is ours, so that:
- anchors, aliases and non-standard tags are refused (no alias bombs, no `!!python/object`);
- duplicate keys are errors, not "last one wins";
- YAML 1.1 surprises never become silent booleans or floats: `yes/no/on/off` must be quoted,
  and numbers keep their source text so a schema error can say "1.10 was read as 1.1";
- every value's line and column are kept for messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {f"{_STD}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}
_TIMESTAMP = f"{_STD}timestamp"
_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


class YamlError(Exception):
    """A file that cannot be read as strict YAML; line and column are 1-based."""

    def __init__(self, message: str, line: int = 0, column: int = 0, rule: str = "yaml-syntax"):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.rule = rule


@dataclass
class LoadedYaml:
    """Python data plus the position of every value (by path) and of every mapping key."""

    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    raw_scalars: dict[Path_, str] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int, int]:
        """The closest known position for `path` (walking up to its parents)."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))


class _Composer(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases while composing."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            line, col = _mark(event.start_mark)
            raise YamlError(
                "anchors and aliases (&name, *name) are not allowed in data files; "
                "write the value out in full",
                line,
                col,
                "yaml-alias",
            )
        if getattr(event, "anchor", None):
            line, col = _mark(event.start_mark)
            raise YamlError(
                f"anchor &{event.anchor} is not allowed in data files", line, col, "yaml-alias"
            )
        return super().compose_node(parent, index)


def _mark(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _pos(node: yaml.Node) -> tuple[int, int]:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def decode(raw: bytes) -> str:
    """Decode UTF-8 strictly; a BOM or invalid bytes are errors with a line number."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise YamlError(
            "the file starts with a byte-order mark (BOM); save it as UTF-8 without BOM",
            1,
            1,
            "yaml-encoding",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
            line,
            col,
            "yaml-encoding",
        ) from None


def load(raw: bytes) -> LoadedYaml:
    """Parse one YAML document strictly. Raises `YamlError` with a position."""
    text = decode(raw)
    try:
        root = yaml.compose(text, Loader=_Composer)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        detail = exc.problem or str(exc)
        if "\t" in text and "'\\t'" in detail:
            detail = "a tab character is used for indentation; use spaces"
        raise YamlError(f"this is not valid YAML: {detail}", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"this is not valid YAML: {exc}") from None
    out = LoadedYaml(data=None)
    if root is None:
        return out
    out.data = _convert(root, (), out)
    return out


def _convert(node: yaml.Node, path: Path_, out: LoadedYaml) -> Any:
    out.positions[path] = _pos(node)
    if node.tag not in _ALLOWED_TAGS and node.tag != _TIMESTAMP:
        line, col = _pos(node)
        raise YamlError(
            f"the tag {node.tag!r} is not allowed in data files; remove it",
            line,
            col,
            "yaml-tag",
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _pos(key_node)
                raise YamlError("a key must be plain text", line, col, "yaml-key")
            key = key_node.value
            if key_node.tag != f"{_STD}str" and key_node.style is None:
                line, col = _pos(key_node)
                raise YamlError(
                    f"the key {key!r} would be read by YAML as a "
                    f"{key_node.tag.removeprefix(_STD)}; put it in quotes",
                    line,
                    col,
                    "yaml-1.1-value",
                )
            if key in result:
                line, col = _pos(key_node)
                first = out.key_positions[(*path, key)]
                raise YamlError(
                    f"the key {key!r} appears twice in the same mapping "
                    f"(first on line {first[0]}); keep one",
                    line,
                    col,
                    "yaml-duplicate-key",
                )
            out.key_positions[(*path, key)] = _pos(key_node)
            result[key] = _convert(value_node, (*path, key), out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), out) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node, path, out)


def _scalar(node: yaml.ScalarNode, path: Path_, out: LoadedYaml) -> Any:
    value: str = node.value
    tag = node.tag
    if node.style is not None or tag == f"{_STD}str":  # quoted or block scalars stay text
        return value
    line, col = _pos(node)
    if tag == f"{_STD}null":
        return None
    if tag == f"{_STD}bool":
        if value in ("true", "false"):
            out.raw_scalars[path] = value
            return value == "true"
        raise YamlError(
            f"{value!r} is read by YAML as the boolean {value.lower() in ('yes', 'on', 'y')}; "
            f'write "{value}" in quotes if you mean the word, or true/false for a yes/no field',
            line,
            col,
            "yaml-1.1-value",
        )
    if tag == f"{_STD}int":
        if _PLAIN_INT.fullmatch(value):
            out.raw_scalars[path] = value
            return int(value)
        raise YamlError(
            f"{value!r} is read by YAML as a number in an unusual notation; "
            f'write "{value}" in quotes if it is text',
            line,
            col,
            "yaml-1.1-value",
        )
    if tag == f"{_STD}float":
        if _PLAIN_FLOAT.fullmatch(value):
            out.raw_scalars[path] = value
            return float(value)
        raise YamlError(
            f"{value!r} is read by YAML as a special number; write it in quotes if it is text",
            line,
            col,
            "yaml-1.1-value",
        )
    # A plain timestamp stays text: the schema checks dates, and 2024-02-30 must not crash.
    return value
