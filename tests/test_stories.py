"""Story decisions: the time window, the score's evidence and penalties, the choice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline import minhash
from pipeline.features import Features, title_grams
from pipeline.stories import WINDOW, Params, StoryView, choose, in_window, score

T0 = datetime(2025, 3, 25, 9, tzinfo=UTC)
KINDS = {
    "DeepSeek": "company",
    "DeepSeek-R1": "model",
    "Baidu": "company",
    "ERNIE X1": "model",
    "Tencent": "company",
    "Hunyuan T1": "model",
}
P = Params()
EMPTY = minhash.sketch("")


def article(**fields: Any) -> Features:
    """An English article on Baidu's launch of ERNIE X1; ``fields`` override."""
    title = fields.pop("title", "Baidu launches ERNIE X1 reasoning model")
    values: dict[str, Any] = {
        "id": 100,
        "source": "wire-en",
        "lang": "en",
        "when": T0,
        "fetched": T0,
        "title": title,
        "fingerprint": "0" * 16,
        "sketch": EMPTY,
        "bands": (),
        "entities": frozenset({"Baidu", "ERNIE X1"}),
        "headline_entities": frozenset({"Baidu", "ERNIE X1"}),
        "title_entities": frozenset({"Baidu", "ERNIE X1"}),
        "actor": "Baidu",
        "keys": frozenset({"code:x1"}),
        "title_grams": title_grams(title),
        "events": frozenset({"launch"}),
    }
    values.update(fields)
    return Features(**values)


def story(**fields: Any) -> StoryView:
    """A story of Baidu's launch of ERNIE X1 with one Korean headline; ``fields`` override."""
    values: dict[str, Any] = {
        "id": 1,
        "first_seen": T0 - timedelta(hours=2),
        "last_seen": T0 - timedelta(hours=1),
        "headline_entities": frozenset({"Baidu", "ERNIE X1"}),
        "entities": frozenset({"Baidu", "ERNIE X1"}),
        "keys": frozenset({"code:x1"}),
        "events": frozenset({"launch"}),
        "actors": frozenset({"Baidu"}),
        "title_entities": frozenset({"Baidu", "ERNIE X1"}),
        "titles": (("ko", title_grams("바이두, 추론 모델 어니X1 출시")),),
    }
    values.update(fields)
    return StoryView(**values)


# --------------------------------------------------------------------------- window

WINDOW_CASES = [
    ("inside", T0 - timedelta(hours=1, minutes=30), True),
    ("window-before-first", T0 - timedelta(hours=2) - WINDOW, True),
    ("just-before-window", T0 - timedelta(hours=2) - WINDOW - timedelta(seconds=1), False),
    ("window-after-last", T0 - timedelta(hours=1) + WINDOW, True),
    ("just-after-window", T0 - timedelta(hours=1) + WINDOW + timedelta(seconds=1), False),
]


@pytest.mark.parametrize(
    ("when", "inside"), [(w, i) for _, w, i in WINDOW_CASES], ids=[c[0] for c in WINDOW_CASES]
)
def test_in_window(when: datetime, inside: bool) -> None:
    assert timedelta(hours=72) == WINDOW
    assert in_window(when, story()) is inside


# --------------------------------------------------------------------------- choose


def test_choose_returns_the_best_story() -> None:
    weak = story(id=1, headline_entities=frozenset({"Baidu"}), keys=frozenset())
    best = story(id=2)
    match = choose(article(), [weak, best], KINDS)
    assert match is not None
    assert match.story_id == 2
    assert match.score >= P.join
    assert match.score > score(article(), weak, KINDS).score


def test_choose_returns_none_below_the_join_threshold() -> None:
    other = story(
        headline_entities=frozenset({"Tencent", "Hunyuan T1"}),
        keys=frozenset({"code:t1"}),
        actors=frozenset({"Tencent"}),
        title_entities=frozenset({"Tencent", "Hunyuan T1"}),
    )
    assert score(article(), other, KINDS).score < P.join
    assert choose(article(), [other], KINDS) is None
    assert choose(article(), [], KINDS) is None


def test_choose_ignores_stories_outside_the_window() -> None:
    old = story(first_seen=T0 - 10 * WINDOW, last_seen=T0 - 2 * WINDOW)
    assert score(article(), old, KINDS).score >= P.join
    assert choose(article(), [old], KINDS) is None


def test_choose_breaks_ties_by_lowest_story_id() -> None:
    match = choose(article(), [story(id=5), story(id=3), story(id=4)], KINDS)
    assert match is not None and match.story_id == 3


def test_choose_uses_the_join_parameter() -> None:
    value = score(article(), story(), KINDS).score
    assert choose(article(), [story()], KINDS, Params(join=value)) is not None
    assert choose(article(), [story()], KINDS, Params(join=value + 0.01)) is None


# --------------------------------------------------------------------------- score


def test_cross_language_uses_headline_entities_and_keys_only() -> None:
    # The story has only a Korean headline: nothing to compare an English title with.
    shared = {"Baidu", "ERNIE X1"}
    half = article(
        headline_entities=frozenset({"Baidu", "ERNIE X1", "DeepSeek"}),
        keys=frozenset({"code:x1", "code:r1"}),
    )
    match = score(half, story(), KINDS)
    headline = (1 + P.model_weight) / (2 + P.model_weight)  # DeepSeek is not in the story
    keys = 1 / 2  # one shared key of the two that make a full match
    expected = (P.headline_weight * headline + P.keys_weight * keys) / (
        P.headline_weight + P.keys_weight
    )
    assert match.score == pytest.approx(expected, abs=1e-4)
    assert match.evidence["entities"] == sorted(shared)
    assert match.evidence["title"] == 0.0
    # Any English title gives the same score: titles are not compared across languages.
    other_title = article(
        headline_entities=half.headline_entities, keys=half.keys, title_grams=title_grams("zzz")
    )
    assert score(other_title, story(), KINDS).score == match.score


