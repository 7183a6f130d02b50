"""Topics with evidence: which of ``seeds/topics.yaml``'s topics an article reports, and why.

Decided sentence by sentence. A sentence counts for a topic when it contains one of the topic's
cues, contains none of its negative cues (a price war in EVs, housing prices), and, for an
anchored topic, the article is about AI: an AI anchor term or an AI model/product in the same
sentence or in the title. The best sentences add up (the title counts double); a topic is
assigned when the sum reaches its threshold, and its best sentence is kept as evidence.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import ConfigError
from pipeline.seedfile import Location, parse_yaml, read_text, validate

LANGS = ("en", "ko", "zh")
TITLE_WEIGHT = 2.0
BEST_SENTENCES = 3
EVIDENCE_CHARS = 240
AMOUNT_WITH_CUE = 0.2  # added when a sentence has both a cue and an amount of the topic
# A sentence ends at . ! ? (and 。！？ even without a space), but not inside "U.S." or "U.K.".
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])(?<!\.[A-Z]\.)\s+|(?<=[。！？])|\n+")
_SPACE = re.compile(r"\s+")


class _TopicModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    description: str = ""
    anchored: bool = True
    threshold: float = Field(1.0, gt=0)
    cues: dict[str, dict[str, float]]
    negative: dict[str, list[str]] = {}
    amount_kinds: list[str] = []
    amount_weight: float = Field(0.8, ge=0)


class _RelevanceModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    threshold: float = Field(0.5, ge=0, le=1)
    seeds: list[str] = ["*.txt"]


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    relevance: _RelevanceModel = Field(default_factory=lambda: _RelevanceModel.model_validate({}))
    anchors: dict[str, list[str]] = {}
    topics: dict[str, _TopicModel]


def _model_at(location: Location) -> type[BaseModel] | None:
    if location == ():
        return _FileModel
    if len(location) == 2 and location[0] == "topics":
        return _TopicModel
    if location == ("relevance",):
        return _RelevanceModel
    return None


@dataclass(frozen=True, slots=True)
class TopicLabel:
    """A topic assigned to an article: its score (0..1) and the sentence that shows it."""

    name: str
    score: float
    evidence: str


def _fold(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text))


_WORD_START = r"(?<![A-Za-z])"


def _starts_word(term: str) -> bool:
    return term[:1].isascii() and term[:1].isalnum()


def _body(term: str) -> str:
    return re.escape(_fold(term)).replace(r"\ ", r"\s?")


def _phrase(term: str) -> str:
    """A term as a pattern: Latin terms start a word (and short capitals must be whole)."""
    escaped = _body(term)
    if _starts_word(term):
        escaped = _WORD_START + escaped
        if term.isupper() and len(term) <= 4:  # "AI", "API", "EV": not inside "said", "every"
            escaped += r"(?![A-Za-z])"
    return escaped


def _matcher(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for all terms; upper-case short terms must match as written.

    Latin terms share one word-start check in front of their group: a check per term made
    every position of the text try each of them (about 2x slower). Which group can match at a
    position is decided by its first character, so the grouping finds the same matches.
    """
    terms = list(terms)
    exact = sorted({t for t in terms if t.isupper() and len(t) <= 4}, key=len, reverse=True)
    loose = sorted({t for t in terms if t not in exact}, key=len, reverse=True)
    parts = [f"(?-i:{_phrase(t)})" for t in exact]
    words = [_body(t) for t in loose if _starts_word(t)]
    if words:
        parts.append(_WORD_START + "(?:" + "|".join(words) + ")")
    parts += [_phrase(t) for t in loose if not _starts_word(t)]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True, slots=True)
class _Topic:
    name: str
    anchored: bool
    threshold: float
    cues: re.Pattern[str]
    weights: Mapping[str, float]
    negative: re.Pattern[str] | None
    amount_kinds: frozenset[str] = frozenset()
    amount_weight: float = 0.8


