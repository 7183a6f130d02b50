"""Entities: the real alias table, word rules per script, short aliases, file errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.entities import EntityTable, load_entities, parse_entities
from pipeline.errors import ConfigError
from pipeline.settings import SEEDS_DIR


@pytest.fixture(scope="module")
def table() -> EntityTable:
    return load_entities(SEEDS_DIR / "entities.yaml")


def test_the_seed_file_loads(table: EntityTable) -> None:
    assert len(table.entities) >= 50
    for entity in table.entities.values():
        if entity.company is not None:  # what makes a model is a company (or an org)
            assert table.entities[entity.company].kind in ("company", "org"), entity.name


# --------------------------------------------------------------------------- the seed cast

CAST = [
    ("DeepSeek", "DeepSeek"),
    ("딥시크", "DeepSeek"),
    ("深度求索", "DeepSeek"),
    ("Baidu", "Baidu"),
    ("바이두", "Baidu"),
    ("百度", "Baidu"),
    ("ERNIE X1", "ERNIE X1"),
    ("어니X1", "ERNIE X1"),
    ("文心大模型X1", "ERNIE X1"),
    ("Alibaba", "Alibaba"),
    ("알리바바", "Alibaba"),
    ("阿里巴巴", "Alibaba"),
    ("Qwen", "Qwen"),
    ("通义千问", "Qwen"),
    ("Tencent", "Tencent"),
    ("텐센트", "Tencent"),
    ("腾讯", "Tencent"),
    ("Hunyuan T1", "Hunyuan T1"),
    ("훈위안T1", "Hunyuan T1"),
    ("混元T1", "Hunyuan T1"),
    ("Meituan", "Meituan"),
    ("메이퇀", "Meituan"),
    ("美团", "Meituan"),
    ("OpenAI", "OpenAI"),
    ("오픈AI", "OpenAI"),
    ("Nvidia", "Nvidia"),
    ("엔비디아", "Nvidia"),
    ("英伟达", "Nvidia"),
]


@pytest.mark.parametrize(("alias", "name"), CAST, ids=[alias for alias, _ in CAST])
def test_seed_cast_resolves_in_three_scripts(table: EntityTable, alias: str, name: str) -> None:
    # Inside a sentence of each script, so the word rules are exercised too.
    for text in (f"{alias}", f"News: {alias} said on Monday.", f"({alias}) 发布", f"{alias}는"):
        assert name in table.find(text), text


def test_mentions_in_three_scripts_are_counted_as_one_entity(table: EntityTable) -> None:
    found = table.find("DeepSeek 딥시크가 深度求索公司 and DEEPSEEK")
    assert found == Counter({"DeepSeek": 4})


# --------------------------------------------------------------------------- word rules

WORDS = [
    # Korean particles, and names that must start a word
    ("particle-ga", "딥시크가 새 모델을 내놨다", {"DeepSeek"}),
    ("particle-neun", "바이두는 오늘 발표했다", {"Baidu"}),
    ("particle-ui", "알리바바의 큐원", {"Alibaba", "Qwen"}),
    ("two-syllable-particle", "메타가 발표했다", {"Meta"}),
    ("two-syllable-punctuation", "메타, 구글과 함께", {"Meta", "Alphabet"}),
    ("two-syllable-end", "발표한 곳은 메타", {"Meta"}),
    ("two-syllable-in-word", "메타버스 플랫폼", set()),
    ("two-syllable-in-word-2", "구글링해 보니", set()),
    ("korean-not-word-start", "초메타가 아니다", set()),
    ("long-korean-then-hangul", "알리바바그룹 회장", {"Alibaba"}),
    ("korean-with-latin", "오픈AI가 GPT-4o를 내놨다", {"OpenAI", "GPT-4o"}),
    # Latin names are whole words
    ("latin-possessive", "Baidu's shares", {"Baidu"}),
    ("latin-longer-word", "DeepSeeker and OpenAIs", set()),
    ("latin-prefix", "xDeepSeek", set()),
    ("latin-digit-after", "Baidu2 is no company", set()),
    ("latin-hyphen-space-optional", "DeepSeek-R1, DeepSeek R1 and DeepSeekR1", {"DeepSeek-R1"}),
    ("latin-before-hangul", "DeepSeek가", {"DeepSeek"}),
    ("latin-before-chinese", "DeepSeek发布", {"DeepSeek"}),
    # Chinese names match anywhere
    ("chinese-anywhere", "百度公司和阿里云", {"Baidu", "Alibaba"}),
    # Case: short plain words only as written; long names or names with digits in any case
    ("case-meta", "Meta said", {"Meta"}),
    ("case-meta-analysis", "a meta-analysis of studies", set()),
    ("case-meta-upper", "META", set()),
    ("case-apple", "Apple and apple pie", {"Apple"}),
    ("case-deepseek-upper", "DEEPSEEK RELEASES", {"DeepSeek"}),
    ("case-deepseek-lower", "deepseek-r1", {"DeepSeek-R1"}),
    ("case-spelling-llama", "llama weights", {"Llama"}),
    ("case-gpt", "gpt-4o", {"GPT-4o"}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in WORDS], ids=[i for i, _, _ in WORDS]
)
def test_word_rules(table: EntityTable, text: str, expected: set[str]) -> None:
    assert set(table.find(text)) == expected


# --------------------------------------------------------------------------- short aliases

SHORT = [
    ("r1-alone", "R1 tops the chart", set()),
    ("r1-with-company", "DeepSeek released R1", {"DeepSeek", "DeepSeek-R1"}),
    ("r1-with-korean-company", "딥시크의 R1 모델", {"DeepSeek", "DeepSeek-R1"}),
    ("r1-with-other-model", "DeepSeek-V3 and R1", {"DeepSeek-V3", "DeepSeek-R1"}),
    ("r1-with-other-company", "R1 beats Baidu", {"Baidu"}),
    ("x1-alone", "X1 launched today", set()),
    ("x1-and-r1", "X1 and R1 compared", set()),
    ("x1-with-baidu", "Baidu's X1", {"Baidu", "ERNIE X1"}),
    ("x1-with-other-baidu-model", "ERNIE 4.5 and X1", {"ERNIE 4.5", "ERNIE X1"}),
    ("x1-with-chinese-company", "百度 X1", {"Baidu", "ERNIE X1"}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in SHORT], ids=[i for i, _, _ in SHORT]
)
def test_short_aliases_need_their_company(
    table: EntityTable, text: str, expected: set[str]
) -> None:
    assert set(table.find(text)) == expected


SMALL = """\
entities:
  - {name: Zeta Labs, kind: company, aliases: [Zeta Labs], short: [Zeta]}
  - {name: Zeta One, kind: model, company: Zeta Labs, aliases: [Zeta One]}
  - {name: Omega, kind: company, aliases: [Omega Corp]}
  - {name: Orphan, kind: model, aliases: [Orphan Model]}
  - {name: Gateway, kind: org, aliases: [Gateway Project]}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zeta said", set()),
        ("Omega Corp and Zeta", {"Omega"}),  # another company says nothing about Zeta
        ("Zeta One, from Zeta", {"Zeta One", "Zeta Labs"}),  # one of its products does
    ],
    ids=["alone", "other-company", "own-product"],
)
def test_short_alias_of_a_company(text: str, expected: set[str]) -> None:
    assert set(parse_entities(SMALL, "small.yaml").find(text)) == expected


