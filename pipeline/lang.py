"""Language of an article from the scripts its text is written in.

No statistical model: the languages we collect are told apart by script alone (Hangul is
Korean, kana is Japanese, Han without kana or Hangul is Chinese). Latin text is English unless
the page or its source declares another Latin-script language, which a script count cannot see.
Codes are ISO 639-1.
"""

from __future__ import annotations

import re

# Counting the first few thousand characters is enough to tell scripts apart and keeps the
# cost flat on very long pages.
_SAMPLE = 2000

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]")
# Without U+30FB (katakana middle dot): Chinese text uses it between the parts of foreign names.
_KANA = re.compile(r"[\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
# Other scripts, with the language a page in that script most likely is when nothing is
# declared; a declared language written in the same script wins.
_OTHER_SCRIPTS: tuple[tuple[re.Pattern[str], str, frozenset[str]], ...] = (
    (re.compile(r"[\u0400-\u04ff]"), "ru", frozenset({"ru", "uk", "bg", "sr", "mk", "be", "kk"})),
    (re.compile(r"[\u0600-\u06ff\u0750-\u077f]"), "ar", frozenset({"ar", "fa", "ur", "ps"})),
    (re.compile(r"[\u0370-\u03ff]"), "el", frozenset({"el"})),
    (re.compile(r"[\u0590-\u05ff]"), "he", frozenset({"he", "yi"})),
    (re.compile(r"[\u0e00-\u0e7f]"), "th", frozenset({"th"})),
    (re.compile(r"[\u0900-\u097f]"), "hi", frozenset({"hi", "mr", "ne"})),
    (re.compile(r"[\u1000-\u109f]"), "my", frozenset({"my"})),
)

# Languages whose usual script is not Latin: a declaration of one of these says nothing about
# which Latin-script language a Latin text is in.
_NON_LATIN = frozenset(
    {"ko", "ja", "zh", "ru", "uk", "bg", "sr", "mk", "be", "kk", "ar", "fa", "ur", "ps", "el"}
    | {"he", "yi", "th", "hi", "mr", "ne", "my", "ka", "hy", "km", "lo", "bn", "ta", "te"}
)
_CODE = re.compile(r"[a-z]{2}")

# CJK characters carry several Latin letters' worth of text each, so a CJK share well under
# half of the letters already means the text is CJK with embedded English names and terms.
_CJK_SHARE = 0.25
# Japanese prose is rarely under a fifth kana; Chinese pages carry a stray kana at most.
_KANA_SHARE = 0.1
_HANGUL_SHARE = 0.3


def primary_code(tag: str | None) -> str | None:
    """ISO 639-1 code from a language tag such as ``ko-KR``, ``zh_Hant`` or ``EN``."""
    if not tag:
        return None
    head = re.split(r"[-_\s]", tag.strip().lower(), maxsplit=1)[0]
    return head if _CODE.fullmatch(head) else None


def detect_lang(text: str, html_lang: str | None = None, hint: str | None = None) -> str | None:
    """ISO 639-1 language of ``text``; ``html_lang`` and ``hint`` settle Latin-script cases."""
    declared = [code for code in (primary_code(html_lang), primary_code(hint)) if code]
    sample = text[:_SAMPLE]
    if sample.isascii():
        # The common case, decided without counting anything.
        if not any(char.isalpha() for char in sample):
            return declared[0] if declared else None
        return _latin(declared)
    hangul = len(_HANGUL.findall(sample))
    kana = len(_KANA.findall(sample))
    han = len(_HAN.findall(sample))
    latin = len(_LATIN.findall(sample))
    cjk = hangul + kana + han
    others = [(0, "", frozenset[str]())]
    if (cjk + latin) * 2 < len(sample) - sample.count(" "):
        # Few Latin or CJK letters: another script (or only digits and punctuation).
        others += [(len(rx.findall(sample)), code, family) for rx, code, family in _OTHER_SCRIPTS]
    letters = cjk + latin + sum(count for count, _, _ in others)
    if letters == 0:
        return declared[0] if declared else None

    if cjk >= _CJK_SHARE * letters:
        if hangul >= _HANGUL_SHARE * cjk and hangul > kana:
            return "ko"
        if kana >= _KANA_SHARE * cjk or (kana and "ja" in declared):
            return "ja"
        if not kana and not hangul and "ja" in declared[:1]:
            # All-Han Japanese (a headline of kanji compounds) looks exactly like Chinese.
            return "ja"
        return "zh" if han else "ko" if hangul > kana else "ja"

    count, code, family = max(others)
    if count > latin:
        return next((lang for lang in declared if lang in family), code)
    return _latin(declared)


def _latin(declared: list[str]) -> str:
    return next((lang for lang in declared if lang not in _NON_LATIN), "en")
