"""Numbers that identify a happening across languages: amounts, percentages, model codes.

"$500 billion", "5000억 달러" and "5000亿美元" all become the key ``amt:5e11``; "50%",
"50 percent" and "50퍼센트" become ``pct:50``; "R1", "X1", "4.5", "QwQ-32B" become ``code:`` keys.
Stories use them as evidence that two articles in different languages report the same event.
Vague amounts ("수십억달러", "billions") are not keys: they identify nothing.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.amounts import EN_SCALES, cjk_scale, number

_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
# Scale words anywhere; one-letter scales only after a currency sign ("32B" is a model size).
_EN_AMOUNT = re.compile(
    rf"(?:(?<=[$€£¥₩])\s?|(?<![\w.\-])){_NUMBER}\s*"
    r"(thousand|million|billion|trillion|mln|bn|mn|tn)\b"
    rf"|(?<=[$€£¥₩]){_NUMBER}\s?([kmbt])\b",
    re.IGNORECASE,
)
_MONEY = re.compile(
    rf"[$€£¥₩]\s?{_NUMBER}(?!\s*(?:thousand|million|billion|trillion|[kmbt]\b))", re.IGNORECASE
)
# 1조 2000억, 3800亿, 5000억달러, 5천억달러, 2万亿: a number with one or more CJK scale
# characters, and a second part in a smaller unit (1조 2000억, 1조2천억).
_CJK_AMOUNT = re.compile(
    rf"{_NUMBER}\s*((?:[만억조천백万亿億萬千百])+)(?:\s*(\d+)\s*([천백千百]?[만억万亿]))?"
)
# "50프로" is colloquial for 50 %; with a space, "더우바오 1.5 프로" is Doubao 1.5 Pro.
_PERCENT = re.compile(
    rf"{_NUMBER}(?:\s*(?:%|％|percent\b|per cent\b|퍼센트)|프로\b)", re.IGNORECASE
)
_CODE = re.compile(
    r"(?<![A-Za-z0-9.])([A-Za-z]{0,8}-?\d+(?:\.\d+)?[A-Za-z]{0,6}"
    r"(?:-[A-Za-z0-9]{1,8})?)(?![A-Za-z0-9])"
)
# Not codes: ordinals, units, times, and amounts already read above ("1.2bn").
_NOT_CODE = re.compile(
    r"^\d+(?:\.\d+)?(st|nd|rd|th|s|h|m|am|pm|kg|km|g|k|b|bn|mn|mln|tn|t|x|pct)$", re.IGNORECASE
)


def _amount_key(value: float) -> str | None:
    if value < 1e4:  # small sums (a price per token, a phone) say little about which event
        return None
    return "amt:" + f"{value:.1e}".replace("e+", "e")  # two significant digits


def mention_keys(text: str) -> set[str]:
    """Amount, percentage and code keys found in ``text``."""
    norm = unicodedata.normalize("NFKC", text)
    keys: set[str] = set()
    # Numbers read as amounts or percentages are not model codes ("$1.2 billion" is no "1.2").
    spans: list[tuple[int, int]] = []
    for match in _EN_AMOUNT.finditer(norm):
        spans.append(match.span())
        whole, fraction, scale = (match[1], match[2], match[3]) if match[1] else match.groups()[3:]
        key = _amount_key(number(whole, fraction) * EN_SCALES[scale.lower()])
        if key:
            keys.add(key)
    for match in _CJK_AMOUNT.finditer(norm):
        spans.append(match.span())
        value = number(match[1], match[2]) * cjk_scale(match[3])
        if match[4] and match[5]:  # "1조 2000억"
            value += float(match[4]) * cjk_scale(match[5])
        key = _amount_key(value)
        if key:
            keys.add(key)
    for match in _MONEY.finditer(norm):
        spans.append(match.span())
        key = _amount_key(number(match[1], match[2]))
        if key:
            keys.add(key)
    for match in _PERCENT.finditer(norm):
        spans.append(match.span())
        keys.add(f"pct:{number(match[1], match[2]):g}")
    rest = list(norm)
    for start, end in spans:
        rest[start:end] = " " * (end - start)
    for match in _CODE.finditer("".join(rest)):
        code = match[1].lower().strip("-")
        has_letter = any(c.isalpha() for c in code)
        if not (has_letter or "." in code) or _NOT_CODE.match(code) or len(code) > 20:
            continue
        if not has_letter and float(code) >= 1000:  # years and plain large numbers
            continue
        keys.add(f"code:{code}")
    return keys