# --------------------------------------------------------------------------- main actor

ACTORS = [
    ("company-first", "Baidu's ERNIE X1 takes on DeepSeek", "Baidu"),
    ("other-company-first", "DeepSeek shrugs off Baidu's ERNIE X1", "DeepSeek"),
    ("model-means-its-company", "ERNIE X1 rivals DeepSeek-R1 at half the price", "Baidu"),
    ("korean", "텐센트, 훈위안T1 공개…딥시크 R1과 경쟁", "Tencent"),
    ("chinese", "阿里巴巴发布通义千问新模型，对标深度求索", "Alibaba"),
    ("short-alias-first", "X1 outperforms OpenAI o1, Baidu claims", "Baidu"),
    ("org", "Stargate Project picks Oracle", "Stargate"),
    ("nobody", "Chip shares fall", None),
]


@pytest.mark.parametrize(
    ("title", "actor"), [(t, a) for _, t, a in ACTORS], ids=[i for i, _, _ in ACTORS]
)
def test_main_actor_is_the_company_named_first(
    table: EntityTable, title: str, actor: str | None
) -> None:
    assert table.main_actor(table.find(title)) == actor


def test_main_actor_skips_a_model_without_company() -> None:
    small = parse_entities(SMALL, "small.yaml")
    assert small.main_actor(small.find("Orphan Model meets Omega Corp")) == "Omega"
    assert small.main_actor(small.find("Orphan Model")) is None


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"ERNIE X1"}, {"ERNIE X1", "Baidu"}),
        ({"Hunyuan T1", "Qwen"}, {"Hunyuan T1", "Tencent", "Qwen", "Alibaba"}),
        ({"Baidu"}, {"Baidu"}),
        ({"Not In Table"}, {"Not In Table"}),
        (set(), set()),
    ],
    ids=["model", "two-models", "company", "unknown", "empty"],
)
def test_with_makers(table: EntityTable, names: set[str], expected: set[str]) -> None:
    assert table.with_makers(names) == expected
    assert table.with_makers(Counter(names)) == expected


