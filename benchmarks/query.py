"""Query benchmark: `newswatch events` start-up and `GET /api/events` on a large database.

Generates a database the size of a year of collecting (default 100,000 articles and 10,000
tracked events; SQLite at head schema, event_terms and the full-text index filled by the
pipeline's own functions), then prints, all measured in this run (the machine is noisy, so
only ratios and the issue's targets are compared):

- `newswatch events` on the demo database, start-up included: median and max of 7 runs, against
  ``python -c pass`` and ``python -c "import sqlalchemy"`` (target <= 0.5 s; Prefect must not be
  imported); the same command on the generated database with ``--topic pricing``;
- `newswatch web` on the generated database: p50/p95/max of sequential GETs of
  ``/api/events`` with realistic filters (target: p95 <= 100 ms over all of them), against the
  server's floor (a GET of an unknown path: routing, middleware and the HTTP round trip, no
  query), with the in-process time of ``list_events`` and ``count_events`` beside each (a max
  of ~60 ms is the server's full garbage collection, which big pages such as limit=200 trigger
  every dozen requests or so);
- for information, ``/api/articles?q=`` (English, Chinese, Korean), ``/api/stats`` and
  ``/api/events/{id}``.

With ``--postgres`` the API figures are measured again on a fresh PostgreSQL database at
127.0.0.1:5432 (created and dropped). ``--explain`` prints SQLite's query plan of each filter.

Not generated (the API does not read them): entries, runs, story keys, sketches and bands.

    python benchmarks/query.py
    python benchmarks/query.py --articles 20000 --events 2000 --keep /tmp/query.db
    python benchmarks/query.py --postgres
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.collect import _free_port  # noqa: E402
from db.models import (  # noqa: E402
    SEARCH_TABLE,
    ArticleRow,
    EventRow,
    EventTermRow,
    SourceRow,
    StoryRow,
)
from pipeline.fulltext import fts5_match, parse_query, tsquery  # noqa: E402
from pipeline.store.database import Database, open_database  # noqa: E402
from pipeline.store.event_terms import term_rows, write_terms  # noqa: E402
from pipeline.store.events_query import EventFilter, count_events, list_events  # noqa: E402
from pipeline.store.search import index_articles  # noqa: E402

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

PYTHON_PASS = [sys.executable, "-c", "pass"]
PYTHON_SQLALCHEMY = [sys.executable, "-c", "import sqlalchemy"]
SEARCH_WORDS = ("pricing", "降价", "딥시크")  # an English word, a Chinese bigram, Korean
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

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


def _vocabularies(rng: random.Random) -> dict[str, Vocabulary]:
    """English, Korean and Chinese vocabularies: real words, then made-up ones of the same
    script (a real text's long tail of rare words)."""
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    en = EN_TEXT.split()
    en_seen = set(en)
    while len(en) < 6000:
        word = "".join(
            rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4))
        )
        if word not in en_seen:
            en_seen.add(word)
            en.append(word)
    syllables = [
        chr(0xAC00 + (initial * 21 + medial) * 28 + final)
        for initial in range(19)
        for medial in range(21)
        for final in (0, 4, 8, 16, 21)
    ]
    rng.shuffle(syllables)
    syllables = syllables[:700]
    common = _zipf(len(syllables), 0.9)
    ko = KO_TEXT.split()
    ko_seen = set(ko)
    while len(ko) < 8000:
        word = "".join(rng.choices(syllables, cum_weights=common, k=rng.randint(2, 4)))
        if word not in ko_seen:
            ko_seen.add(word)
            ko.append(word)
    hanzi = [chr(c) for c in rng.sample(range(0x4E00, 0x9FA6), 3000)]
    common = _zipf(len(hanzi), 0.9)
    zh = ZH_TEXT.split()
    zh_seen = set(zh)
    while len(zh) < 10000:
        word = "".join(rng.choices(hanzi, cum_weights=common, k=rng.randint(1, 3)))
        if word not in zh_seen:
            zh_seen.add(word)
            zh.append(word)
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


