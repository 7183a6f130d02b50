"""Feed dates (RSS/Atom, Korean, English and Chinese sources) parsed into aware UTC datetimes.

feedparser's own fallback mis-parses strings we meet (measured on 6.0.14: ``2004년 05월 28일
01:31:15`` gets the current month, ``2004-05-25 오후 11:23:17`` loses its time, ``Fri,24 Nov 2023``
gives nothing, ``2013-xx-27`` becomes a date), so we parse them ourselves, in two steps:

1. normalise: NFKC folds full-width digits and punctuation; Korean and Chinese date, time and
   AM/PM markers are rewritten to ``YYYY-M-D``, ``H:MM:SS`` and ``AM``/``PM``;
2. match the whole string against one of a few grammars (ISO 8601 / W3C-DTF and its local
   variants, RFC 822 day-month-year, month-day-year, asctime).

Every field is checked by ``datetime`` itself, so Feb 30 or hour 25 are rejected, never rolled
over; a zone we do not know rejects the date rather than guessing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_EARLIEST: Final = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK: Final = timedelta(days=1)
# Real feed dates are short; the cap bounds regex work on untrusted text.
_MAX_LENGTH: Final = 120
_CHINA: Final = timedelta(hours=8)

# Minutes east of UTC. RFC 822 zones plus those our Korean, Japanese, Chinese and European
# sources write. Ambiguous abbreviations (IST, BST as Bangladesh ...) are left out on purpose:
# an unknown zone rejects the date. CST is special-cased in _zone.
_ZONES: Final[Mapping[str, int]] = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "WEST": 60, "BST": 60,
    "MET": 60, "CET": 60, "MEST": 120, "CEST": 120, "EET": 120, "EEST": 180, "MSK": 180,
    "KST": 540, "JST": 540, "HKT": 480, "SGT": 480, "AEST": 600, "AEDT": 660,
    "AT": -240, "AST": -240, "ADT": -180,
    "ET": -300, "EST": -300, "EDT": -240, "CT": -360, "CST": -360, "CDT": -300,
    "MT": -420, "MST": -420, "MDT": -360, "PT": -480, "PST": -480, "PDT": -420,
    "AKST": -540, "AKDT": -480, "HST": -600,
}  # fmt: skip

_ENGLISH_MONTHS: Final = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
# Hungarian and Greek names come from feedparser's test suite; keys are casefolded and stripped
# of accents (see _fold), so "július" and "Ιούλ" match as "julius" and "ιουλ".
_HUNGARIAN_MONTHS: Final = (
    "januar", "februar", "marcius", "aprilis", "majus", "junius",
    "julius", "augusztus", "szeptember", "oktober", "november", "december",
)  # fmt: skip
_GREEK_MONTHS: Final[Mapping[str, int]] = {
    "ιαν": 1, "φεβ": 2, "μαρ": 3, "μαω": 3, "απρ": 4, "μαι": 5, "ιουν": 6, "ιον": 6,
    "ιουλ": 7, "ιολ": 7, "αυγ": 8, "σεπ": 9, "οκτ": 10, "νοε": 11, "δεκ": 12,
}  # fmt: skip
_MONTHS: Final[Mapping[str, int]] = {
    **{name: i for i, name in enumerate(_ENGLISH_MONTHS, 1)},
    **{name[:3]: i for i, name in enumerate(_ENGLISH_MONTHS, 1)},
    "sept": 9,
    **{name: i for i, name in enumerate(_HUNGARIAN_MONTHS, 1)},
    **_GREEK_MONTHS,
}

_MERIDIEMS: Final[Mapping[str, str]] = {
    "오전": "AM", "上午": "AM", "早上": "AM", "早晨": "AM", "凌晨": "AM",
    "오후": "PM", "下午": "PM", "晚上": "PM", "傍晚": "PM", "中午": "NOON",
}  # fmt: skip

_CJK_DATE = re.compile(
    r"(?<!\d)(\d{4})\s*[./년年]\s*(\d{1,2})\s*[./월月]\s*(\d{1,2})(?:\s*[.일日号號])?"
)
_CJK_TIME = re.compile(
    r"(\d{1,2})\s*[시时時点點]\s*(?:(\d{1,2})\s*[분分](?:\s*(\d{1,2})\s*[초秒])?|([반半]))?"
)
_MERIDIEM = re.compile("|".join(_MERIDIEMS))
_CJK_WEEKDAY = re.compile(
    r"\(\s*[월화수목금토일一二三四五六日天]\s*\)|[월화수목금토일]요일"
    r"|(?:星期|礼拜|禮拜|周|週)[一二三四五六日天]"
)
_COMMENT = re.compile(r"\s*\([^()]*\)$")  # "+0000 (UTC)", as mailers write
_THREE_DIGIT_MONTH = re.compile(r"^(\d{4})-0(\d\d)-")  # "2003-012-31", seen in the wild
_NAMED_MONTH = re.compile(r"^(\d{4})-([^\W\d_]+)-")  # "2004-július-13"
_DECIMAL_COMMA = re.compile(r"(:\d\d),(\d)")

# The weekday is any leading word and its value is ignored: feeds often get it wrong.
_WEEKDAY = r"(?:[^\W\d_]{2,12}\.?,?\s)?"
_CLOCK = (
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?:\s?(?P<ap2>[AP]\.?M\.?))?"
)
_ZONE = (
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?|(?:GMT|UTC?)[+-]\d{1,2}(?::?\d{2})?"
    r"|[A-Za-z]+(?:/[A-Za-z0-9_+-]+)*)"
)
_TAIL = rf"(?:\s{_CLOCK}(?:\s?{_ZONE})?)?"
_GRAMMARS: Final = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # ISO 8601 / W3C-DTF; also normalised Korean/Chinese forms and Perforce's "Fri, 2006/09/15"
        rf"{_WEEKDAY}(?P<y>\d{{4}})(?:-(?P<mo>\d{{1,2}})(?:-(?P<d>\d{{1,2}})"
        rf"(?:(?:T|\s)(?:(?P<ap>AM|PM|NOON)\s?)?{_CLOCK}(?:\s?{_ZONE})?)?)?)?",
        # RFC 822: "Fri, 24 Nov 2023 10:00:00 +0900", "24-Nov-23"
        rf"{_WEEKDAY}(?P<d>\d{{1,2}})[\s-](?P<mon>[^\W\d_]+)\.?[\s-](?P<y>\d{{4}}|\d{{2}}){_TAIL}",
        # month first: "Thu Aug 30 2012 17:26:16 +0200", "November 24, 2023 10:00 AM"
        rf"{_WEEKDAY}(?P<mon>[^\W\d_]+)\.?\s(?P<d>\d{{1,2}})\s(?P<y>\d{{4}}){_TAIL}",
        # asctime, and Twitter's variant with a zone before the year
        rf"{_WEEKDAY}(?P<mon>[^\W\d_]+)\s(?P<d>\d{{1,2}})\s{_CLOCK}(?:\s{_ZONE})?\s(?P<y>\d{{4}})",
    )
)
_OFFSET = re.compile(r"(?:GMT|UTC?)?([+-])(\d{1,2}):?(\d{2})?", re.IGNORECASE)


def parse_date(
    raw: str | None,
    *,
    now: datetime,
    default_tz: tzinfo | None = None,
    earliest: datetime = _EARLIEST,
    future_slack: timedelta = _FUTURE_SLACK,
) -> datetime | None:
    """Parse a feed date to aware UTC; None if garbage, impossible or outside the time window."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not raw or len(raw) > _MAX_LENGTH:
        return None
    text = _normalise(raw)
    for grammar in _GRAMMARS:
        match = grammar.fullmatch(text)
        if match:
            parsed = _assemble(match.groupdict(), default_tz)
            # A future date is a feed bug (or a scheduled post); clamping would invent a time.
            if parsed is None or not earliest <= parsed <= now + future_slack:
                return None
            return parsed
    return None


