"""Money amounts in English, Korean and Chinese news text.

``$500 billion``, ``US$1.2bn``, ``1000억달러`` (1.0e11 USD), ``1조 2000억원`` (1.2e12 KRW),
``3800亿元`` (3.8e11 CNY), unit prices such as ``$0.55 per million tokens`` or ``2元/百万tokens``,
monthly prices (``$20 a month``, ``월 20달러``), and vague sums and spans kept as ranges
(``수십억달러``: 1e9 to 1e10 USD; "billions of dollars"; "$40-50 billion"). Each amount gets a
kind (investment, valuation, price, revenue, other) from the nearest cue in its sentence, and a
modality (announced, planned, reported, talk): a report or talk anywhere in the sentence
qualifies the whole claim ("reportedly in talks to raise $40 billion" is reported), otherwise
the nearest plan cue makes it planned. In the seed article, "사람들은 1000억달러 투자니,
5000억달러 투자니 이야기한다" is talk, not a commitment. ``value_usd`` is exact for USD; other
currencies use a dated rate table when one is given. ``¥`` is read as yuan, not yen: the sources
are Korean, English and Chinese, and Chinese outlets and price pages write RMB as ``¥``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.topics import sentences

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
EN_SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "t": 1e12,
}
CJK_SCALES = {
    "천": 1e3,
    "백": 1e2,
    "만": 1e4,
    "억": 1e8,
    "조": 1e12,
    "千": 1e3,
    "百": 1e2,
    "万": 1e4,
    "萬": 1e4,
    "亿": 1e8,
    "億": 1e8,
}
_SYMBOLS = {
    "us$": "USD",
    "$": "USD",
    "usd": "USD",
    "hk$": "HKD",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "¥": "CNY",
    "￥": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "₩": "KRW",
    "krw": "KRW",
}
_WORDS = {
    "dollars": "USD",
    "dollar": "USD",
    "달러": "USD",
    "美元": "USD",
    "美金": "USD",
    "yuan": "CNY",
    "renminbi": "CNY",
    "元": "CNY",
    "元人民币": "CNY",
    "人民币": "CNY",
    "위안": "CNY",
    "won": "KRW",
    "원": "KRW",
    "韩元": "KRW",
    "euros": "EUR",
    "euro": "EUR",
    "유로": "EUR",
    "欧元": "EUR",
    "yen": "JPY",
    "엔": "JPY",
    "日元": "JPY",
    "円": "JPY",
    "港元": "HKD",
    "港币": "HKD",
    "hong kong dollars": "HKD",
    "홍콩달러": "HKD",
    "홍콩 달러": "HKD",
    "pounds": "GBP",
    "파운드": "GBP",
    "英镑": "GBP",
}
_CURRENCY_WORD = "|".join(sorted((re.escape(w) for w in _WORDS), key=len, reverse=True))
# Words that are also common words: "GPT-4 won", "in 2024 won"; "클로드 3.5엔" (= 에는). A bare
# number before them is an amount only when written as one ("1,450 won", "3,000엔").
_AMBIGUOUS_PLAIN = frozenset({"won", "엔"})
_EN_SCALE = r"(?:thousand|million|billion|trillion|mln|bn|mn|tn|[kmbt])\b"

# $1.2 billion, US$ 500bn, €2bn, ¥10 million; spans "$40-50 billion", "$5 to $10 billion"
# share the scale written once at the end.
_PREFIXED = re.compile(
    rf"(US\$|HK\$|\$|€|£|¥|￥|₩|(?:USD|EUR|RMB|CNY|KRW)\s?)\s?{_NUM}"
    rf"(?:\s?(?:-|–|to)\s?(?:US\$|\$)?{_NUM}(?=\s?{_EN_SCALE}))?"
    rf"(?:\s?({_EN_SCALE}))?",
    re.IGNORECASE,
)
# 500 billion dollars, 2 billion yuan
_SUFFIXED = re.compile(
    rf"(?<![\w.$]){_NUM}\s?(thousand|million|billion|trillion)\s+(?:U\.?S\.?\s)?({_CURRENCY_WORD})",
    re.IGNORECASE,
)
# 1000억달러, 1조 2000억원, 3억5000만 달러, 3800亿元, 5000亿美元, 2万亿元, 2만9000원
_CJK = re.compile(
    rf"{_NUM}\s?([천백만억조千百万萬亿億]+)(?:\s?(\d+)\s?([천백만억千百万萬亿億]*))?"
    rf"\s?({_CURRENCY_WORD})"
)
# 2元/百万tokens, 0.5 달러 ... plain numbers with a currency word ("AI 3원칙" is no sum)
_PLAIN = re.compile(rf"(?<![0-9A-Za-z.,]){_NUM}\s?({_CURRENCY_WORD})(?![a-z칙])", re.IGNORECASE)
# 수십억달러, 수백만 달러, 数十亿美元, 上千亿元; bare 수조원, 数亿元 ("a few"), 上亿元 ("over")
_VAGUE_CJK = re.compile(
    r"((?<![가-힣])[수몇](?=[만억조])|(?<!十)[数几](?=[万亿])|[수몇数几上][십백천十百千]|上(?=亿))"
    rf"\s?([만억조万亿]+)\s?({_CURRENCY_WORD})"
)
_VAGUE_EN = re.compile(
    r"\b(tens of|hundreds of)?\s?(millions|billions|trillions) of (dollars|yuan|won)\b",
    re.IGNORECASE,
)
_PER_UNIT = re.compile(
    r"^\s?(?:/|per|每|당)?\s?(?:one\s|a\s|1\s)?(?:백만|100만|百万|million|1M|1m)\s?(?:개\s)?"
    r"(?:input\s|output\s|입력\s|출력\s|输入|输出)?(?:tokens?|토큰|token)",
    re.IGNORECASE,
)
# "每百万tokens输出价格8元": the unit may come a few words before the number.
_PER_UNIT_BEFORE = re.compile(
    r"(?:백만|100만)\s?(?:개\s?)?토큰당|토큰\s?(?:백만|100만)\s?개당|每百万|百万\s?tokens?"
    r"|per million (?:input |output )?tokens?",
    re.IGNORECASE,
)
# "$20 a month", "$200-a-month", "20美元/月"; before the number: "월 20달러", "每月20美元", "月费".
_PER_MONTH = re.compile(
    r"^\s?(?:-?\s?(?:a|per|each)[\s-]month\b|/\s?(?:month|mo)\b|monthly\b|/\s?月)",
    re.IGNORECASE,
)
# "(?<![\d개])": "3월 20억 달러" is a date, "6개월" a duration.
_PER_MONTH_BEFORE = re.compile(r"(?:(?<![\d개])월|매월|每月|月费|包月)\s?$")

_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("valuation", ("valuation", "valued at", "valuing", "기업가치", "밸류", "몸값", "估值")),
    (
        "price",
        (
            "per million",
            "per token",
            "price",
            "pricing",
            "priced",
            "costs",
            "a month",
            "a-month",
            "monthly",
            "/month",
            "per month",
            "subscription",
            "가격",
            "요금",
            "토큰당",
            "이용료",
            "价格",
            "定价",
            "每百万",
            "收费",
            "售价",
        ),
    ),
    (
        "revenue",
        (
            "revenue",
            "sales",
            "earnings",
            "profit",
            "매출",
            "수익",
            "영업이익",
            "营收",
            "收入",
            "利润",
        ),
    ),
    (
        "investment",
        (
            "invest",
            "funding",
            "raise",
            "raised",
            "capex",
            "capital expenditure",
            "spend",
            "pledge",
            "commit",
            "data center",
            "infrastructure",
            "round",
            "투자",
            "쏟아붓",
            "투입",
            "조달",
            "유치",
            "지출",
            "인프라",
            "投资",
            "投入",
            "融资",
            "资本开支",
            "砸",
            "建设",
        ),
    ),
)
_MODALITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "talk",
        (
            "talk of",
            "people talk",
            "talks about",
            "speculat",
            "floated",
            "이야기",
            "얘기",
            "거론",
            "운운",
            "언급되",
            "传言",
            "有人说",
            "谈论",
        ),
    ),
    (
        "reported",
        (
            "reportedly",
            "according to",
            "people familiar",
            "sources said",
            "report",
            "보도",
            "알려졌",
            "전해졌",
            "관계자에 따르면",
            "据报道",
            "据悉",
            "知情人士",
            "消息人士",
        ),
    ),
    (
        "planned",
        (
            "will ",
            "plans to",
            "plan to",
            "aims to",
            "intends",
            "expects to",
            "over the next",
            "in talks",
            "to raise",
            "계획",
            "예정",
            "방침",
            "추진",
            "하겠",
            "할 것",
            "겠다",
            "향후",
            "将",
            "计划",
            "拟",
            "预计",
            "未来",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Amount:
    """One money amount found in text."""

    raw: str
    value: float | None
    currency: str | None
    value_usd: float | None
    kind: str
    modality: str
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    sentence: int = 0  # index in pipeline.topics.sentences(title, text); 0 is the title

    def as_dict(self) -> dict[str, object]:
        """The export form: raw, value, currency, value_usd, kind, plus range, unit, modality."""
        return {
            "raw": self.raw,
            "value": self.value,
            "currency": self.currency,
            "value_usd": self.value_usd,
            "kind": self.kind,
            "modality": self.modality,
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
        }


@dataclass(frozen=True, slots=True)
class _Found:
    start: int
    end: int
    value: float | None
    low: float | None
    high: float | None
    currency: str | None
    unit: str | None


def number(whole: str, fraction: str | None) -> float:
    """The value of a number matched as (digits with commas, decimals)."""
    return float(whole.replace(",", "") + ("." + fraction if fraction else ""))


def cjk_scale(chars: str) -> float:
    """The multiplier of Korean/Chinese scale characters: 억 1e8, 万亿 1e12."""
    scale = 1.0
    for char in chars:
        scale *= CJK_SCALES[char]
    return scale


def _vague_range(prefix: str, scale: float) -> tuple[float, float]:
    digits = {"십": 10.0, "十": 10.0, "백": 100.0, "百": 100.0, "천": 1000.0, "千": 1000.0}
    factor = digits.get(prefix[-1], 1.0)
    # "수조원", "数亿": a few, like "billions of dollars"; "上亿": upwards of one.
    low = 2.0 if factor == 1.0 and prefix != "上" else 1.0
    return low * factor * scale, factor * 10 * scale


def _scan(sentence: str) -> list[_Found]:
    found: list[_Found] = []

    def add(item: _Found) -> None:
        if not any(item.start < f.end and f.start < item.end for f in found):
            found.append(item)

    for m in _CJK.finditer(sentence):
        value = number(m[1], m[2]) * cjk_scale(m[3])
        if m[4]:
            value += float(m[4]) * cjk_scale(m[5])
        add(_Found(m.start(), m.end(), value, None, None, _WORDS.get(m[6].lower()), None))
    for m in _VAGUE_CJK.finditer(sentence):
        low, high = _vague_range(m[1], cjk_scale(m[2]))
        add(_Found(m.start(), m.end(), None, low, high, _WORDS.get(m[3].lower()), None))
    for m in _PREFIXED.finditer(sentence):
        scale = EN_SCALES[m[6].lower()] if m[6] else 1.0
        currency = _SYMBOLS.get(m[1].strip().lower())
        value = number(m[2], m[3]) * scale
        if m[4]:
            low, high = value, number(m[4], m[5]) * scale
            add(_Found(m.start(), m.end(), None, low, high, currency, None))
        else:
            add(_Found(m.start(), m.end(), value, None, None, currency, None))
    for m in _SUFFIXED.finditer(sentence):
        value = number(m[1], m[2]) * EN_SCALES[m[3].lower()]
        add(_Found(m.start(), m.end(), value, None, None, _WORDS.get(m[4].lower()), None))
    for m in _VAGUE_EN.finditer(sentence):
        base = EN_SCALES[m[2].lower().rstrip("s")]
        factor = {"tens of": 10.0, "hundreds of": 100.0}.get((m[1] or "").lower(), 1.0)
        low, high = (2 * base if factor == 1.0 else factor * base), factor * 10 * base
        add(_Found(m.start(), m.end(), None, low, high, _WORDS.get(m[3].lower()), None))
    for m in _PLAIN.finditer(sentence):
        if m[3].lower() in _AMBIGUOUS_PLAIN and "," not in m[1]:
            continue
        add(
            _Found(
                m.start(), m.end(), number(m[1], m[2]), None, None, _WORDS.get(m[3].lower()), None
            )
        )
    return sorted((_with_unit(sentence, item) for item in found), key=lambda f: f.start)


def _with_unit(sentence: str, item: _Found) -> _Found:
    """The amount with its unit when it is a price per million tokens or per month."""
    for unit, after_pattern, before_pattern, reach in (
        ("per million tokens", _PER_UNIT, _PER_UNIT_BEFORE, 25),
        ("per month", _PER_MONTH, _PER_MONTH_BEFORE, 8),
    ):
        after = after_pattern.match(sentence[item.end : item.end + 40])
        before = before_pattern.search(sentence[max(0, item.start - reach) : item.start])
        if after or before:
            end = item.end + (after.end() if after else 0)
            return _Found(item.start, end, item.value, item.low, item.high, item.currency, unit)
    return item


def _nearest(
    sentence: str, start: int, cues: tuple[tuple[str, tuple[str, ...]], ...], default: str
) -> str:
    folded = sentence.casefold()
    best, distance = default, len(sentence) + 1
    for label, words in cues:
        for word in words:
            index = folded.find(word)
            while index >= 0:
                if abs(index - start) < distance:
                    best, distance = label, abs(index - start)
                index = folded.find(word, index + 1)
    return best


def find_amounts(
    title: str, text: str, usd_per_unit: Mapping[str, float] | None = None
) -> list[Amount]:
    """Every money amount in the title and text, in order."""
    rates = dict(usd_per_unit or {})
    rates["USD"] = 1.0
    amounts = []
    for index, sentence in enumerate(sentences(title, text)):
        norm = unicodedata.normalize("NFKC", sentence)
        for item in _scan(norm):
            raw = norm[item.start : item.end].strip()
            if item.unit == "per million tokens":
                kind = "price"
            else:  # "$1 billion a month" may be spending: per month is only the default
                kind = _nearest(norm, item.start, _KINDS, "price" if item.unit else "other")
            modality = _nearest(norm, item.start, _MODALITIES[:2], "") or _nearest(
                norm, item.start, _MODALITIES[2:], "announced"
            )
            rate = rates.get(item.currency or "")
            usd = item.value * rate if rate is not None and item.value is not None else None
            amounts.append(
                Amount(
                    raw,
                    item.value,
                    item.currency,
                    round(usd, 6) if usd is not None else None,
                    kind,
                    modality,
                    item.low,
                    item.high,
                    item.unit,
                    index,
                )
            )
    return amounts
