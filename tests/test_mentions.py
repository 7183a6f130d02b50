"""Mention keys: amounts, percentages and model codes, the same across en/ko/zh."""

from __future__ import annotations

import pytest

from pipeline.mentions import mention_keys

CASES = [
    # amounts: one key for one sum, whatever the language and the unit
    ("usd-billion-en", "a $500 billion plan", {"amt:5.0e11"}),
    ("usd-billion-ko", "5000억 달러 규모의 계획", {"amt:5.0e11"}),
    ("usd-billion-ko-cheon", "5천억 달러 규모", {"amt:5.0e11"}),
    ("usd-billion-zh", "5000亿美元的计划", {"amt:5.0e11"}),
    ("usd-bn", "a US$500bn plan", {"amt:5.0e11"}),
    ("jo-eok", "1조 2000억원을 투자", {"amt:1.2e12"}),
    ("jo-eok-no-space", "1조2000억원", {"amt:1.2e12"}),
    ("jo-cheon-eok", "1조2천억원", {"amt:1.2e12"}),
    ("yi-yuan", "投资3800亿元", {"amt:3.8e11"}),
    ("wan-yi", "2万亿元", {"amt:2.0e12"}),
    ("decimal-wan-yi", "1.5万亿元", {"amt:1.5e12"}),
    ("us-dollar-bn", "raised US$1.2bn", {"amt:1.2e09"}),
    ("dollar-spaced-billion", "raised US$ 1.2 billion", {"amt:1.2e09"}),
    ("eok-dollar", "12억 달러를 유치", {"amt:1.2e09"}),
    ("yi-dollar", "融资12亿美元", {"amt:1.2e09"}),
    ("million", "$6 million to train", {"amt:6.0e06"}),
    ("man-won", "600만 달러", {"amt:6.0e06"}),
    ("plain-dollars", "$1,500,000 in grants", {"amt:1.5e06"}),
    ("one-letter-scale", "a $2B round", {"amt:2.0e09"}),
    ("trillion-won", "1.2 trillion won", {"amt:1.2e12"}),
    ("small-sum", "$0.14 per million tokens", set()),
    ("thousands", "$4,000 laptop", set()),
    ("vague-ko", "수십억달러를 투자", set()),
    ("vague-en", "billions of dollars", set()),
    ("vague-zh", "数十亿美元", set()),
    # model sizes are codes, not amounts
    ("model-size", "QwQ-32B beats a 32B model", {"code:qwq-32b"}),
    ("model-size-7b", "Qwen2.5-7B", {"code:qwen2.5-7b"}),
    # percentages
    ("pct-sign", "prices cut by 50%", {"pct:50"}),
    ("pct-word", "50 percent cheaper", {"pct:50"}),
    ("pct-per-cent", "50 per cent cheaper", {"pct:50"}),
    ("pct-ko", "50퍼센트 인하", {"pct:50"}),
    ("pct-ko-colloquial", "50프로 할인", {"pct:50"}),
    ("pct-fullwidth", "降价50％", {"pct:50"}),
    ("pct-decimal", "a 12.5% stake", {"pct:12.5"}),
    ("pct-not-a-model-name", "더우바오 1.5 프로", {"code:1.5"}),
    # codes
    ("code-r1", "R1 and X1", {"code:r1", "code:x1"}),
    ("code-version", "ERNIE 4.5", {"code:4.5"}),
    ("code-qwq", "QwQ-32B", {"code:qwq-32b"}),
    ("code-gpt", "GPT-4o and GPT-4.5", {"code:gpt-4o", "code:gpt-4.5"}),
    ("code-suffix", "o3-mini", {"code:o3-mini"}),
    ("code-korean", "어니X1 공개", {"code:x1"}),
    ("code-chinese", "混元T1发布", {"code:t1"}),
    # not codes
    ("year", "in 2025, and 2025년, and 2025年", set()),
    ("ordinal", "the 3rd and 21st", set()),
    ("date", "2025-03-25, 3월 25일, 3月25日", set()),
    ("time", "at 10:30 for 24h", set()),
    ("plain-number", "Windows 11 and RTX 4090", set()),
    ("multiplier", "8x faster", set()),
    ("amount-decimals", "a $1.2 billion deal, 3.5 billion yuan", {"amt:1.2e09", "amt:3.5e09"}),
    ("percent-decimals", "up 0.5%", {"pct:0.5"}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in CASES], ids=[i for i, _, _ in CASES]
)
def test_mention_keys(text: str, expected: set[str]) -> None:
    assert mention_keys(text) == expected


def test_one_event_in_three_languages_shares_its_keys() -> None:
    en = mention_keys("DeepSeek's R1 costs 95% less; the $500 billion Stargate plan")
    ko = mention_keys("딥시크 R1은 95% 저렴…5000억 달러 스타게이트 계획")
    zh = mention_keys("深度求索R1便宜95%，5000亿美元的星际之门计划")
    assert en == ko == zh == {"code:r1", "pct:95", "amt:5.0e11"}
