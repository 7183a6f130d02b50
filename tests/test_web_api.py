"""The read-only HTTP API as a client sees it: ``newswatch web`` serving, on 127.0.0.1, the
newsroom collected by the real collect flow into SQLite and into PostgreSQL.

Every filter is checked against the same filter computed here from the unfiltered list, and
search against the stored article texts, so the server cannot agree with itself by accident.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from db.models import ArticleRow
from pipeline.store.database import open_database
from tests.test_cli import newswatch
from tests.web_fixture import (
    DATABASES,
    Param,
    ServedApi,
    cli_environment,
    served_newsroom,
    web_process,
)

TOPICS = ("model_launch", "pricing", "investment")
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@pytest.fixture(scope="module", params=DATABASES)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefect_api: str
) -> Iterator[ServedApi]:
    """The newsroom collected into a fresh database, served by ``newswatch web``."""
    folder = tmp_path_factory.mktemp(f"web-{request.param}")
    with served_newsroom(request.param, folder) as running:
        yield running


Event = dict[str, Any]


def utc(text: str) -> datetime:
    """An ISO timestamp from the API, in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def page(api: ServedApi, **params: Param) -> dict[str, Any]:
    """One page of ``GET /api/events``."""
    body: dict[str, Any] = api.json("/api/events", **params)
    assert set(body) == {"items", "total", "limit", "offset", "next_offset"}, body
    return body


def matching(api: ServedApi, **params: Param) -> list[Event]:
    """Every event matching ``params`` (one page of 200, which must hold them all)."""
    body = page(api, limit=200, **params)
    assert body["total"] == len(body["items"]) and body["next_offset"] is None, body
    items: list[Event] = body["items"]
    return items


def ids(events: list[Event]) -> list[int]:
    return [e["id"] for e in events]


@pytest.fixture(scope="module")
def everything(api: ServedApi) -> list[Event]:
    """The unfiltered list: the reference every filter is computed from."""
    return matching(api)


def topic_names(event: Event) -> set[str]:
    return {t["name"] for t in event["topics"]}


# --------------------------------------------------------------------------- /api/events


def test_unfiltered_list_holds_the_newsroom_latest_first(everything: list[Event]) -> None:
    assert len(everything) >= 5
    assert {lang for e in everything for lang in e["langs"]} == {"ko", "en", "zh"}
    assert all(topic_names(e) and topic_names(e) <= set(TOPICS) for e in everything)
    assert any(e["sources"] >= 2 for e in everything), "the wire copies make multi-source events"
    order = [(utc(e["last_seen"]), e["id"]) for e in everything]
    assert order == sorted(order, reverse=True)
    assert len(set(ids(everything))) == len(everything)


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_filter(api: ServedApi, everything: list[Event], topic: str) -> None:
    expected = [e for e in everything if topic in topic_names(e)]
    assert expected, f"the newsroom has {topic} events"
    assert ids(matching(api, topic=topic)) == ids(expected)


def test_entity_filter_ignores_case_and_surrounding_space(
    api: ServedApi, everything: list[Event]
) -> None:
    names = sorted({n["name"] for e in everything for n in e["entities"]})
    assert len(names) >= 4, names
    for name in names:
        expected = ids([e for e in everything if name in {n["name"] for n in e["entities"]}])
        for spelled in (name, name.upper(), name.lower(), name.swapcase(), f"  {name} "):
            assert ids(matching(api, entity=spelled)) == expected, spelled
    assert matching(api, entity="Nobody Inc") == []


def test_country_filter(api: ServedApi, everything: list[Event]) -> None:
    for country in ("CN", "US", "KR", "FR"):
        expected = ids(
            [e for e in everything if country in {n.get("country") for n in e["entities"]}]
        )
        assert ids(matching(api, country=country.lower())) == expected, country
    assert ids(matching(api, country="CN")), "the newsroom names Chinese firms"


def test_lang_filter(api: ServedApi, everything: list[Event]) -> None:
    for lang in ("ko", "en", "zh", "fr"):
        expected = ids([e for e in everything if lang in e["langs"]])
        assert ids(matching(api, lang=lang)) == expected, lang
    assert ids(matching(api, lang="ko")) != ids(everything)