def rare_entity(db: Database) -> tuple[str, int]:
    """The entity named by the fewest events (at least 10), and how many."""
    query = (
        select(EventTermRow.value, func.count().label("n"))
        .where(EventTermRow.kind == "entity")
        .group_by(EventTermRow.value)
        .having(func.count() >= 10)
        .order_by(func.count(), EventTermRow.value)
        .limit(1)
    )
    with db.connect() as conn:
        row = conn.execute(query).one()
    entry = yaml.safe_load((ROOT / "seeds" / "entities.yaml").read_text(encoding="utf-8"))
    names = {str(e["name"]).casefold(): str(e["name"]) for e in entry["entities"]}
    return names.get(row.value, row.value), int(row.n)


# ------------------------------------------------------------------------------ measuring


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def newswatch_argv(*args: str) -> list[str]:
    """The `newswatch` console script of this interpreter's environment (as a user runs it)."""
    script = Path(sys.executable).parent / "newswatch"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "flows.cli", *args]


def wall_times(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of ``argv`` (after one unmeasured run to warm the cache)."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(
            argv,
            check=False,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stderr[-2000:]}")
        if attempt:
            times.append(elapsed)
    return times


def imports_prefect(db_url: str, env: dict[str, str]) -> bool:
    """Whether `newswatch events` imports any Prefect module."""
    probe = (
        "import sys\n"
        "from flows.cli import main\n"
        f"main(['events', '--db', {db_url!r}])\n"
        "print('PREFECT', any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    return "PREFECT True" in done.stderr


def make_demo(home: Path) -> str:
    """`newswatch demo` into ``home``; its database URL."""
    env = {**os.environ, "NEWSWATCH_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("NEWSWATCH_DB", None)
    start = time.perf_counter()
    subprocess.run(
        newswatch_argv("demo", "--port", "0", "--no-progress"),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    print(f"demo database made in {time.perf_counter() - start:.1f} s", flush=True)
    return f"sqlite:///{home / 'newswatch.db'}"


@contextmanager
def web_server(db_url: str, home: Path) -> Iterator[str]:
    """`newswatch web` on a free loopback port; its base URL."""
    port = _free_port()
    env = {**os.environ, "NEWSWATCH_HOME": str(home)}
    process = subprocess.Popen(
        newswatch_argv("web", "--port", str(port), "--db", db_url),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"newswatch web exited with {process.returncode}")
            try:
                httpx.get(base + "/api/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("newswatch web did not answer within 60 s") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True, slots=True)
class Timed:
    """Latencies of one route in milliseconds, and what it answered."""

    name: str
    path: str
    ms: list[float]
    total: int | None = None
    extra: str = ""

    @property
    def p50(self) -> float:
        return percentile(self.ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)

    @property
    def max(self) -> float:
        return max(self.ms)


def timed_gets(
    client: httpx.Client,
    name: str,
    path: str,
    n: int,
    expect: int = 200,
    warmup: int = 5,
    budget_s: float | None = None,
) -> Timed:
    """``n`` sequential GETs of ``path`` (after ``warmup`` unmeasured ones); with ``budget_s``,
    fewer (at least 5) when they take longer than that in all."""
    ms: list[float] = []
    total = None
    began = time.perf_counter()
    for attempt in range(warmup + n):
        if budget_s is not None and len(ms) >= 5 and time.perf_counter() - began > budget_s:
            break
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != expect:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
        if attempt == 0 and expect == 200:
            body = response.json()
            if isinstance(body, dict) and "total" in body:
                total = int(body["total"])
            elif isinstance(body, dict) and "items" in body:
                total = len(body["items"])
        if attempt >= warmup:
            ms.append(elapsed)
    return Timed(name, path, ms, total)


@dataclass(frozen=True, slots=True)
class Query:
    """A realistic `GET /api/events` and the same filter in-process."""

    name: str
    params: dict[str, str]

    @property
    def path(self) -> str:
        return str(httpx.URL("/api/events", params=self.params))

    def event_filter(self) -> EventFilter:
        """The filter the API builds from these parameters."""
        p = self.params

        def day(value: str | None, end: bool) -> datetime | None:
            if value is None:
                return None
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment

        return EventFilter(
            topic=p.get("topic"),
            entity=p.get("entity"),
            since=day(p.get("since"), end=False),
            until=day(p.get("until"), end=True),
            lang=p.get("lang"),
            min_sources=int(p.get("min_sources", "1")),
            limit=int(p.get("limit", "50")),
            offset=int(p.get("offset", "0")),
        )


def event_queries(rare: str) -> list[Query]:
    """The filters a dashboard user or a script asks for."""
    month = {"since": "2025-03-01", "until": "2025-03-31"}
    return [
        Query("no filter", {}),
        Query("topic=pricing", {"topic": "pricing"}),
        Query("entity=Baidu", {"entity": "Baidu"}),
        Query(f"entity={rare} (rare)", {"entity": rare}),
        Query("since/until a month", month),
        Query("pricing+Baidu+month", {"topic": "pricing", "entity": "Baidu", **month}),
        Query("lang=ko&min_sources=2", {"lang": "ko", "min_sources": "2"}),
        Query("offset=2000", {"offset": "2000"}),
        Query("model_launch offset=2000", {"topic": "model_launch", "offset": "2000"}),
        Query("limit=200", {"limit": "200"}),
    ]


def search_matches(db: Database, word: str) -> int:
    """How many articles the index finds for ``word`` (all pages; the API ranks them all)."""
    phrases = parse_query(word)
    if db.dialect == "postgresql":
        match = (
            "to_tsvector('simple', body) @@ to_tsquery('simple', :q)",
            tsquery(phrases),
        )
    else:
        match = (f"{SEARCH_TABLE} MATCH :q", fts5_match(phrases))
    with db.connect() as conn:
        found = conn.execute(
            text(f"SELECT count(*) FROM {SEARCH_TABLE} WHERE {match[0]}"), {"q": match[1]}
        )
        return int(found.scalar_one())


def in_process_ms(db: Database, wanted: EventFilter, runs: int = 15) -> tuple[float, float]:
    """Median milliseconds of ``list_events`` and of ``count_events`` called directly."""
    lists, counts = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        list_events(db, wanted)
        t1 = time.perf_counter()
        count_events(db, wanted)
        t2 = time.perf_counter()
        lists.append((t1 - t0) * 1000)
        counts.append((t2 - t1) * 1000)
    return statistics.median(lists), statistics.median(counts)


def explain(db: Database, queries: list[Query]) -> None:
    """SQLite's plan of the list and count statements of each filter."""
    from sqlalchemy.dialects import sqlite

    from pipeline.store.events_query import _matching

    for query in queries:
        wanted = query.event_filter()
        listing = (
            select(EventRow)
            .where(*_matching(wanted))
            .order_by(EventRow.last_seen.desc(), EventRow.id.desc())
            .limit(wanted.limit)
            .offset(wanted.offset)
        )
        counting = select(func.count()).select_from(EventRow).where(*_matching(wanted))
        print(f"\n-- {query.name}")
        for label, stmt in (("list", listing), ("count", counting)):
            compiled = stmt.compile(
                dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
            )
            with db.connect() as conn:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
            print(f"   {label}: " + " | ".join(str(row[-1]) for row in plan))


@dataclass(slots=True)
class ApiFigures:
    """Everything measured against one server."""

    floor: Timed
    events: list[tuple[Timed, float, float]]
    info: list[Timed]
    matches: dict[str, int]

    @property
    def overall_p95(self) -> float:
        return percentile([ms for timed, _l, _c in self.events for ms in timed.ms], 95)


def measure_api(db: Database, db_url: str, home: Path, requests: int, rare: str) -> ApiFigures:
    """Start `newswatch web` on ``db_url`` and time its routes."""
    queries = event_queries(rare)
    in_process = [in_process_ms(db, q.event_filter()) for q in queries]
    with (
        web_server(db_url, home) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        floor = timed_gets(client, "server floor (404)", "/api/no-such-route", requests, 404, 20)
        events = []
        for query, (list_ms, count_ms) in zip(queries, in_process, strict=True):
            events.append((timed_gets(client, query.name, query.path, requests), list_ms, count_ms))
        first_id = client.get("/api/events", params={"limit": "1"}).json()["items"][0]["id"]
        # For information only: slow routes get 30 s each, so that a slow one cannot stall the
        # run for an hour.
        info = [
            timed_gets(
                client, f"articles q={word}", f"/api/articles?q={word}", requests, 200, 2, 30
            )
            for word in SEARCH_WORDS
        ]
        info += [
            timed_gets(client, "stats", "/api/stats", requests, 200, 2, 30),
            timed_gets(client, f"event {first_id}", f"/api/events/{first_id}", requests),
        ]
    matches = {f"articles q={word}": search_matches(db, word) for word in SEARCH_WORDS}
    return ApiFigures(floor, events, info, matches)


def print_api(label: str, figures: ApiFigures, target_ms: float) -> None:
    """The API figures as a table."""
    floor = figures.floor
    print(f"\n[{label}] GET /api/events, sequential requests")
    head = f"{'query':30} {'total':>6} {'p50':>7} {'p95':>7} {'max':>7} {'p95/floor':>9}"
    print(f"{head} {'list':>7} {'count':>7}   (ms; list/count: in-process median)")
    for timed, list_ms, count_ms in figures.events:
        print(
            f"{timed.name[:30]:30} {timed.total or 0:>6} {timed.p50:>7.1f} {timed.p95:>7.1f} "
            f"{timed.max:>7.1f} {timed.p95 / floor.p95:>9.1f} {list_ms:>7.1f} {count_ms:>7.1f}"
        )
    print(
        f"{floor.name:30} {'':>6} {floor.p50:>7.1f} {floor.p95:>7.1f} {floor.max:>7.1f} {1.0:>9.1f}"
    )
    overall = figures.overall_p95
    verdict = "met" if overall <= target_ms else "NOT met"
    print(
        f"overall p95 over {sum(len(t.ms) for t, _l, _c in figures.events)} requests: "
        f"{overall:.1f} ms = {overall / floor.p95:.1f} x floor (target <= {target_ms:.0f} ms: "
        f"{verdict})"
    )
    print(f"[{label}] for information")
    for timed in figures.info:
        shown = "" if timed.total is None else f"{timed.total} items, "
        if timed.name in figures.matches:
            shown = f"{figures.matches[timed.name]} articles match, " + shown
        print(
            f"  {timed.name:28} {shown}p50 {timed.p50:.1f} ms, p95 {timed.p95:.1f} ms, "
            f"max {timed.max:.1f} ms ({len(timed.ms)} requests)"
        )


# ------------------------------------------------------------------------------ PostgreSQL


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """An empty PostgreSQL database on 127.0.0.1:5432, dropped afterwards; its URL."""
    name = f"newswatch_query_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ------------------------------------------------------------------------------ main


def _generated_sqlite(path: Path, n_articles: int, n_events: int) -> Generated | None:
    """Generate the SQLite database at ``path``, or reuse it when it already has the sizes."""
    url = f"sqlite:///{path}"
    if path.exists():
        db = open_database(url)
        try:
            with db.connect() as conn:
                articles = conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
                events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        finally:
            db.dispose()
        if (articles, events) != (n_articles, n_events):
            raise SystemExit(
                f"{path} holds {articles} articles and {events} events, not {n_articles} and "
                f"{n_events}: remove it or choose another --keep path"
            )
        print(f"reusing {path}: {articles} articles, {events} events", flush=True)
        return None
    db = open_database(url, upgrade=True)
    try:
        made = generate_database(db, n_articles, n_events, SEED)
    finally:
        db.dispose()
    _print_generated("SQLite", made, path.stat().st_size)
    return made


def _print_generated(label: str, made: Generated, size: int | None) -> None:
    shown = f", {size / 2**20:.0f} MB on disk" if size is not None else ""
    print(
        f"generated ({label}): {made.articles} articles, {made.stories} stories, "
        f"{made.events} events in {made.total_s:.1f} s (text {made.text_s:.1f} s, article "
        f"inserts {made.insert_s:.1f} s, search index {made.index_s:.1f} s, events and terms "
        f"{made.events_s:.1f} s){shown}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="articles to generate")
    parser.add_argument("--events", type=int, default=10_000, help="tracked events to generate")
    parser.add_argument(
        "--keep",
        metavar="PATH",
        type=Path,
        help="write the SQLite database here and keep it (reused when it exists)",
    )
    parser.add_argument("--requests", type=int, default=200, help="GETs per query (default 200)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--postgres", action="store_true", help="measure PostgreSQL as well")
    parser.add_argument("--explain", action="store_true", help="print SQLite's query plans")
    args = parser.parse_args()
    cli_target_s, api_target_ms = 0.5, 100.0

    work = Path(tempfile.mkdtemp(prefix="newswatch-query-bench-"))
    try:
        path = args.keep.resolve() if args.keep else work / "generated.db"
        _generated_sqlite(path, args.articles, args.events)
        url = f"sqlite:///{path}"

        env = {**os.environ, "NEWSWATCH_HOME": str(work)}
        env.pop("NEWSWATCH_DB", None)
        demo_url = make_demo(work / "demo")
        python_pass = wall_times(PYTHON_PASS, env, args.runs)
        python_sqlalchemy = wall_times(PYTHON_SQLALCHEMY, env, args.runs)
        events_demo = wall_times(newswatch_argv("events", "--db", demo_url), env, args.runs)
        events_big = wall_times(
            newswatch_argv("events", "--db", url, "--topic", "pricing"), env, args.runs
        )
        prefect = imports_prefect(demo_url, env)

        db = open_database(url)
        try:
            rare, rare_events = rare_entity(db)
            if args.explain:
                explain(db, event_queries(rare))
            sqlite_api = measure_api(db, url, work, args.requests, rare)
        finally:
            db.dispose()

        postgres_api = None
        if args.postgres:
            with fresh_postgres() as pg_url:
                pg = open_database(pg_url, upgrade=True)
                try:
                    made = generate_database(pg, args.articles, args.events, SEED)
                    _print_generated("PostgreSQL", made, None)
                    postgres_api = measure_api(pg, pg_url, work, args.requests, rare)
                finally:
                    pg.dispose()

        base = statistics.median(python_pass)
        print(f"\n=== summary ({args.articles} articles, {args.events} events) ===")
        print(f"`newswatch events`, start-up included, {args.runs} runs (median / max):")
        rows = [
            ("python -c pass (baseline)", python_pass),
            ('python -c "import sqlalchemy"', python_sqlalchemy),
            ("newswatch events (demo db)", events_demo),
            ("newswatch events --topic pricing (gen.)", events_big),
        ]
        for name, times in rows:
            print(
                f"  {name:42} {statistics.median(times):6.3f} s / {max(times):6.3f} s  "
                f"= {statistics.median(times) / base:5.1f} x python -c pass"
            )
        demo_median = statistics.median(events_demo)
        print(
            f"  events (demo) / import sqlalchemy: "
            f"{demo_median / statistics.median(python_sqlalchemy):.2f}; Prefect imported: "
            f"{'YES' if prefect else 'no'}; target <= {cli_target_s} s (median): "
            f"{'met' if demo_median <= cli_target_s and not prefect else 'NOT met'}"
            f" (max {max(events_demo):.3f} s)"
        )
        print(f"rare entity: {rare} ({rare_events} events)")
        print_api("SQLite", sqlite_api, api_target_ms)
        if postgres_api is not None:
            print_api("PostgreSQL", postgres_api, api_target_ms)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