def _normalise(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    text = _CJK_WEEKDAY.sub(" ", text)
    text = _CJK_DATE.sub(lambda m: f"{m[1]}-{m[2]}-{m[3]} ", text, count=1)
    text = _CJK_TIME.sub(_clock_from_units, text, count=1)
    text = _MERIDIEM.sub(lambda m: f" {_MERIDIEMS[m[0]]} ", text)
    text = _COMMENT.sub("", " ".join(text.split()))
    text = _THREE_DIGIT_MONTH.sub(r"\1-\2-", text)
    text = _NAMED_MONTH.sub(lambda m: f"{m[1]}-{_MONTHS.get(_fold(m[2]), m[2])}-", text)
    # Commas are noise ("Fri,24 Nov", "13 Feb, 2012") except in an ISO decimal fraction.
    text = _DECIMAL_COMMA.sub(r"\1.\2", text).replace(",", " ")
    return " ".join(text.split())


def _clock_from_units(match: re.Match[str]) -> str:
    hour, minute, second, half = match.groups()
    minute_value = 30 if half else int(minute or 0)
    clock = f"{hour}:{minute_value:02d}"
    return f"{clock}:{int(second):02d}" if second else clock


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.casefold().rstrip("."))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _assemble(fields: dict[str, str | None], default_tz: tzinfo | None) -> datetime | None:
    year_text = fields["y"] or ""
    year = int(year_text)
    if len(year_text) == 2:  # RFC 2822 section 4.3: 00-49 are 20xx, 50-99 are 19xx
        year += 2000 if year < 50 else 1900
    month_name = fields.get("mon")
    month = _MONTHS.get(_fold(month_name)) if month_name else int(fields.get("mo") or 1)
    hour = _clock_hour(int(fields.get("h") or 0), fields.get("ap") or fields.get("ap2"))
    if month is None or hour is None:
        return None
    micro = int((fields.get("f") or "")[:6].ljust(6, "0"))
    try:
        local = datetime(
            year,
            month,
            int(fields.get("d") or 1),
            hour,
            int(fields.get("mi") or 0),
            int(fields.get("s") or 0),
            micro,
        )
    except ValueError:
        return None
    zone = fields.get("zone")
    tz = _zone(zone, local, default_tz) if zone else default_tz or UTC
    if tz is None:
        return None
    try:
        return local.replace(tzinfo=tz).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _clock_hour(hour: int, marker: str | None) -> int | None:
    if marker is None:
        return hour
    kind = marker[0].upper()
    if hour > 12:  # "下午14:30" is redundant but seen; "오전 13:00" is contradictory
        return None if kind == "A" else hour
    if kind == "A":
        return 0 if hour == 12 else hour
    if kind == "N":  # 中午 spans late morning to early afternoon
        return hour if hour >= 11 else hour + 12
    return hour if hour == 12 else hour + 12


def _zone(name: str, local: datetime, default_tz: tzinfo | None) -> tzinfo | None:
    upper = name.upper()
    # RFC 822 defines CST as US Central (-06:00), but Chinese sites write CST for China Standard
    # Time (+08:00). A source whose default zone is UTC+8 is Chinese, so there CST means +08:00.
    if upper == "CST" and default_tz is not None and default_tz.utcoffset(local) == _CHINA:
        return timezone(_CHINA)
    if upper in _ZONES:
        return timezone(timedelta(minutes=_ZONES[upper]))
    offset = _OFFSET.fullmatch(name)
    if offset:
        sign, hours, minutes = offset[1], int(offset[2]), int(offset[3] or 0)
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    if "/" in name:  # an IANA name such as "Asia/Seoul" or "Etc/GMT"
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return None
    return None


def known_zone(name: str) -> str:
    """``name`` when it is an IANA time zone this machine knows; ValueError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name
