"""YAML data files (sources, entities, ...) read with line numbers and validated by pydantic.

Every error is a ConfigError naming the file and the line: invalid YAML, duplicate keys, unknown
keys (with a "did you mean" when one is close), wrong types. Callers supply the pydantic model
and, for the hint, which model a location belongs to.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.errors import ConfigError

Location = tuple[str | int, ...]
Model = TypeVar("Model", bound=BaseModel)


class Lines:
    """The line of every location (path of keys and indexes) in a YAML document."""

    def __init__(self) -> None:
        self._lines: dict[Location, int] = {}

    def set(self, location: Location, line: int) -> None:
        """Record where ``location`` is."""
        self._lines[location] = line

    def of(self, location: Location) -> int | None:
        """The line of ``location``, or of its nearest recorded parent."""
        for end in range(len(location), -1, -1):
            if location[:end] in self._lines:
                return self._lines[location[:end]]
        return None


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The text of a data file; a missing or unreadable file is a ConfigError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} not found", path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", path=str(path)) from exc


def parse_yaml(text: str, file: str) -> tuple[Any, Lines]:
    """Plain data from YAML text, and where each part of it is."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", path=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=file) from exc
    lines = Lines()
    if node is None:
        return None, lines
    return _to_python(node, (), lines, file), lines


def _to_python(node: yaml.Node, path: Location, lines: Lines, file: str) -> Any:
    lines.set(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise ConfigError(f"keys must be strings, got {key!r}", path=file, line=line)
            if key in result:
                raise ConfigError(f"duplicate key {key!r}", path=file, line=line)
            result[key] = _to_python(value_node, (*path, key), lines, file)
            # Errors about a key (unknown, wrong type) point at the key's own line.
            lines.set((*path, key), line)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(child, (*path, i), lines, file) for i, child in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # Constructed directly: a round trip through yaml.serialize breaks on an empty value
    # ("sources:" with nothing after it) and raised a bare YAML error without file or line.
    return yaml.SafeLoader("").construct_object(node, deep=True)


def require_unique(names: list[str], lines: Lines, file: str, section: str, what: str) -> None:
    """Raise on the first name that repeats an earlier one in list ``section``."""
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        line = lines.of((section, index)) or 0
        if name in seen:
            raise ConfigError(
                f"duplicate {what} {name!r} (first on line {seen[name]})", path=file, line=line
            )
        seen[name] = line


def validate(
    model: type[Model],
    data: Any,
    lines: Lines,
    file: str,
    model_at: Callable[[Location], type[BaseModel] | None] = lambda location: None,
) -> Model:
    """Validate ``data``; the first error (an unknown key first) names its file and line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key ("ulr:") is both an unknown key and a missing one; the unknown key is
        # the mistake to show, on its own line.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        location = tuple(first["loc"])
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            owner = model_at(location[:-1])
            close = difflib.get_close_matches(
                str(location[-1]), list(owner.model_fields) if owner else [], n=1
            )
            message = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        dotted = ".".join(str(part) for part in location)
        raise ConfigError(f"{dotted}: {message}{more}", path=file, line=lines.of(location)) from exc
