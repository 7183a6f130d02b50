"""Tests for pipeline.dates: feed date strings in, aware UTC datetimes (or None) out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from pipeline.dates import parse_date

NOW = datetime(2025, 6, 1, tzinfo=UTC)
KST = timezone(timedelta(hours=9))
CHINA = timezone(timedelta(hours=8))


def utc(*parts: int) -> datetime:
    # mypy cannot tell that *parts never reaches datetime's positional tzinfo slot
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


ACCEPTED: list[tuple[str, tzinfo | None, datetime]] = [
    # RFC 822/2822 and its real-world sloppiness
    ("Fri, 24 Nov 2023 10:00:00 +0900", None, utc(2023, 11, 24, 1)),
    ("Fri,24 Nov 2023 10:00:00 +0900", None, utc(2023, 11, 24, 1)),  # feedparser gives nothing
    ("Fri,24 Nov 2023 18:28:36 -0000", None, utc(2023, 11, 24, 18, 28, 36)),
    ("Thu, 01 Aug 2019 16:15 EDT", None, utc(2019, 8, 1, 20, 15)),
    ("Thu, 01 Jan 04 19:48:21 GMT", None, utc(2004, 1, 1, 19, 48, 21)),
    ("Fri, 01 Jan 99 19:48:21 GMT", None, utc(1999, 1, 1, 19, 48, 21)),
    ("24 Nov 2023 10:00:00 GMT", None, utc(2023, 11, 24, 10)),  # no weekday
    ("Mon, 24 Nov 2023 10:00:00 GMT", None, utc(2023, 11, 24, 10)),  # wrong weekday
    ("thu, 01 jan 2004 19:48:21 gmt", None, utc(2004, 1, 1, 19, 48, 21)),
    ("Thu,  5 Apr 2012 10:00:00 GMT", None, utc(2012, 4, 5, 10)),
    ("Mon, 13 Feb, 2012 06:28:00 UTC", None, utc(2012, 2, 13, 6, 28)),
    ("Wed, 19 Feb 2012 22:40:00 GMT-01:01", None, utc(2012, 2, 19, 23, 41)),
    ("Wed, 19 Aug 2009 18:28:00 Etc/GMT", None, utc(2009, 8, 19, 18, 28)),
    ("Tue, 25 Mar 2025 14:30:00 Asia/Seoul", None, utc(2025, 3, 25, 5, 30)),
    ("Tue, 25 Mar 2025 02:30 PM +0900", None, utc(2025, 3, 25, 5, 30)),
    ("Tue, 25 Mar 2025 14:30:00 +0000 (UTC)", None, utc(2025, 3, 25, 14, 30)),
    ("Mon, 26 January 2004 16:31:00 ET", None, utc(2004, 1, 26, 21, 31)),
    ("Thu, 01 Jan 2004", None, utc(2004, 1, 1)),
    ("24-Nov-2023 10:00:00 +0100", None, utc(2023, 11, 24, 9)),
    ("Κυρ, 11 Ιούλ 2004 12:00:00 EST", None, utc(2004, 7, 11, 17)),  # Greek
    # month first, asctime, Twitter
    ("Thu Aug 30 2012 17:26:16 +0200", None, utc(2012, 8, 30, 15, 26, 16)),
    ("November 24, 2023 10:00 AM", None, utc(2023, 11, 24, 10)),
    ("Sun Jan  4 16:29:06 2004", None, utc(2004, 1, 4, 16, 29, 6)),
    ("Sun Jul 15 01:16:00 +0000 2012", None, utc(2012, 7, 15, 1, 16)),
    # Perforce
    ("Fri, 2006/09/15 08:19:53 EDT", None, utc(2006, 9, 15, 12, 19, 53)),
    # ISO 8601 / W3C-DTF
    ("2003-12-31T10:14:55.1234Z", None, utc(2003, 12, 31, 10, 14, 55, 123400)),
    ("2003-12-31T10:14:55Z", None, utc(2003, 12, 31, 10, 14, 55)),
    ("2003-12-31T18:14:55+08:00", None, utc(2003, 12, 31, 10, 14, 55)),
    ("2025-03-25T14:30:00+0900", None, utc(2025, 3, 25, 5, 30)),
    ("2025-03-25 14:30:00+09:00", None, utc(2025, 3, 25, 5, 30)),
    ("2025-03-25T14:30+09", None, utc(2025, 3, 25, 5, 30)),
    ("2025-03-25T14:30:00,5Z", None, utc(2025, 3, 25, 14, 30, 0, 500000)),
    ("2004-07-08 23:56:58 -00:20", None, utc(2004, 7, 9, 0, 16, 58)),
    ("2004-02-28T18:14:55-08:00", None, utc(2004, 2, 29, 2, 14, 55)),
    ("2003-012-31T10:14:55+00:00", None, utc(2003, 12, 31, 10, 14, 55)),
    ("2004-július-13T9:15-05:00", None, utc(2004, 7, 13, 14, 15)),  # Hungarian
    ("2003-12-31", None, utc(2003, 12, 31)),
    ("2003-12", None, utc(2003, 12, 1)),
    ("2003", None, utc(2003, 1, 1)),
    # Korean; a zone-less local time takes default_tz
    ("2004년 05월 28일 01:31:15", KST, utc(2004, 5, 27, 16, 31, 15)),  # feedparser: current month
    ("2004년 05월 28일  01:31:15", None, utc(2004, 5, 28, 1, 31, 15)),
    ("2004-05-25 오후 11:23:17", KST, utc(2004, 5, 25, 14, 23, 17)),  # feedparser: loses time
    ("2025년 3월 25일 오후 3시 20분", KST, utc(2025, 3, 25, 6, 20)),
    ("2025년 3월 25일 (화) 오후 12시 반", KST, utc(2025, 3, 25, 3, 30)),
    ("2025.03.25 14:30", KST, utc(2025, 3, 25, 5, 30)),
    ("2025. 3. 25. 오전 9:05", KST, utc(2025, 3, 25, 0, 5)),
    ("2025. 3. 25. 오전 12:10", KST, utc(2025, 3, 24, 15, 10)),
    ("2025-03-25 14:30 KST", None, utc(2025, 3, 25, 5, 30)),  # explicit zone wins
    ("2025-03-25 14:30 KST", CHINA, utc(2025, 3, 25, 5, 30)),
    ("2003-12-31", KST, utc(2003, 12, 30, 15)),
    # Chinese
    ("2025年3月25日 14:30", CHINA, utc(2025, 3, 25, 6, 30)),
    ("2025年03月25日 下午2:30", CHINA, utc(2025, 3, 25, 6, 30)),
    ("2025-03-25 14:30:00", CHINA, utc(2025, 3, 25, 6, 30)),
    ("2025年3月25日 上午10点", CHINA, utc(2025, 3, 25, 2)),
    ("2025年3月25日 晚上8点30分", CHINA, utc(2025, 3, 25, 12, 30)),
    ("2025年3月25日 凌晨2点", CHINA, utc(2025, 3, 24, 18)),
    ("2025年3月25日 中午12点", CHINA, utc(2025, 3, 25, 4)),
    ("2025年3月25日 星期二 14时30分15秒", CHINA, utc(2025, 3, 25, 6, 30, 15)),
    ("２０２５年３月２５日 １４：３０", CHINA, utc(2025, 3, 25, 6, 30)),  # full-width
    ("2025/03/25 14:30", CHINA, utc(2025, 3, 25, 6, 30)),
    # the window edges: now + 1 day is still accepted; KST makes this zone-less time past
    ("2025-06-01T23:59:59Z", None, utc(2025, 6, 1, 23, 59, 59)),
    ("2025-06-02 08:00", KST, utc(2025, 6, 1, 23)),
    ("1990-01-01T00:00:00Z", None, utc(1990, 1, 1)),
]

REJECTED: list[tuple[str | None, tzinfo | None]] = [
    # empty and garbage
    (None, None),
    ("", None),
    ("   ", None),
    ("garbage", None),
    ("yesterday", None),
    ("2013-xx-27", None),  # feedparser makes this a date
    ("2013-01-27-01", None),
    ("2013-01-28T11:30:00-06:00Textra", None),
    ("2013-01-28T09:xx:00Z", None),
    ("22013", None),
    ("013", None),
    ("12/03/2025", None),  # day-first or month-first: ambiguous, so rejected
    ("Sun, 16 Dec 2012 1:2:3:4 GMT", None),
    ("Sun, 16 zzz 2012 11:47:32 GMT", None),
    ("Sun, Dec x 2012 11:47:32 GMT", None),
    ("Sun, 16 Dec zz 11:47:32 GMT", None),
    ("Sun, 16 Dec 2012 11:47:32 +zz:00", None),
    ("Sun, 16 Dec 2012 11:47:32 XYZ", None),  # unknown zone
    ("Sun, 16 Dec 2012 11:47:32 Mars/Olympus", None),
    ("2025년 3월", KST),
    ("1" * 500, None),
    # impossible
    ("2025-13-01", None),
    ("2025-02-30", None),
    ("2025-03-25T25:00:00Z", None),
    ("2025-03-25T10:61:00Z", None),
    ("2025-03-25T10:14:61Z", None),
    ("Sun, 99 Jun 2009 12:00:00 GMT", None),
    ("Sun, 30 Feb 2009 12:00:00 GMT", None),
    ("2025년 13월 1일", KST),
    ("2025年2月30日 14:30", CHINA),
    ("2025-03-25 오전 13:00", KST),
    ("2025-03-25T10:00:00+24:00", None),
    ("9999-12-31T23:59:59-99:99", None),
    # future relative to NOW (one day of slack), and before the default earliest (1990)
    ("2025-06-02T00:00:01Z", None),
    ("2025-06-02 09:00", None),  # zone-less, read as UTC
    ("Mon, 01 Jan 2035 00:00:00 GMT", None),
    ("1989-12-31T23:59:59Z", None),
    ("Thu, 01 Jan 1970 00:00:00 GMT", None),  # the epoch, a common placeholder
]


@pytest.mark.parametrize(("raw", "default_tz", "expected"), ACCEPTED)
def test_accepted(raw: str, default_tz: tzinfo | None, expected: datetime) -> None:
    parsed = parse_date(raw, now=NOW, default_tz=default_tz)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(("raw", "default_tz"), REJECTED)
def test_rejected(raw: str | None, default_tz: tzinfo | None) -> None:
    assert parse_date(raw, now=NOW, default_tz=default_tz) is None


@pytest.mark.parametrize(
    ("zone", "hours"),
    [
        ("GMT", 0), ("UTC", 0), ("UT", 0), ("Z", 0),
        ("EST", -5), ("EDT", -4), ("CST", -6), ("CDT", -5),
        ("MST", -7), ("MDT", -6), ("PST", -8), ("PDT", -7),
        ("KST", 9), ("JST", 9), ("HKT", 8), ("SGT", 8),
        ("MET", 1), ("MEST", 2), ("CET", 1), ("CEST", 2),
        ("+0930", 9.5), ("-0000", 0), ("-03:30", -3.5),
    ],
)  # fmt: skip
def test_zones(zone: str, hours: float) -> None:
    parsed = parse_date(f"Tue, 25 Mar 2025 12:00:00 {zone}", now=NOW)
    assert parsed == utc(2025, 3, 25, 12) - timedelta(hours=hours)


@pytest.mark.parametrize(
    ("default_tz", "expected"),
    [
        (None, utc(2025, 3, 25, 20, 30)),
        (KST, utc(2025, 3, 25, 20, 30)),
        (CHINA, utc(2025, 3, 25, 6, 30)),
        (ZoneInfo("Asia/Shanghai"), utc(2025, 3, 25, 6, 30)),
    ],
)
def test_cst_is_us_central_unless_the_source_is_chinese(
    default_tz: tzinfo | None, expected: datetime
) -> None:
    parsed = parse_date("Tue, 25 Mar 2025 14:30:00 CST", now=NOW, default_tz=default_tz)
    assert parsed == expected


def test_feedparser_korean_month_is_kept() -> None:
    parsed = parse_date("2004년 05월 28일 01:31:15", now=NOW, default_tz=KST)
    assert parsed is not None
    assert (parsed.year, parsed.month, parsed.day) == (2004, 5, 27)


def test_window_is_adjustable() -> None:
    old = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert parse_date(old, now=NOW, earliest=utc(1, 1, 1)) == utc(1970, 1, 1)
    tomorrow = "2025-06-01T12:00:00Z"
    assert parse_date(tomorrow, now=NOW, future_slack=timedelta(0)) is None


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_date("2025-01-01", now=datetime(2025, 6, 1))  # naive on purpose