def test_min_sources_filter(api: ServedApi, everything: list[Event]) -> None:
    most = max(e["sources"] for e in everything)
    for n in range(1, most + 2):
        expected = ids([e for e in everything if e["sources"] >= n])
        assert ids(matching(api, min_sources=n)) == expected, n
    assert matching(api, min_sources=most + 1) == []


def test_since_and_until_are_whole_utc_days_until_inclusive(
    api: ServedApi, everything: list[Event]
) -> None:
    first = min(utc(e["first_seen"]).date() for e in everything)
    last = max(utc(e["last_seen"]).date() for e in everything)
    days = [first + timedelta(days=i) for i in range(-1, (last - first).days + 2)]

    def active_since(e: Event, day: date) -> bool:
        return utc(e["last_seen"]).date() >= day

    def begun_by(e: Event, day: date) -> bool:
        return utc(e["first_seen"]).date() <= day

    for day in days:
        since = [e for e in everything if active_since(e, day)]
        until = [e for e in everything if begun_by(e, day)]
        assert ids(matching(api, since=day.isoformat())) == ids(since), f"since {day}"
        assert ids(matching(api, until=day.isoformat())) == ids(until), f"until {day}"
        for end in days:
            both = [e for e in since if begun_by(e, end)]
            got = matching(api, since=day.isoformat(), until=end.isoformat())
            assert ids(got) == ids(both), f"{day}..{end}"

    # The inclusive day matters: an event that began after midnight on `first` is listed by
    # until=first (an exclusive or midnight-cut bound would drop it).
    later_that_day = [
        e
        for e in everything
        if utc(e["first_seen"]).date() == first
        and utc(e["first_seen"]).time() > datetime.min.time()
    ]
    assert later_that_day, "the newsroom has an event beginning after midnight on its first day"
    assert set(ids(later_that_day)) <= set(ids(matching(api, until=first.isoformat())))
    assert matching(api, until=(first - timedelta(days=1)).isoformat()) == []


