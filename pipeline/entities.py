"""Entities: companies and AI models found in text through the alias table ``seeds/entities.yaml``.

DeepSeek = 딥시크 = 深度求索: every alias resolves to one canonical name, so articles in
different languages share entities. Matching is one pass of a trie-shaped regular expression
over the text (fast with hundreds of aliases), with word rules per script checked on each hit:
Latin aliases are whole words; Korean aliases start a word, and the short ones must be followed
by a particle or a non-Hangul character (메타가 is Meta, 메타버스 is not); Chinese aliases match
anywhere. ``short`` aliases ("R1") count only when the entity's company is named too.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import ConfigError
from pipeline.seedfile import Location, parse_yaml, read_text, require_unique, validate

Kind = Literal["company", "model", "product", "org"]
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]")
# Particles (and copulas) that may follow a Korean name; their first syllable is enough.
_PARTICLE_STARTS = frozenset("은는이가을를의와과도로에만께까부보처라랑며나요")
_SEPARATORS = re.compile(r"[\s\-_‐‑–—·]+")


@dataclass(frozen=True, slots=True)
class Entity:
    """A canonical entity."""

    name: str
    kind: str
    company: str | None = None
    ai: bool = False
    country: str | None = None  # ISO 3166 alpha-2; models and products take their company's

    @property
    def about_ai(self) -> bool:
        """True for models and products, and for companies marked as AI labs."""
        return self.ai or self.kind in ("model", "product")


class _EntityModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100)
    kind: Kind
    company: str | None = None
    aliases: list[str] = Field(min_length=1)
    short: list[str] = []
    ai: bool = False
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    entities: list[_EntityModel]


def _model_at(location: Location) -> type[BaseModel] | None:
    if location == ():
        return _FileModel
    if len(location) == 2 and location[0] == "entities":
        return _EntityModel
    return None


def _key(alias: str) -> str:
    """The form an alias is matched in: NFKC, separators folded to one space."""
    return _SEPARATORS.sub(" ", unicodedata.normalize("NFKC", alias)).strip()


def _case_sensitive(alias: str) -> bool:
    # "Meta", "Apple", "Grok": plain short words are names only when capitalized as written.
    plain = alias.isalpha() and alias[:1].isupper() and alias[1:].islower()
    return plain and len(alias) <= 6


@dataclass(frozen=True, slots=True)
class _Alias:
    entity: Entity
    weak: bool
    case_sensitive: bool
    form: str


def _compact(form: str) -> str:
    return form.casefold().replace(" ", "")


class EntityTable:
    """Compiled alias table; :meth:`find` returns canonical entities with mention counts."""

    def __init__(self, entities: list[tuple[Entity, list[str], list[str]]]) -> None:
        self.entities = {entity.name: entity for entity, _, _ in entities}
        self._aliases: dict[str, list[_Alias]] = {}
        forms: set[str] = set()
        for entity, strong, weak in entities:
            for alias, is_weak in [(a, False) for a in strong] + [(a, True) for a in weak]:
                form = _key(alias)
                # Written with or without its spaces: "DeepSeek R1" and "DeepSeekR1".
                forms.update({form.casefold(), _compact(form)})
                known = self._aliases.setdefault(_compact(form), [])
                new = _Alias(entity, is_weak, _case_sensitive(form), form.replace(" ", ""))
                # "DeepSeek-R1" and "DeepSeek R1" are one alias; a case-insensitive spelling
                # ("LLaMA") makes the entity match in any case.
                same = [a for a in known if a.entity == entity and a.weak == is_weak]
                if not same:
                    known.append(new)
                elif same[0].case_sensitive and not new.case_sensitive:
                    known[known.index(same[0])] = new
        self._pattern = re.compile(_trie_pattern(sorted(forms)), re.IGNORECASE)

    def find(self, text: str) -> Counter[str]:
        """Canonical entity names mentioned in ``text``, with how often."""
        norm = _SEPARATORS.sub(" ", unicodedata.normalize("NFKC", text))
        strong: Counter[str] = Counter()
        weak: Counter[str] = Counter()
        first: dict[str, int] = {}
        for match in self._pattern.finditer(norm):
            hit = match.group(0)
            if not _fits(norm, match.start(), match.end(), hit):
                continue
            for alias in self._aliases.get(_compact(hit), ()):
                if alias.case_sensitive and hit.replace(" ", "") != alias.form:
                    continue
                (weak if alias.weak else strong)[alias.entity.name] += 1
                first.setdefault(alias.entity.name, match.start())
        # A short name ("X1") counts when its company, or another of its products, is named;
        # a company's own short name when the company or one of its products is named. (None
        # is no maker: a company's short name used to count whenever any company was named.)
        makers = {self.entities[name].company or name for name in strong}
        for name, count in weak.items():
            if (self.entities[name].company or name) in makers:
                strong[name] += count
        # In order of first mention, short names included: main_actor relies on it.
        return Counter({name: strong[name] for name in sorted(strong, key=first.__getitem__)})

    def main_actor(self, found: Counter[str]) -> str | None:
        """The company behind the first entity found (``find`` keeps mention order): in a
        headline, usually the one doing what the story reports."""
        for name in found:
            entity = self.entities[name]
            if entity.company:
                return entity.company
            if entity.kind in ("company", "org"):
                return entity.name
        return None

    def knows(self, name: str) -> bool:
        """True when ``name`` is an alias (any spelling of spaces, hyphens and case)."""
        return _compact(_key(name)) in self._aliases

    def with_makers(self, names: Counter[str] | set[str]) -> set[str]:
        """The names plus the companies that make them (ERNIE X1 implies Baidu)."""
        found = set(names)
        for name in names:
            entity = self.entities.get(name)
            if entity is not None and entity.company:
                found.add(entity.company)
        return found


def _fits(text: str, start: int, end: int, hit: str) -> bool:
    """Word rules of the script the alias starts and ends with."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if _LATIN_WORD.match(hit[0]) and _LATIN_WORD.match(before):
        return False
    if _LATIN_WORD.match(hit[-1]) and _LATIN_WORD.match(after):
        return False
    if _HANGUL.match(hit[0]) and _HANGUL.match(before):
        return False
    if _HANGUL.match(hit[-1]) and _HANGUL.match(after):
        syllables = len(_HANGUL.findall(hit))
        return syllables > 2 or after in _PARTICLE_STARTS
    return True


