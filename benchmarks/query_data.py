"""The generated database of the query benchmark: a year of collecting, written the way the
pipeline writes it.

Articles in English, Korean and Chinese (Zipf-distributed vocabularies, entity aliases in each
script), stories, tracked events with topics, entities and amounts, ``event_terms`` and the
full-text index filled by the pipeline's own functions. Seeded: the same arguments give the
same database. Used by ``benchmarks/query.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import insert

from db.models import (
    ArticleRow,
    EventRow,
    SourceRow,
    StoryRow,
)
from pipeline.store.database import Database
from pipeline.store.event_terms import term_rows, write_terms
from pipeline.store.search import index_articles

ROOT = Path(__file__).resolve().parent.parent

SEED = 20250301
START = datetime(2024, 9, 1, tzinfo=UTC)
SPAN_DAYS = 456  # ~15 months, to the end of November 2025
LANGS = ("en", "ko", "zh")
LANG_WEIGHTS = (0.45, 0.35, 0.20)
SOURCES_PER_LANG = {"en": 16, "ko": 14, "zh": 10}
TOPICS = ("model_launch", "pricing", "investment")
TOPIC_WEIGHTS = (0.45, 0.30, 0.25)
#: Articles per event: most stories are told once or twice, a few by a dozen outlets.
EVENT_SIZES = tuple(range(1, 13))
EVENT_SIZE_WEIGHTS = (30, 22, 15, 10, 7, 5, 4, 3, 2, 1, 1, 1)
#: The most talked-about entities, in this order; the rest of seeds/entities.yaml follow.
FREQUENT = ("DeepSeek", "OpenAI", "Baidu", "Alibaba", "Nvidia", "Tencent", "ByteDance", "Qwen")
ENTITY_POOL = 60
CHUNK = 5000


# ------------------------------------------------------------------------------ vocabulary

EN_TEXT = """the of and to in a for on that with is said its as by at from has will
model price company billion percent new AI users year market cloud chips data more than
launch pricing cut cost inference training open source developers rivals investment fund
round valuation startup shares revenue quarter growth analysts competition China Korea US
global tokens per million cheaper faster reasoning benchmark performance release version
agent platform service customers enterprise partners government regulators export controls
GPU servers capacity centre spending plans announced statement executive chief officer
according report week month earlier later after before while however also could would
which about into over under between against because since during first last largest
smaller higher lower strong weak demand supply deal agreement stake investors capital
research lab team engineers product feature update app download ranking store free paid
subscription discount offer strategy expansion Asia Europe Seoul Beijing Shanghai Shenzhen
Silicon Valley San Francisco semiconductor memory HBM supercomputer electricity energy
"""
KO_TEXT = """인공지능 모델 가격 인하 투자 출시 공개 기업 시장 서비스 개발 기술 발표 반도체
데이터 클라우드 사용자 추론 학습 성능 경쟁 중국 한국 미국 글로벌 억 원 달러 조 규모 계획
오픈소스 스타트업 유치 기업가치 매출 분기 성장 전망 업계 관계자 정부 규제 수출 통제 협력
파트너 전략 확대 최신 버전 업데이트 앱 다운로드 무료 유료 구독 할인 토큰 센터 전력
"""
ZH_TEXT = """人工智能 大模型 降价 价格 发布 推出 投资 融资 公司 市场 服务 开发者 技术 芯片
数据 云计算 用户 推理 训练 性能 竞争 中国 美国 全球 亿元 美元 规模 计划 开源 初创 估值
营收 季度 增长 预计 行业 人士 政府 监管 出口 管制 合作 伙伴 战略 扩张 最新 版本 更新
应用 下载 免费 付费 订阅 折扣 百万 令牌 数据中心 算力 电力 全面 宣布 表示 记者 报道
"""
KO_PARTICLES = ("은", "는", "이", "가", "을", "를", "의", "에", "에서", "으로", "과", "와", "도")


def _zipf(n: int, s: float = 1.05) -> list[float]:
    """Cumulative Zipf weights for ranks 1..n."""
    return list(itertools.accumulate(1 / (r + 1) ** s for r in range(n)))


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Words of one language, the real ones first, drawn with Zipf frequencies."""

    words: list[str]
    cum_weights: list[float]

    def draw(self, rng: random.Random, k: int) -> list[str]:
        """``k`` words."""
        return rng.choices(self.words, cum_weights=self.cum_weights, k=k)


