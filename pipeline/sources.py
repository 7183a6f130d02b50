"""Load a sources file (YAML) into :class:`~pipeline.fetch_settings.SourcesConfig`.

Every error names the file and the line: unknown keys, wrong types, duplicate keys and
duplicate source names included. The file format is documented in ``seeds/README.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pipeline.dates import known_zone
from pipeline.errors import ConfigError
from pipeline.fetch_settings import FetchSettings, SourcesConfig
from pipeline.records import Source
from pipeline.seedfile import Location, parse_yaml, read_text, require_unique, validate
from pipeline.urls import is_http_url


class _SourceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    # kind comes before url: the url check depends on it.
    kind: Literal["feed", "sitemap", "warc"] = "feed"
    url: str
    lang: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    tags: list[str] = []
    robots: bool = True
    timezone: str | None = None

    @field_validator("url")
    @classmethod
    def _url_for_kind(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if info.data.get("kind") == "warc" and not value.lower().startswith(
            ("http://", "https://")
        ):
            # A WARC file may be local: a path, or a file:// URL.
            path = value.removeprefix("file://")
            if not path or "\x00" in path:
                raise ValueError("must be an http(s) URL or the path of a WARC file")
            return path
        # is_http_url also checks the port; a space inside is a typo, never a real feed URL.
        if not is_http_url(value) or any(c.isspace() for c in value):
            raise ValueError("must be an absolute http or https URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value) if value is not None else None


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    settings: FetchSettings = Field(default_factory=lambda: FetchSettings.model_validate({}))
    sources: list[_SourceModel]


def _model_at(location: Location) -> type[BaseModel] | None:
    if location == ():
        return _FileModel
    if location == ("settings",):
        return FetchSettings
    if len(location) == 2 and location[0] == "sources":
        return _SourceModel
    return None


def parse_sources(text: str, file: str) -> SourcesConfig:
    """Parse the text of a sources file; ``file`` is used in error messages."""
    data, lines = parse_yaml(text, file)
    if data is None:
        raise ConfigError("the file is empty; it needs a 'sources:' list", path=file, line=1)
    if not isinstance(data, dict):
        raise ConfigError(
            "the top level must be a mapping with 'settings' and 'sources'", path=file, line=1
        )
    model = validate(_FileModel, data, lines, file, _model_at)
    require_unique([s.name for s in model.sources], lines, file, "sources", "source name")
    base = Path(file).parent
    sources = tuple(
        Source(
            name=s.name,
            url=_located(s.url, s.kind, base),
            kind=s.kind,
            lang=s.lang,
            tags=tuple(s.tags),
            robots=s.robots and model.settings.robots,
            timezone=s.timezone,
        )
        for s in model.sources
    )
    return SourcesConfig(path=file, fetch=model.settings, sources=sources)


def _located(url: str, kind: str, base: Path) -> str:
    """A local WARC path is taken relative to the sources file's folder."""
    if kind != "warc" or url.lower().startswith(("http://", "https://")):
        return url
    return str((base / Path(url).expanduser()).resolve())


def load_sources(path: str | os.PathLike[str]) -> SourcesConfig:
    """Read and validate a sources file."""
    return parse_sources(read_text(path, "sources file"), str(path))