def _trie_pattern(words: list[str]) -> str:
    """One regular expression for all ``words``, shaped as a prefix trie (longest match first).

    Branches of a node start with different characters, so at most one can go on; a word that
    ends where a longer one goes on is an optional (greedy) tail: the longest word wins.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + render(node[char]) for char in sorted(c for c in node if c)]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return render(trie)


def parse_entities(text: str, file: str) -> EntityTable:
    """Parse the text of an entity file; ``file`` is used in error messages."""
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with 'entities'", path=file, line=1)
    model = validate(_FileModel, data, lines, file, _model_at)
    require_unique([item.name for item in model.entities], lines, file, "entities", "entity")
    names = {item.name for item in model.entities}
    for index, item in enumerate(model.entities):
        for field, aliases in (("aliases", item.aliases), ("short", item.short)):
            for number, alias in enumerate(aliases):
                # An empty alias ("", "-") made the whole pattern match the empty string, and
                # find() then failed on every text.
                if not _key(alias):
                    raise ConfigError(
                        f"entities.{index}.{field}.{number}: empty alias {alias!r}",
                        path=file,
                        line=lines.of(("entities", index, field, number)),
                    )
    for index, item in enumerate(model.entities):
        if item.company is not None and item.company not in names:
            raise ConfigError(
                f"entities.{index}.company: unknown entity {item.company!r}",
                path=file,
                line=lines.of(("entities", index, "company")),
            )
    countries = {item.name: item.country for item in model.entities}
    return EntityTable(
        [
            (
                Entity(
                    item.name,
                    item.kind,
                    item.company,
                    item.ai,
                    item.country or (countries[item.company] if item.company else None),
                ),
                item.aliases,
                item.short,
            )
            for item in model.entities
        ]
    )


def load_entities(path: str | os.PathLike[str]) -> EntityTable:
    """Read and validate an entity file."""
    return parse_entities(read_text(path, "entity file"), str(path))


# Model names not in the table, found by their shape: a name and a version ("Step-2",
# "Hunyuan T1", "Qwen2.5-Max", "어니X1", "混元T1"). Listed by `newswatch entities --unknown`.
_EDITIONS = (
    "Max|Pro|Plus|Turbo|Mini|Lite|Ultra|Flash|Preview|Omni|Instruct|Coder|VL|Vision|Sonnet|"
    "Opus|Haiku"
)
_VERSION = rf"(?:[A-Za-z]{{0,3}}\d+(?:\.\d+)?[A-Za-z]{{0,2}})(?:[ -](?:{_EDITIONS}))?"
_UNKNOWN_LATIN = re.compile(
    r"(?<![A-Za-z0-9])([A-Z][A-Za-z]{1,14}(?:[ -][A-Z][A-Za-z]{1,14})?[ -]?"
    + _VERSION
    + r")(?![A-Za-z0-9])"
)
# Korean and Chinese names take their version without a space ("어니X1", "混元T1"): with a
# space, the word before is as likely a particle-bearing word ("텐센트는 R1").
_UNKNOWN_CJK = re.compile(
    r"(?<![\uac00-\ud7a3\u4e00-\u9fff])([\uac00-\ud7a3]{2,5}|[\u4e00-\u9fff]{2,5})"
    r"((?:[A-Za-z]{1,3}\d+(?:\.\d+)?|\d+\.\d+)[A-Za-z]{0,2})(?![A-Za-z0-9])"
)
# Capitalized words that start a sentence or name a period, a unit or hardware, not a model.
_NOT_MODEL = re.compile(
    r"^(?:Series|Section|Chapter|Page|Table|Figure|Phase|Level|Top|No|Covid|COVID|Windows|"
    r"iPhone|Galaxy|Pixel|Model|Version|Q|H|Article|GPU|GPUs|CPU|AI|Between|Since|From|About|"
    r"Over|Under|In|On|At|By|For|Up|Only|Around|Nearly|About|Apache|MIT|Jan|Feb|Mar|Apr|May|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April|June|July|August|"
    r"September|October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|"
    r"Sunday)\b"
)
_YEAR = re.compile(r"(?:19|20)\d\d$")
# Korean and Chinese words that end a phrase rather than a name ("收费0.8", "推理模型R1").
_NOT_NAME_END = (
    "和",
    "约",
    "费",
    "为",
    "是",
    "在",
    "的",
    "了",
    "与",
    "及",
    "至",
    "达",
    "到",
    "模型",
    "版本",
    "价格",
    "모델",
    "버전",
    "가격",
)


def _covered(name: str, table: EntityTable) -> bool:
    """True when the name is an alias, or ends with one ("OpenAI GPT-4o")."""
    words = re.split(r"[ ]", name)
    return any(table.knows(" ".join(words[i:])) for i in range(len(words)))


def unknown_names(text: str, table: EntityTable) -> set[str]:
    """Names shaped like model names ("Step-2", "어니X1") that the alias table does not know."""
    norm = unicodedata.normalize("NFKC", text)
    found: set[str] = set()
    for match in _UNKNOWN_LATIN.finditer(norm):
        name = match.group(1).strip(" -")
        if _NOT_MODEL.match(name) or not any(c.isdigit() for c in name) or _YEAR.search(name):
            continue
        found.add(name)
    for match in _UNKNOWN_CJK.finditer(norm):
        word, version = match.group(1), match.group(2)
        if word.endswith(_NOT_NAME_END):
            continue
        # A bare decimal after a word is more often a figure ("折合约0.11") than a version,
        # unless the word is a known name ("豆包1.5").
        if not any(c.isalpha() for c in version) and not table.knows(word):
            continue
        found.add(word + version)
    return {name for name in found if not _covered(name, table)}