def test_filters_combine(api: ServedApi, everything: list[Event]) -> None:
    non_empty = 0
    for topic in TOPICS:
        for lang in ("ko", "en", "zh"):
            for n in (1, 2):
                expected = [
                    e
                    for e in everything
                    if topic in topic_names(e) and lang in e["langs"] and e["sources"] >= n
                ]
                got = matching(api, topic=topic, lang=lang, min_sources=n)
                assert ids(got) == ids(expected), (topic, lang, n)
                non_empty += bool(expected)
    assert non_empty >= 4


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
@pytest.mark.parametrize("topic", [None, "pricing"])
def test_pages_concatenate_to_the_whole_list(
    api: ServedApi, everything: list[Event], limit: int, topic: str | None
) -> None:
    whole = [e for e in everything if topic is None or topic in topic_names(e)]
    seen: list[Event] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        body = page(api, limit=limit, offset=offset, topic=topic)
        assert (body["limit"], body["offset"], body["total"]) == (limit, offset, len(whole))
        assert 1 <= len(body["items"]) <= limit
        seen.extend(body["items"])
        expected_next = offset + len(body["items"])
        assert body["next_offset"] == (expected_next if expected_next < len(whole) else None)
        offset = body["next_offset"]
        pages += 1
    assert pages == -(-len(whole) // limit)
    assert seen == whole  # same events, same order, every field
    assert len(set(ids(seen))) == len(seen)
    beyond = page(api, limit=limit, offset=len(whole) + 3, topic=topic)
    assert beyond["items"] == [] and beyond["next_offset"] is None
    assert beyond["total"] == len(whole)


def test_event_detail_is_the_listed_event_with_its_articles(
    api: ServedApi, everything: list[Event]
) -> None:
    for event in everything:
        detail = api.json(f"/api/events/{event['id']}")
        articles = detail.pop("article_list")
        assert detail == event
        assert len(articles) == event["articles"]
        assert {a["lang"] for a in articles} == set(event["langs"])
        assert len({a["source"] for a in articles}) == event["sources"]
        assert len({a["id"] for a in articles}) == len(articles)
        originals = {a["id"] for a in articles}
        assert all(a["duplicate_of"] in originals for a in articles if a["duplicate_of"])


def test_missing_event_is_404_json(api: ServedApi, everything: list[Event]) -> None:
    missing = max(ids(everything)) + 1000
    response = api.get(f"/api/events/{missing}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": f"no tracked event {missing}"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/events", {"topic": "nope"}),
        ("/api/events", {"country": "China"}),
        ("/api/events", {"limit": 0}),
        ("/api/events", {"limit": 1000}),
        ("/api/events", {"offset": -1}),
        ("/api/events", {"min_sources": 0}),
        ("/api/events", {"since": "notadate"}),
        ("/api/events", {"until": "2025-02-30"}),
        ("/api/events", {"entity": "Bai\x00du"}),
        ("/api/events", {"lang": "k\x00"}),
        ("/api/events", {"entity": "x" * 201}),
        ("/api/events/0", {}),
        ("/api/events/abc", {}),
        ("/api/events/2147483648", {}),
        ("/api/articles", {}),
        ("/api/articles", {"q": ""}),
        ("/api/articles", {"q": "model", "limit": 201}),
        ("/api/articles", {"q": "model", "since": "yesterday"}),
        ("/api/stats", {"since": "2025-13-01"}),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_parameters_are_422(api: ServedApi, path: str, params: dict[str, Param]) -> None:
    response = api.get(path, **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/events", "/api/stats"])
def test_numbers_are_not_dates(api: ServedApi, path: str) -> None:
    assert api.get(path, since="0").status_code == 422
    assert api.get(path, since="1742428800").status_code == 422


# --------------------------------------------------------------------------- /api/articles


def stored_articles(db_url: str) -> list[tuple[int, str]]:
    """Every stored article's id and title plus text, read straight from the database."""
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(select(ArticleRow.id, ArticleRow.title, ArticleRow.text))
            return [(r.id, f"{r.title or ''}\n{r.text or ''}") for r in rows]
    finally:
        database.dispose()


def holds(text: str, word: str) -> bool:
    """Whether ``text`` holds ``word``: anywhere for Korean and Chinese, as a word otherwise."""
    if CJK.search(word):
        return word in text
    return re.search(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", text, re.IGNORECASE) is not None


SEARCHES = {
    # English, case-insensitive, whole words, every word must appear.
    "meituan": ["meituan"],
    "price war": ["price", "war"],
    # A Chinese bigram that only occurs inside longer runs of Han (新推理模型, 新的推理模型).
    "推理": ["推理"],
    # A Korean word that only occurs with a particle attached (확충이).
    "확충": ["확충"],
}


@pytest.mark.parametrize("query", list(SEARCHES))
def test_search_finds_every_stored_article_holding_the_words(api: ServedApi, query: str) -> None:
    words = SEARCHES[query]
    stored = stored_articles(api.db_url)
    expected = {i for i, text in stored if all(holds(text, w) for w in words)}
    assert expected, f"the newsroom has articles with {query!r}"
    if query == "推理":  # the bigram is never a whole run: a word splitter would miss it
        texts = [text for i, text in stored if i in expected]
        assert all(not re.search(r"(?<![\u4e00-\u9fff])推理(?![\u4e00-\u9fff])", t) for t in texts)
    if query == "확충":  # only ever with its particle
        texts = [text for i, text in stored if i in expected]
        assert all(re.findall(r"확충[\uac00-\ud7af]", t) for t in texts)
        assert not any(re.search(r"확충(?![\uac00-\ud7af])", t) for t in texts)

    body = api.json("/api/articles", q=query, limit=200)
    assert body["query"] == query and body["next_offset"] is None
    hits = body["items"]
    assert {h["id"] for h in hits} == expected
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    for hit in hits:
        assert any(w.casefold() in hit["snippet"].casefold() for w in words), hit["snippet"]
        assert hit["title"] and hit["url"].startswith("http://127.0.0.1:")


def test_search_pages(api: ServedApi) -> None:
    whole = api.json("/api/articles", q="회사는", limit=200)
    assert len(whole["items"]) >= 3
    first = api.json("/api/articles", q="회사는", limit=2)
    assert first["items"] == whole["items"][:2] and first["next_offset"] == 2
    rest = api.json("/api/articles", q="회사는", limit=200, offset=2)
    assert rest["items"] == whole["items"][2:] and rest["next_offset"] is None


@pytest.mark.parametrize("query", ["?!", "...", '"*^()', "「」『』—…", " - "])
def test_query_of_punctuation_finds_nothing_without_error(api: ServedApi, query: str) -> None:
    body = api.json("/api/articles", q=query)
    assert body == {"query": query, "items": [], "limit": 20, "offset": 0, "next_offset": None}


@pytest.mark.parametrize("query", ["meituan", "확충", "推理", "회사는"])
def test_search_cli_prints_the_ids_the_api_answers(api: ServedApi, query: str) -> None:
    result = newswatch("search", query, "--db", api.db_url, "--json")
    assert result.returncode == 0, result.stderr
    printed = [item["id"] for item in json.loads(result.stdout)]
    body = api.json("/api/articles", q=query)
    assert printed == [h["id"] for h in body["items"]] and printed


# --------------------------------------------------------------------------- /api/stats


def test_stats_count_the_listed_events(api: ServedApi, everything: list[Event]) -> None:
    def expected_stats(events: list[Event]) -> dict[str, Any]:
        per_day = Counter(
            (utc(e["first_seen"]).date().isoformat(), topic)
            for e in events
            for topic in topic_names(e)
        )
        per_source: Counter[str] = Counter()
        for e in events:
            detail = api.json(f"/api/events/{e['id']}")
            per_source.update({a["source"] for a in detail["article_list"]})
        return {"per_topic_per_day": dict(per_day), "per_source": dict(per_source)}

    def shown(stats: Any) -> dict[str, Any]:
        per_day = {(r["day"], r["topic"]): r["events"] for r in stats["per_topic_per_day"]}
        assert len(per_day) == len(stats["per_topic_per_day"])
        per_source = {r["source"]: r["events"] for r in stats["per_source"]}
        assert len(per_source) == len(stats["per_source"])
        counts = [r["events"] for r in stats["per_source"]]
        assert counts == sorted(counts, reverse=True)
        return {"per_topic_per_day": per_day, "per_source": per_source}

    assert shown(api.json("/api/stats")) == expected_stats(everything)
    middle = utc(everything[len(everything) // 2]["last_seen"]).date()
    later = [e for e in everything if utc(e["last_seen"]).date() >= middle]
    assert 0 < len(later) < len(everything)
    assert shown(api.json("/api/stats", since=middle.isoformat())) == expected_stats(later)


# --------------------------------------------------------------------------- HTTP behaviour


def test_every_response_carries_the_security_headers(
    api: ServedApi, everything: list[Event]
) -> None:
    responses = [
        api.get("/api/events"),
        api.get(f"/api/events/{everything[0]['id']}"),
        api.get("/api/events/999999"),
        api.get("/api/events", limit=0),
        api.get("/api/articles", q="model"),
        api.get("/api/stats"),
        api.get("/api/openapi.json"),
        api.client.post("/api/events"),
    ]
    for response in responses:
        policy = response.headers.get("content-security-policy", "")
        directives = {d.strip() for d in policy.split(";")}
        assert {"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} <= directives, (
            response.request.method,
            response.request.url,
            policy,
        )
        assert response.headers.get("x-content-type-options") == "nosniff"
    assert [r.status_code for r in responses] == [200, 200, 404, 422, 200, 200, 200, 405]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/events"),
        ("PUT", "/api/events"),
        ("DELETE", "/api/events/{id}"),
        ("PATCH", "/api/events/{id}"),
        ("POST", "/api/articles?q=model"),
        ("DELETE", "/api/stats"),
    ],
)
def test_only_get_is_allowed(
    api: ServedApi, everything: list[Event], method: str, path: str
) -> None:
    event = everything[0]
    response = api.client.request(
        method, path.format(id=event["id"]), json={"title": "changed"}, timeout=10
    )
    assert response.status_code == 405, response.text
    assert "GET" in response.headers.get("allow", "")
    assert api.json(f"/api/events/{event['id']}")["title"] == event["title"]


def test_web_binds_loopback_by_default(
    api: ServedApi, tmp_path: Path, everything: list[Event]
) -> None:
    env = cli_environment(tmp_path, NEWSWATCH_DB=api.db_url)
    with web_process(["--port", "0"], env) as web:
        started = web.wait_started()
        assert started["host"] == "127.0.0.1", web.output()
        assert "warning" not in web.output().lower()
        port = int(started["port"])
        body = httpx.get(f"http://127.0.0.1:{port}/api/events", params={"limit": 200}).json()
        assert ids(body["items"]) == ids(everything)
        # Bound to 127.0.0.1 only: another loopback address (which a wildcard bind would
        # answer on) is refused.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{port}/api/stats", timeout=5)
        assert web.stop() == 0, web.output()