def sentences(title: str, text: str) -> list[str]:
    """The title, then the text's sentences (Korean, Chinese and Latin punctuation)."""
    found = [title.strip()] if title.strip() else [""]
    found += [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    return found


class TopicTable:
    """Compiled topic definitions; :meth:`classify` labels one article."""

    def __init__(
        self,
        anchors: Iterable[str],
        topics: list[_Topic],
        *,
        relevance_threshold: float = 0.5,
        seed_patterns: tuple[str, ...] = ("*.txt",),
    ) -> None:
        self._anchors = _matcher(anchors)
        self.topics = topics
        self.relevance_threshold = relevance_threshold
        self.seed_patterns = seed_patterns

    def anchor_count(self, text: str) -> int:
        """How many AI anchor terms ``text`` contains."""
        return len(self._anchors.findall(_fold(text))) if self._anchors is not None else 0

    @property
    def names(self) -> list[str]:
        """Topic names, in file order."""
        return [topic.name for topic in self.topics]

    def anchored(self, sentence: str) -> bool:
        """True when a sentence has an AI anchor term."""
        return self._anchors is not None and self._anchors.search(_fold(sentence)) is not None

    def classify(
        self,
        title: str,
        text: str,
        ai_sentences: Collection[int] = (),
        amounts: Mapping[int, Collection[str]] | None = None,
    ) -> list[TopicLabel]:
        """Topics of an article.

        ``ai_sentences``: indexes (in :func:`sentences` order, 0 = title) of sentences that name
        an AI model, product or lab; they are anchored like sentences with an anchor term.
        ``amounts``: the kinds of money amount in each sentence (``price``, ``investment``...),
        evidence for topics that list those kinds.
        """
        parts = [_fold(s) for s in sentences(title, text)]
        anchored = [i in ai_sentences or self.anchored(s) for i, s in enumerate(parts)]
        kinds = amounts or {}
        labels = []
        for topic in self.topics:
            # A title about something else (an EV price war) lends its anchor to no sentence.
            title_negative = topic.negative is not None and topic.negative.search(parts[0])
            title_anchor = anchored[0] and not title_negative
            scored: list[tuple[float, str]] = []
            for index, sentence in enumerate(parts):
                weight = max(
                    (topic.weights.get(_key(hit), 0.0) for hit in topic.cues.findall(sentence)),
                    default=0.0,
                )
                if topic.amount_kinds & set(kinds.get(index, ())):
                    # A cue and a matching amount are two signals: together they suffice.
                    both = weight > 0.0
                    weight = max(weight, topic.amount_weight) + (AMOUNT_WITH_CUE if both else 0)
                if weight == 0.0:
                    continue
                if topic.negative is not None and topic.negative.search(sentence):
                    continue
                if topic.anchored and not (title_anchor or anchored[index]):
                    continue
                scored.append((weight * (TITLE_WEIGHT if index == 0 else 1.0), sentence))
            scored.sort(key=lambda item: -item[0])
            total = sum(score for score, _ in scored[:BEST_SENTENCES])
            if scored and total >= topic.threshold:
                score = round(min(1.0, total / (2 * topic.threshold)), 3)
                labels.append(TopicLabel(topic.name, score, scored[0][1][:EVIDENCE_CHARS]))
        return labels


def _key(hit: str) -> str:
    return _SPACE.sub("", hit).casefold()


def parse_topics(text: str, file: str) -> TopicTable:
    """Parse the text of a topic file; ``file`` is used in error messages."""
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with 'topics'", path=file, line=1)
    model = validate(_FileModel, data, lines, file, _model_at)
    for name, topic in model.topics.items():
        for section, by_lang in (("cues", topic.cues), ("negative", topic.negative)):
            unknown = sorted(set(by_lang) - set(LANGS))
            if unknown:
                raise ConfigError(
                    f"topics.{name}.{section}: unknown language {unknown[0]!r}",
                    path=file,
                    line=lines.of(("topics", name, section, unknown[0])),
                )
    topics = []
    for name, topic in model.topics.items():
        weights = {
            _key(_fold(cue)): weight for cues in topic.cues.values() for cue, weight in cues.items()
        }
        cues = _matcher(cue for cues in topic.cues.values() for cue in cues)
        if cues is None:
            raise ConfigError(
                f"topics.{name}.cues: no cues", path=file, line=lines.of(("topics", name))
            )
        negative = _matcher(term for terms in topic.negative.values() for term in terms)
        topics.append(
            _Topic(
                name,
                topic.anchored,
                topic.threshold,
                cues,
                weights,
                negative,
                frozenset(topic.amount_kinds),
                topic.amount_weight,
            )
        )
    anchors = [term for terms in model.anchors.values() for term in terms]
    return TopicTable(
        anchors,
        topics,
        relevance_threshold=model.relevance.threshold,
        seed_patterns=tuple(model.relevance.seeds),
    )


def load_topics(path: str | os.PathLike[str]) -> TopicTable:
    """Read and validate a topic file."""
    return parse_topics(read_text(path, "topic file"), str(path))
