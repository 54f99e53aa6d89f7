"""Strict, safe YAML reading that remembers where every value came from.

PyYAML (libyaml when available) only *parses* events here (no constructor runs, so no tag
can execute code); the conversion to Python values is ours, so that:
- anchors, aliases and non-standard tags are refused (no alias bombs, no `!!python/object`);
- duplicate keys are errors, not "last one wins";
- YAML 1.1 surprises never become silent booleans or floats: `yes/no/on/off` must be quoted,
  and numbers keep their source text so a schema error can say "1.10 was read as 1.1";
- every value's line and column are kept for messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {f"{_STD}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}
_TIMESTAMP = f"{_STD}timestamp"
MAX_DEPTH = 64
MAX_DIGITS = 18  # more is not a count or a dose (and Python refuses over 4,300 digits)
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


def _mark(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _pos(node: _Scalar) -> tuple[int, int]:
    return _mark(node.start_mark)


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


# libyaml's parser when PyYAML has it (about 20x faster than the pure-Python one); the
# events, and so the marks, are the same.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()


@dataclass
class _Scalar:
    """A plain or quoted scalar as the parser saw it (the fields `_scalar` needs)."""

    value: str
    tag: str
    style: str | None
    start_mark: Any


def load(raw: bytes) -> LoadedYaml:
    """Parse one YAML document strictly. Raises `YamlError` with a position."""
    text = decode(raw)
    out = LoadedYaml(data=None)
    try:
        events = yaml.parse(text, Loader=_LOADER)
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    line, col = _mark(event.start_mark)
                    raise YamlError(
                        "the file holds more than one YAML document (---); keep one",
                        line,
                        col,
                    )
            elif isinstance(event, yaml.NodeEvent):
                out.data = _compose(event, events, (), out)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        detail = exc.problem or str(exc)
        if mark is not None and _is_tab(text, mark):
            detail = "a tab character is used for indentation; use spaces"
        raise YamlError(f"this is not valid YAML: {detail}", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"this is not valid YAML: {exc}") from None
    return out


def _is_tab(text: str, mark: Any) -> bool:
    index = getattr(mark, "index", None)
    return isinstance(index, int) and 0 <= index < len(text) and text[index] == "\t"


def _compose(event: Any, events: Iterator[Any], path: Path_, out: LoadedYaml) -> Any:
    """The value of the node that starts with `event`, consuming its events."""
    line, col = _mark(event.start_mark)
    out.positions[path] = (line, col)
    if len(path) > MAX_DEPTH:  # no data file nests this deep; Python's stack would overflow
        raise YamlError(
            f"the data is nested more than {MAX_DEPTH} levels deep", line, col, "yaml-nesting"
        )
    if isinstance(event, yaml.AliasEvent):
        raise YamlError(
            "anchors and aliases (&name, *name) are not allowed in data files; "
            "write the value out in full",
            line,
            col,
            "yaml-alias",
        )
    if event.anchor:
        raise YamlError(
            f"anchor &{event.anchor} is not allowed in data files", line, col, "yaml-alias"
        )
    if event.tag not in (None, "!"):
        _check_tag(event.tag, (line, col))
    if isinstance(event, yaml.MappingStartEvent):
        result: dict[str, Any] = {}
        while True:
            key_event = next(events)
            if isinstance(key_event, yaml.MappingEndEvent):
                return result
            key_path_pos = _mark(key_event.start_mark)
            if not isinstance(key_event, yaml.ScalarEvent) or key_event.anchor:
                if isinstance(key_event, yaml.AliasEvent) or key_event.anchor:
                    _compose(key_event, events, path, out)  # raises the alias error
                raise YamlError("a key must be plain text", *key_path_pos, "yaml-key")
            key = _scalar_of(key_event)
            _check_tag(key.tag, key_path_pos)
            if key.tag != f"{_STD}str" and key.style is None:
                raise YamlError(
                    f"the key {key.value!r} would be read by YAML as a "
                    f"{key.tag.removeprefix(_STD)}; put it in quotes",
                    *key_path_pos,
                    "yaml-1.1-value",
                )
            if key.value in result:
                first = out.key_positions[(*path, key.value)]
                raise YamlError(
                    f"the key {key.value!r} appears twice in the same mapping "
                    f"(first on line {first[0]}); keep one",
                    *key_path_pos,
                    "yaml-duplicate-key",
                )
            out.key_positions[(*path, key.value)] = key_path_pos
            result[key.value] = _compose(next(events), events, (*path, key.value), out)
    if isinstance(event, yaml.SequenceStartEvent):
        items: list[Any] = []
        while True:
            item = next(events)
            if isinstance(item, yaml.SequenceEndEvent):
                return items
            items.append(_compose(item, events, (*path, len(items)), out))
    assert isinstance(event, yaml.ScalarEvent)
    scalar = _scalar_of(event)
    _check_tag(scalar.tag, (line, col))  # implicit ones too: `<<` resolves to a merge key
    return _scalar(scalar, path, out)


def _check_tag(tag: str, at: tuple[int, int]) -> None:
    if tag not in _ALLOWED_TAGS and tag != _TIMESTAMP:
        raise YamlError(f"the tag {tag!r} is not allowed in data files; remove it", *at, "yaml-tag")


def _scalar_of(event: Any) -> _Scalar:
    tag = event.tag
    if tag in (None, "!"):
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    return _Scalar(event.value, tag, event.style or None, event.start_mark)


def _scalar(node: _Scalar, path: Path_, out: LoadedYaml) -> Any:
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
        if len(value.lstrip("+-")) > MAX_DIGITS:
            raise YamlError(
                f"{value[:20]}... has too many digits for a number; quote it if it is text",
                line,
                col,
                "yaml-1.1-value",
            )
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
