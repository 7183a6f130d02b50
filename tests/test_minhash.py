"""MinHash sketches: the estimate tracks the exact shingle Jaccard; band keys are stable."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import minhash

ROOT = Path(__file__).resolve().parent.parent
LANGS = ["en", "ko", "zh"]


def _exact(first: str, second: str) -> float:
    """Exact Jaccard similarity of the two texts' sets of 5-character shingles."""

    def shingles(text: str) -> set[str]:
        norm = minhash.normalize_text(text)
        return {norm[i : i + minhash.SHINGLE] for i in range(len(norm) - minhash.SHINGLE + 1)}

    a, b = shingles(first), shingles(second)
    return len(a & b) / len(a | b)


def _estimate(first: str, second: str) -> float:
    return minhash.similarity(minhash.sketch(first), minhash.sketch(second))


def _word(rng: random.Random, lang: str) -> str:
    if lang == "en":
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
    if lang == "ko":  # Hangul syllables, two to four to a word
        return "".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(rng.randint(2, 4)))
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(rng.randint(1, 3)))


def _sentence(rng: random.Random, lang: str) -> str:
    words = [_word(rng, lang) for _ in range(rng.randint(6, 14))]
    return ("" if lang == "zh" else " ").join(words) + ("。" if lang == "zh" else ".")


def _pairs(lang: str, count: int, seed: int) -> list[tuple[str, str]]:
    """Text pairs sharing anywhere from none to all of their sentences."""
    rng = random.Random(f"{lang}-{seed}")
    pairs = []
    for index in range(count):
        shared = [_sentence(rng, lang) for _ in range(index % 9)]
        first = shared + [_sentence(rng, lang) for _ in range(rng.choice([0, 0, 1, 2, 4]))]
        second = shared + [_sentence(rng, lang) for _ in range(rng.choice([0, 0, 1, 2, 4]))]
        first = first or [_sentence(rng, lang)]
        second = second or [_sentence(rng, lang)]
        rng.shuffle(second)
        pairs.append(("\n".join(first), "\n".join(second)))
    return pairs


@pytest.mark.parametrize("lang", LANGS)
def test_estimate_tracks_exact_jaccard(lang: str) -> None:
    pairs = _pairs(lang, 40, seed=1)
    exact = [_exact(a, b) for a, b in pairs]
    errors = [abs(_estimate(a, b) - e) for (a, b), e in zip(pairs, exact, strict=True)]
    # The generated pairs cover the whole range, so the tolerance is tested where it matters.
    assert min(exact) < 0.1
    assert max(exact) > 0.8
    assert sum(0.3 <= e <= 0.7 for e in exact) >= 5
    worst = max(range(len(errors)), key=errors.__getitem__)
    assert errors[worst] <= 0.15, f"pair {worst}: exact {exact[worst]:.3f}"
    assert sum(errors) / len(errors) <= 0.05


NEWS = {
    "en": [
        "Chinese startup DeepSeek released an upgraded version of its V3 model on Monday.",
        "The company said the new weights are available under an MIT licence for anyone to use.",
        "Analysts said the release puts pressure on American labs that charge for access.",
        "Shares of chip makers fell in early trading as investors weighed the cost of training.",
        "DeepSeek did not respond to a request for comment on its plans for the R2 model.",
    ],
    "ko": [
        "중국 인공지능 스타트업 딥시크가 월요일 V3 모델의 개선 버전을 공개했다.",
        "회사는 새 가중치를 누구나 쓸 수 있도록 MIT 라이선스로 배포한다고 밝혔다.",
        "업계에서는 이번 공개가 유료 서비스를 하는 미국 연구소들을 압박할 것으로 본다.",
        "반도체 기업 주가는 학습 비용에 대한 우려로 장 초반 하락했다.",
        "딥시크는 차기 R2 모델 계획에 대한 질의에 답하지 않았다.",
    ],
    "zh": [
        "中国人工智能初创公司深度求索周一发布了其V3模型的升级版本。",
        "公司表示新的模型权重以MIT许可证开放，任何人都可以使用。",
        "分析人士认为此次发布将给收费的美国实验室带来压力。",
        "芯片制造商股价早盘下跌，投资者正在权衡训练成本。",
        "深度求索没有回应有关R2模型计划的置评请求。",
    ],
}
NEW_FIRST_LINE = {
    "en": "(Reuters) - By a staff reporter",
    "ko": "[서울=뉴스통신] 기자 = ",
    "zh": "【新华社讯】记者报道",
}
UNRELATED = {
    "en": (
        "The city council voted on Tuesday to extend the opening hours of public libraries "
        "and to add two new bus routes to the northern suburbs before the winter.",
        "A record crowd watched the final match of the football season, which ended in a "
        "draw after a late penalty that the home coach called a terrible decision.",
    ),
    "ko": (
        "시의회는 화요일 공공도서관 운영 시간을 늘리고 겨울이 오기 전 북부 교외에 버스 노선 "
        "두 개를 추가하는 안을 통과시켰다.",
        "축구 시즌 마지막 경기에 역대 최다 관중이 몰렸고, 경기는 막판 페널티킥으로 무승부로 "
        "끝났으며 홈팀 감독은 판정에 강하게 항의했다.",
    ),
    "zh": (
        "市议会周二投票决定延长公共图书馆的开放时间，并在冬季到来之前为北部郊区增加两条公交线路。",
        "创纪录的观众观看了本赛季足球决赛，比赛在一粒迟到的点球后以平局结束，主队教练对判罚表示不满。",
    ),
}


