"""Load a sources file (YAML) into :class:`~pipeline.settings.SourcesConfig`.

Every error names the file and the line: unknown keys, wrong types, duplicate keys and
duplicate source names included. The file format is documented in ``seeds/README.md``.
"""

from __future__ import annotations

import difflib
import os
import zoneinfo
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.errors import ConfigError
from pipeline.records import Source
from pipeline.settings import FetchSettings, SourcesConfig
from pipeline.urls import is_http_url

Path_ = tuple[str | int, ...]


class _SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    url: str
    kind: Literal["feed"] = "feed"
    lang: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    tags: list[str] = []
    robots: bool = True
    timezone: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        # is_http_url also checks the port; a space inside is a typo, never a real feed URL.
        if not is_http_url(value) or any(c.isspace() for c in value):
            raise ValueError("must be an absolute http or https URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    settings: FetchSettings = Field(default_factory=lambda: FetchSettings.model_validate({}))
    sources: list[_SourceModel]


def _to_python(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    """Convert a composed YAML node to plain data, recording the line of every path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if not isinstance(key, str):
                raise ConfigError(
                    f"keys must be strings, got {key!r}",
                    path=file,
                    line=key_node.start_mark.line + 1,
                )
            if key in result:
                raise ConfigError(
                    f"duplicate key {key!r}", path=file, line=key_node.start_mark.line + 1
                )
            result[key] = _to_python(value_node, (*path, key), lines, file)
            # Errors about a key (unknown, wrong type) point at the key's own line.
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(child, (*path, i), lines, file) for i, child in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    # Constructed directly: a round trip through yaml.serialize breaks on an empty value
    # ("sources:" with nothing after it) and raised a bare YAML error without file or line.
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _line_for(loc: Path_, lines: dict[Path_, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _suggestion(loc: Path_) -> str:
    """A "did you mean" hint for an unknown key close to a known one, or an empty string."""
    model: type[BaseModel] = _FileModel
    if len(loc) == 3 and loc[0] == "sources":
        model = _SourceModel
    elif len(loc) == 2 and loc[0] == "settings":
        model = FetchSettings
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_sources(text: str, file: str) -> SourcesConfig:
    """Parse the text of a sources file; ``file`` is used in error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", path=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=file) from exc
    if node is None:
        raise ConfigError("the file is empty; it needs a 'sources:' list", path=file, line=1)
    lines: dict[Path_, int] = {}
    data = _to_python(node, (), lines, file)
    if not isinstance(data, dict):
        raise ConfigError(
            "the top level must be a mapping with 'settings' and 'sources'", path=file, line=1
        )
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key ("ulr:") is both an unknown key and a missing one; the unknown key is
        # the mistake to show, on its own line.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(first["loc"])
        dotted = ".".join(str(part) for part in loc)
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = f"unknown key{_suggestion(loc)}"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(
            f"{dotted}: {message}{more}", path=file, line=_line_for(loc, lines)
        ) from exc
    seen: dict[str, int] = {}
    for index, source in enumerate(model.sources):
        line = lines.get(("sources", index), 0)
        if source.name in seen:
            raise ConfigError(
                f"duplicate source name {source.name!r} (first on line {seen[source.name]})",
                path=file,
                line=line,
            )
        seen[source.name] = line
    sources = tuple(
        Source(
            name=s.name,
            url=s.url,
            kind=s.kind,
            lang=s.lang,
            tags=tuple(s.tags),
            robots=s.robots and model.settings.robots,
            timezone=s.timezone,
        )
        for s in model.sources
    )
    return SourcesConfig(path=file, fetch=model.settings, sources=sources)


def load_sources(path: str | os.PathLike[str]) -> SourcesConfig:
    """Read and validate a sources file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("sources file not found", path=file) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read sources file: {exc}", path=file) from exc
    return parse_sources(text, file)