# --------------------------------------------------------------------------- file errors

ERRORS = [
    (
        "unknown-key-block",
        "entities:\n  - name: A\n    kind: company\n    alias: [A]\n",
        4,
        "entities.0.alias: unknown key (did you mean 'aliases'?)",
    ),
    (
        "unknown-key-flow",
        "entities:\n  - {name: A, kind: company, aliases: [A]}\n"
        "  - {name: B, kind: company, aliases: [B], shrot: [b]}\n",
        3,
        "entities.1.shrot: unknown key (did you mean 'short'?)",
    ),
    (
        "unknown-top-key",
        "entities: []\nentites: []\n",
        2,
        "entites: unknown key (did you mean 'entities'?)",
    ),
    (
        "duplicate-entity",
        "entities:\n  - {name: A, kind: company, aliases: [A]}\n"
        "  - {name: B, kind: company, aliases: [B]}\n"
        "  - {name: A, kind: company, aliases: [AA]}\n",
        4,
        "duplicate entity 'A' (first on line 2)",
    ),
    (
        "unknown-company",
        "entities:\n  - {name: A, kind: company, aliases: [A]}\n"
        "  - name: M\n    kind: model\n    company: Z\n    aliases: [M1]\n",
        5,
        "entities.1.company: unknown entity 'Z'",
    ),
    (
        "wrong-kind",
        "entities:\n  - {name: A, kind: company, aliases: [A]}\n"
        "  - {name: B, kind: compnay, aliases: [B]}\n",
        3,
        "entities.1.kind: Input should be 'company', 'model', 'product' or 'org'",
    ),
    (
        "alias-not-a-string",
        "entities:\n  - name: A\n    kind: model\n    aliases:\n      - A\n      - 4.5\n",
        6,
        "entities.0.aliases.1: Input should be a valid string",
    ),
    (
        "no-aliases",
        "entities:\n  - {name: A, kind: company, aliases: []}\n",
        2,
        "entities.0.aliases: List should have at least 1 item",
    ),
    (
        "empty-alias",
        "entities:\n  - name: A\n    kind: company\n    aliases:\n      - A\n      - ''\n",
        6,
        "entities.0.aliases.1: empty alias ''",
    ),
    (
        "separator-alias",
        "entities:\n  - {name: A, kind: model, aliases: [A], short: ['-']}\n",
        2,
        "entities.0.short.0: empty alias '-'",
    ),
    (
        "duplicate-key",
        "entities:\n  - {name: A, kind: company, aliases: [A]}\n"
        "  - {name: B, name: C, kind: company, aliases: [B]}\n",
        3,
        "duplicate key 'name'",
    ),
    (
        "bad-country",
        "entities:\n  - {name: A, kind: company, aliases: [A]}\n"
        "  - {name: B, kind: company, country: China, aliases: [B]}\n",
        3,
        "entities.1.country: String should match pattern",
    ),
    ("not-a-mapping", "- A\n", 1, "the top level must be a mapping"),
    ("invalid-yaml", "entities:\n  - {name: A, kind: company\n", 3, "invalid YAML"),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_file_errors_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_entities(text, "entities.yaml")
    assert info.value.path == "entities.yaml"
    assert info.value.line == line
    assert str(info.value).startswith(f"entities.yaml:{line}: ")
    assert message in str(info.value)


def test_load_entities_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "entities.yaml"
    path.write_text("entities:\n  - {name: A, kind: firm, aliases: [A]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:2: entities\.0\.kind"):
        load_entities(path)
    with pytest.raises(ConfigError, match="entity file not found"):
        load_entities(tmp_path / "missing.yaml")


def test_models_take_their_companys_country(table: EntityTable) -> None:
    small = parse_entities(
        "entities:\n"
        "  - {name: Zeta Labs, kind: company, country: KR, aliases: [Zeta Labs]}\n"
        "  - {name: Zeta One, kind: model, company: Zeta Labs, aliases: [Zeta One]}\n"
        "  - {name: Zeta Two, kind: model, company: Zeta Labs, country: JP, aliases: [Zeta 2]}\n"
        "  - {name: Orphan, kind: model, aliases: [Orphan Model]}\n",
        "small.yaml",
    )
    countries = {name: e.country for name, e in small.entities.items()}
    assert countries == {"Zeta Labs": "KR", "Zeta One": "KR", "Zeta Two": "JP", "Orphan": None}
    # the seed file: the Chinese firms of the seed story, and their models
    assert {table.entities[n].country for n in ("Baidu", "ERNIE X1", "DeepSeek-R1")} == {"CN"}
    assert table.entities["OpenAI"].country == "US"
    companies = [e for e in table.entities.values() if e.kind in ("company", "org")]
    assert all(e.country for e in companies), [e.name for e in companies if not e.country]