@pytest.mark.parametrize("lang", LANGS)
def test_identical_texts_are_one(lang: str) -> None:
    text = "\n\n".join(NEWS[lang])
    assert _estimate(text, text) == 1.0
    # Case, spacing and punctuation are not part of the shingles.
    assert _estimate(text, text.upper().replace(" ", "  ").replace(".", "!")) == 1.0


@pytest.mark.parametrize("lang", LANGS)
def test_unrelated_texts_are_below_point_two(lang: str) -> None:
    first, second = UNRELATED[lang]
    assert _estimate(first, second) < 0.2
    assert _estimate(first, "\n\n".join(NEWS[lang])) < 0.2


@pytest.mark.parametrize("lang", LANGS)
def test_near_copy_is_at_least_point_six(lang: str) -> None:
    original = "\n\n".join(NEWS[lang])
    copy = "\n\n".join([NEW_FIRST_LINE[lang], *NEWS[lang][:3], NEWS[lang][4]])
    assert _estimate(original, copy) >= 0.6


def test_band_keys_are_32_distinct_signed_63_bit_integers() -> None:
    keys = minhash.band_keys(minhash.sketch("\n".join(NEWS["en"])))
    assert len(keys) == minhash.BANDS == 32
    assert all(isinstance(k, int) and -(2**62) <= k < 2**62 for k in keys)
    # A sketch of equal values has equal bands: the band number keeps their keys apart.
    assert len(set(minhash.band_keys(minhash.sketch("")))) == 32


_CHILD = """
import json, sys
from pipeline import minhash
texts = json.load(sys.stdin)
out = [[minhash.to_bytes(minhash.sketch(t)).hex(), minhash.band_keys(minhash.sketch(t))]
       for t in texts]
json.dump(out, sys.stdout)
"""


@pytest.mark.parametrize("hashseed", ["0", "1", "4242"])
def test_sketches_and_band_keys_do_not_depend_on_the_process(hashseed: str) -> None:
    texts = ["\n".join(NEWS[lang]) for lang in LANGS] + ["", "AI"]
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    here = [
        [minhash.to_bytes(minhash.sketch(t)).hex(), minhash.band_keys(minhash.sketch(t))]
        for t in texts
    ]
    assert json.loads(result.stdout) == here


@pytest.mark.parametrize("lang", LANGS)
def test_similar_texts_share_band_keys(lang: str) -> None:
    rng = random.Random(f"bands-{lang}")
    base = [_sentence(rng, lang) for _ in range(30)]
    checked = 0
    for dropped in range(6):
        copy = base[dropped:] + [_sentence(rng, lang) for _ in range(dropped // 2)]
        first, second = minhash.sketch("\n".join(base)), minhash.sketch("\n".join(copy))
        if minhash.similarity(first, second) < 0.8:
            continue
        checked += 1
        keys_a, keys_b = minhash.band_keys(first), minhash.band_keys(second)
        rows = minhash.ROWS
        same_band = [
            np.array_equal(first[b * rows : (b + 1) * rows], second[b * rows : (b + 1) * rows])
            for b in range(minhash.BANDS)
        ]
        assert set(keys_a) & set(keys_b)
        # A band's key is equal exactly when the band's values are.
        assert [a == b for a, b in zip(keys_a, keys_b, strict=True)] == same_band
    assert checked >= 3


def test_empty_and_tiny_texts() -> None:
    empty = minhash.sketch("")
    assert empty.shape == (minhash.PERMUTATIONS,)
    assert empty.dtype == np.uint32
    assert np.array_equal(empty, minhash.sketch(" ,.- \n"))
    assert len(minhash.band_keys(empty)) == minhash.BANDS
    assert minhash.similarity(empty, minhash.sketch("\n".join(NEWS["en"]))) == 0.0
    tiny = minhash.sketch("AI")
    assert minhash.similarity(tiny, minhash.sketch("a.i.")) == 1.0
    assert minhash.similarity(tiny, empty) == 0.0


def test_bytes_round_trip() -> None:
    value = minhash.sketch("\n".join(NEWS["ko"]))
    data = minhash.to_bytes(value)
    assert len(data) == 4 * minhash.PERMUTATIONS
    assert np.array_equal(minhash.from_bytes(data), value)
    assert minhash.band_keys(minhash.from_bytes(data)) == minhash.band_keys(value)