def _extended(real: str, size: int, coin: Callable[[], str]) -> list[str]:
    """The real words of ``real``, then coined ones until there are ``size`` words."""
    words = real.split()
    seen = set(words)
    while len(words) < size:
        word = coin()
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def _vocabularies(rng: random.Random) -> dict[str, Vocabulary]:
    """English, Korean and Chinese vocabularies: real words, then made-up ones of the same
    script (a real text's long tail of rare words)."""
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    en = _extended(
        EN_TEXT,
        6000,
        lambda: "".join(
            rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4))
        ),
    )
    syllables = [
        chr(0xAC00 + (initial * 21 + medial) * 28 + final)
        for initial in range(19)
        for medial in range(21)
        for final in (0, 4, 8, 16, 21)
    ]
    rng.shuffle(syllables)
    syllables = syllables[:700]
    ko_common = _zipf(len(syllables), 0.9)
    ko = _extended(
        KO_TEXT,
        8000,
        lambda: "".join(rng.choices(syllables, cum_weights=ko_common, k=rng.randint(2, 4))),
    )
    hanzi = [chr(c) for c in rng.sample(range(0x4E00, 0x9FA6), 3000)]
    zh_common = _zipf(len(hanzi), 0.9)
    zh = _extended(
        ZH_TEXT,
        10000,
        lambda: "".join(rng.choices(hanzi, cum_weights=zh_common, k=rng.randint(1, 3))),
    )
    return {
        "en": Vocabulary(en, _zipf(len(en))),
        "ko": Vocabulary(ko, _zipf(len(ko))),
        "zh": Vocabulary(zh, _zipf(len(zh))),
    }


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity of seeds/entities.yaml with a name to write in each language."""

    name: str
    kind: str
    written: dict[str, str]


def _script(alias: str) -> str:
    if any("\uac00" <= c <= "\ud7af" for c in alias):
        return "ko"
    if any("\u4e00" <= c <= "\u9fff" for c in alias):
        return "zh"
    return "en"


def _entities(rng: random.Random) -> list[Entity]:
    """``ENTITY_POOL`` entities of the real seed file, the frequent ones first."""
    declared = yaml.safe_load((ROOT / "seeds" / "entities.yaml").read_text(encoding="utf-8"))
    by_name = {e["name"]: e for e in declared["entities"]}
    rest = [name for name in by_name if name not in FREQUENT]
    rng.shuffle(rest)
    pool: list[Entity] = []
    for name in [*FREQUENT, *rest][:ENTITY_POOL]:
        entry = by_name[name]
        written = {"en": name}
        for alias in entry.get("aliases") or ():
            written.setdefault(_script(str(alias)), str(alias))
        pool.append(Entity(name, str(entry.get("kind", "company")), written))
    return pool


# ------------------------------------------------------------------------------ the corpus


@dataclass(slots=True)
class Corpus:
    """What is decided before any text is written: when, where, which story, which names."""

    published: list[datetime]
    langs: list[str]
    source_ids: list[int]
    story_of: list[int]  # story id (= id of its first article) of each article
    names_of: dict[int, list[int]] = field(default_factory=dict)  # article index -> entities
    events: list[dict[str, Any]] = field(default_factory=list)


class Writer:
    """Writes titles and texts that mix English, Korean and Chinese."""

    def __init__(self, rng: random.Random, entities: list[Entity]) -> None:
        self.rng = rng
        self.vocab = _vocabularies(rng)
        self.entities = entities

    def _amount(self, lang: str) -> str:
        n = self.rng.choice((2, 4, 8, 16, 30, 50, 100, 380, 530, 1000))
        return {"en": f"${n / 10:.1f} billion", "ko": f"{n}억 원", "zh": f"{n}亿元"}[lang]

    def sentence(self, lang: str, names: Sequence[int], words: int | None = None) -> str:
        """One sentence in ``lang``, naming one of ``names`` now and then."""
        rng = self.rng
        if words is None:
            words = {"en": rng.randint(10, 22), "ko": rng.randint(6, 14)}.get(
                lang, rng.randint(8, 20)
            )
        drawn = self.vocab[lang].draw(rng, words)
        if lang == "ko":
            drawn = [w + rng.choice(KO_PARTICLES) if rng.random() < 0.3 else w for w in drawn]
        if names and rng.random() < 0.5:
            entity = self.entities[rng.choice(names)]
            drawn.insert(rng.randrange(len(drawn) + 1), entity.written.get(lang, entity.name))
        if rng.random() < 0.15:
            drawn.insert(rng.randrange(len(drawn) + 1), self._amount(lang))
        if lang == "zh":
            return "".join(drawn) + "。"
        body = " ".join(drawn)
        return body[0].upper() + body[1:] + "." if lang == "en" else body + "."

    def title(self, lang: str, names: Sequence[int]) -> str:
        """A headline of 40-100 characters (fewer for Korean and Chinese)."""
        words = {"en": 14, "ko": 10, "zh": 16}[lang]
        head = self.sentence(lang, names[:1], words).rstrip(".。")
        return head[: self.rng.randint(40, 100) if lang == "en" else self.rng.randint(25, 50)]

    def text(self, lang: str, names: Sequence[int]) -> str:
        """1,500-3,000 characters in paragraphs, mostly ``lang`` with quotes in the others."""
        rng = self.rng
        target = rng.randint(1500, 3000)
        paragraphs: list[str] = []
        size = 0
        while size < target:
            parts = []
            for _ in range(rng.randint(3, 6)):
                said = lang if rng.random() < 0.85 else rng.choice(LANGS)
                parts.append(self.sentence(said, names))
            paragraph = ("" if lang == "zh" else " ").join(parts)
            paragraphs.append(paragraph)
            size += len(paragraph) + 2
        return "\n\n".join(paragraphs)[: target + 200]


def _plan(rng: random.Random, n_articles: int, n_events: int, n_entities: int) -> Corpus:
    """Times, languages, sources, stories and the events' names, before any text."""
    seconds = SPAN_DAYS * 86400
    published = sorted(
        START + timedelta(seconds=rng.uniform(0, seconds)) for _ in range(n_articles)
    )
    langs = rng.choices(LANGS, weights=LANG_WEIGHTS, k=n_articles)
    by_lang: dict[str, list[int]] = {}
    next_id = 1
    for lang in LANGS:
        by_lang[lang] = list(range(next_id, next_id + SOURCES_PER_LANG[lang]))
        next_id += SOURCES_PER_LANG[lang]
    source_ids = [
        rng.choices(by_lang[lang], cum_weights=_zipf(len(by_lang[lang]), 0.8))[0] for lang in langs
    ]
    story_of = list(range(1, n_articles + 1))
    corpus = Corpus(published, langs, source_ids, story_of)
    openers = sorted(rng.sample(range(n_articles), min(n_events, n_articles)))
    taken = set(openers)
    window = max(10, n_articles * 3 // SPAN_DAYS)  # articles of about three days
    entity_weights = _zipf(n_entities, 1.1)
    for opener in openers:
        members = [opener]
        wanted = rng.choices(EVENT_SIZES, weights=EVENT_SIZE_WEIGHTS)[0]
        for _ in range(wanted * 3):
            if len(members) >= wanted:
                break
            candidate = opener + rng.randint(1, window)
            if candidate < n_articles and candidate not in taken:
                taken.add(candidate)
                members.append(candidate)
        for member in members:
            story_of[member] = opener + 1
        names: list[int] = []
        for _ in range(rng.randint(1, 6)):
            pick = rng.choices(range(n_entities), cum_weights=entity_weights)[0]
            if pick not in names:
                names.append(pick)
        for member in members:
            corpus.names_of[member] = names
        corpus.events.append({"opener": opener, "members": sorted(members), "names": names})
    return corpus


def _source_rows() -> list[dict[str, Any]]:
    rows = []
    source_id = 1
    for lang in LANGS:
        for i in range(SOURCES_PER_LANG[lang]):
            name = f"{lang}-newsroom-{i + 1:02d}"
            rows.append(
                {
                    "id": source_id,
                    "name": name,
                    "url": f"https://{name}.example/feed.xml",
                    "kind": "feed",
                    "lang": lang,
                    "tags": ["generated"],
                    "consecutive_failures": 0,
                    "created_at": START,
                }
            )
            source_id += 1
    return rows


def _amounts(rng: random.Random, article_id: int) -> list[dict[str, Any]]:
    amounts = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        kind = rng.choice(("price", "investment"))
        value = rng.choice((0.28, 1.1, 2.0, 8.0)) if kind == "price" else rng.choice((1e8, 5e9))
        amounts.append(
            {
                "raw": f"${value:g}",
                "value": value,
                "currency": "USD",
                "value_usd": value,
                "kind": kind,
                "modality": rng.choice(("announced", "planned")),
                "low": None,
                "high": None,
                "unit": "per million tokens" if kind == "price" else None,
                "article_id": article_id,
            }
        )
    return amounts


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Generated:
    """What generation took, in seconds, and what it made."""

    articles: int
    events: int
    stories: int
    text_s: float
    insert_s: float
    index_s: float
    events_s: float
    total_s: float


def generate_database(db: Database, n_articles: int, n_events: int, seed: int) -> Generated:
    """Fill an empty database at head schema with a generated year of news."""
    began = time.perf_counter()
    rng = random.Random(seed)
    entities = _entities(rng)
    writer = Writer(rng, entities)
    corpus = _plan(rng, n_articles, n_events, len(entities))
    titles = [writer.title(corpus.langs[i], corpus.names_of.get(i, ())) for i in range(n_articles)]
    labels: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]
    labels = {}
    for event in corpus.events:
        chosen = rng.choices(TOPICS, weights=TOPIC_WEIGHTS, k=rng.randint(1, 3))
        opener_id = event["opener"] + 1
        topics = [
            {
                "name": name,
                "score": rng.choice((0.5, 1.0)),
                "evidence": titles[event["opener"]],
                "article_id": opener_id,
            }
            for name in dict.fromkeys(chosen)
        ]
        names = [
            {
                "name": entities[i].name,
                "kind": entities[i].kind,
                "articles": rng.randint(1, len(event["members"])),
            }
            for i in event["names"]
        ]
        labels[event["opener"]] = (topics, names, _amounts(rng, opener_id))

    stories: list[dict[str, Any]] = []
    members_of: dict[int, list[int]] = {e["opener"]: e["members"] for e in corpus.events}
    for i in range(n_articles):
        if corpus.story_of[i] != i + 1:
            continue
        members = members_of.get(i, [i])
        langs = sorted({corpus.langs[m] for m in members})
        stories.append(
            {
                "id": i + 1,
                "title": titles[i],
                "lang": corpus.langs[i],
                "first_seen": corpus.published[members[0]],
                "last_seen": corpus.published[members[-1]],
                "articles": len(members),
                "sources": len({corpus.source_ids[m] for m in members}),
                "langs": langs,
                "updated_at": corpus.published[members[-1]] + timedelta(minutes=30),
            }
        )
    print(
        f"planned: {n_articles} articles, {len(stories)} stories, {len(corpus.events)} events, "
        f"{len(entities)} entities ({time.perf_counter() - began:.1f} s)",
        flush=True,
    )
    with db.begin() as conn:
        conn.execute(insert(SourceRow), _source_rows())
        for start in range(0, len(stories), CHUNK):
            conn.execute(insert(StoryRow), stories[start : start + CHUNK])

    text_s = insert_s = index_s = 0.0
    for start in range(0, n_articles, CHUNK):
        t0 = time.perf_counter()
        rows: list[dict[str, Any]] = []
        for i in range(start, min(start + CHUNK, n_articles)):
            lang = corpus.langs[i]
            body = writer.text(lang, corpus.names_of.get(i, ()))
            story = corpus.story_of[i]
            label = labels.get(story - 1)
            fetched = corpus.published[i] + timedelta(minutes=rng.randint(5, 90))
            day = corpus.published[i]
            url = f"https://{lang}-newsroom.example/{day:%Y/%m/%d}/{i + 1}"
            rows.append(
                {
                    "id": i + 1,
                    "canonical_url": url,
                    "url": url,
                    "final_url": url,
                    "source_id": corpus.source_ids[i],
                    "title": titles[i],
                    "text": body,
                    "lang": lang,
                    "published_at": day,
                    "fetched_at": fetched,
                    "fingerprint": hashlib.sha256(body.encode()).hexdigest(),
                    "story_id": story,
                    "story_score": 1.0 if story == i + 1 else round(rng.uniform(0.4, 0.9), 3),
                    "clustered_at": fetched,
                    "topics": label[0] if label else [],
                    "entities": label[1] if label else [],
                    "amounts": label[2] if label else [],
                    "unknown_names": [],
                    "relevance": round(rng.uniform(0.4, 0.95) if label else rng.random() * 0.4, 4),
                    "classified_at": fetched,
                }
            )
        t1 = time.perf_counter()
        with db.begin() as conn:
            conn.execute(insert(ArticleRow), rows)
            t2 = time.perf_counter()
            index_articles(conn, [(r["id"], r["title"], r["text"]) for r in rows])
        t3 = time.perf_counter()
        text_s += t1 - t0
        insert_s += t2 - t1
        index_s += t3 - t2
        done = min(start + CHUNK, n_articles)
        print(f"  articles {done}/{n_articles} ({time.perf_counter() - began:.0f} s)", flush=True)

    t0 = time.perf_counter()
    event_rows = []
    terms: dict[int, list[dict[str, Any]]] = {}
    for event in corpus.events:
        members = event["members"]
        opener = event["opener"]
        topics, names, amounts = labels[opener]
        langs = sorted({corpus.langs[m] for m in members})
        last_seen = corpus.published[members[-1]]
        event_rows.append(
            {
                "id": opener + 1,
                "title": titles[opener],
                "lang": corpus.langs[opener],
                "relevance": round(rng.uniform(0.4, 0.95), 4),
                "topics": topics,
                "entities": names,
                "amounts": amounts,
                "first_seen": corpus.published[opener],
                "last_seen": last_seen,
                "articles": len(members),
                "sources": len({corpus.source_ids[m] for m in members}),
                "langs": langs,
                "representative_id": opener + 1,
                "revision": rng.randint(1, 3),
                "digest": _digest(opener, topics, names, amounts),
                "updated_at": last_seen + timedelta(minutes=30),
            }
        )
        terms[opener + 1] = term_rows(opener + 1, topics, names, langs)
    with db.begin() as conn:
        for start in range(0, len(event_rows), CHUNK):
            conn.execute(insert(EventRow), event_rows[start : start + CHUNK])
        write_terms(conn, terms)
    if db.dialect == "sqlite":
        with db.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    events_s = time.perf_counter() - t0
    return Generated(
        n_articles,
        len(event_rows),
        len(stories),
        text_s,
        insert_s,
        index_s,
        events_s,
        time.perf_counter() - began,
    )