def test_same_language_headline_counts() -> None:
    title = article().title
    same = story(titles=(("ko", title_grams("바이두 어니X1")), ("en", title_grams(title))))
    unlike = story(titles=(("en", title_grams("Quarterly revenue of a bank")),))
    # Headline entities all shared, one key of two, the same title: each part at its best.
    full = P.headline_weight + P.keys_weight + P.title_weight
    expected = (P.headline_weight + P.keys_weight / 2 + P.title_weight) / full
    assert score(article(), same, KINDS).score == pytest.approx(expected, abs=1e-4)
    assert score(article(), unlike, KINDS).score < score(article(), story(), KINDS).score
    assert score(article(), same, KINDS).evidence["title"] == 1.0


def test_models_weigh_more_than_companies() -> None:
    names = frozenset({"Baidu", "ERNIE X1"})
    shares_model = story(headline_entities=frozenset({"ERNIE X1"}), keys=frozenset())
    shares_company = story(headline_entities=frozenset({"Baidu"}), keys=frozenset())
    plain = article(headline_entities=names, keys=frozenset())
    assert score(plain, shares_model, KINDS).score > score(plain, shares_company, KINDS).score


def _penalty(changed_article: Features, changed_story: StoryView) -> tuple[float, dict[str, Any]]:
    """The score with the change over the score of the matching pair, and the evidence."""
    before = score(article(), story(), KINDS).score
    after = score(changed_article, changed_story, KINDS)
    return after.score / before, after.evidence


PENALTIES = [
    (
        "different-lead-company",
        article(actor="Tencent", title_entities=frozenset({"Tencent", "ERNIE X1"})),
        story(),
        P.company_mismatch,
        "different_actor",
    ),
    (
        "different-event",
        article(events=frozenset({"price"})),
        story(),
        P.event_mismatch,
        "different_event",
    ),
    (
        "different-numbers",
        article(keys=frozenset({"code:x1", "amt:5.0e11"})),
        story(keys=frozenset({"code:x1", "amt:1.0e11"})),
        P.number_mismatch,
        "different_numbers",
    ),
    (
        "different-percentages",
        article(keys=frozenset({"code:x1", "pct:50"})),
        story(keys=frozenset({"code:x1", "pct:30"})),
        P.number_mismatch,
        "different_numbers",
    ),
]


@pytest.mark.parametrize(
    ("changed_article", "changed_story", "factor", "reason"),
    [c[1:] for c in PENALTIES],
    ids=[c[0] for c in PENALTIES],
)
def test_penalties(
    changed_article: Features, changed_story: StoryView, factor: float, reason: str
) -> None:
    # Keys and entities are kept the same on both sides where they can be, so that only the
    # penalty moves the score (the numbers cases add an unshared key on purpose).
    ratio, evidence = _penalty(changed_article, changed_story)
    unpenalised = (
        score(
            changed_article,
            changed_story,
            KINDS,
            dataclasses.replace(P, company_mismatch=1, event_mismatch=1, number_mismatch=1),
        ).score
        / score(article(), story(), KINDS).score
    )
    assert ratio == pytest.approx(unpenalised * factor, abs=1e-3)
    assert factor < 1
    assert reason in evidence


NO_PENALTIES = [
    # The story's titles name the article's lead company (a head-to-head story).
    (
        "rival-named-in-story-titles",
        article(actor="Tencent", title_entities=frozenset({"Tencent"})),
        story(title_entities=frozenset({"Baidu", "Tencent"})),
        "different_actor",
    ),
    # The article's title names the story's lead company.
    (
        "story-actor-in-article-title",
        article(actor="Tencent", title_entities=frozenset({"Tencent", "Baidu"})),
        story(),
        "different_actor",
    ),
    ("article-without-actor", article(actor=None), story(), "different_actor"),
    ("story-without-actors", article(), story(actors=frozenset()), "different_actor"),
    (
        "one-shared-event",
        article(events=frozenset({"launch", "price"})),
        story(events=frozenset({"price"})),
        "different_event",
    ),
    ("article-without-event", article(events=frozenset()), story(), "different_event"),
    (
        "one-shared-number",
        article(keys=frozenset({"amt:5.0e11", "pct:50"})),
        story(keys=frozenset({"amt:5.0e11", "pct:30"})),
        "different_numbers",
    ),
    (
        "codes-are-not-numbers",
        article(keys=frozenset({"code:r1"})),
        story(keys=frozenset({"code:x1"})),
        "different_numbers",
    ),
    (
        "story-without-numbers",
        article(keys=frozenset({"amt:5.0e11"})),
        story(),
        "different_numbers",
    ),
]


@pytest.mark.parametrize(
    ("changed_article", "changed_story", "reason"),
    [c[1:] for c in NO_PENALTIES],
    ids=[c[0] for c in NO_PENALTIES],
)
def test_no_penalty(changed_article: Features, changed_story: StoryView, reason: str) -> None:
    plain = score(
        changed_article,
        changed_story,
        KINDS,
        dataclasses.replace(P, company_mismatch=1, event_mismatch=1, number_mismatch=1),
    )
    assert score(changed_article, changed_story, KINDS).score == plain.score
    assert reason not in score(changed_article, changed_story, KINDS).evidence


def test_a_launch_and_a_price_cut_by_one_company_are_two_stories() -> None:
    price_cut = article(
        title="Baidu makes ERNIE X1 free",
        title_grams=title_grams("Baidu makes ERNIE X1 free"),
        events=frozenset({"price"}),
    )
    assert choose(price_cut, [story()], KINDS) is None
    assert choose(article(), [story()], KINDS) is not None
