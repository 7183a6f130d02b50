"""The amounts a reader looks at first in an event: the largest investment pledge and the
lowest price, in US dollars, written short ("$53B", "$0.55")."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

INVESTMENT_KINDS = frozenset({"investment"})
PRICE_KINDS = frozenset({"price"})


def _usd(amounts: Iterable[Mapping[str, Any]] | None, kinds: frozenset[str]) -> list[float]:
    found = []
    for amount in amounts or ():
        value = amount.get("value_usd")
        if amount.get("kind") in kinds and isinstance(value, int | float) and value > 0:
            found.append(float(value))
    return found


def largest_investment_usd(amounts: Iterable[Mapping[str, Any]] | None) -> float | None:
    """The largest investment amount in US dollars (pledged, planned or made), if any."""
    values = _usd(amounts, INVESTMENT_KINDS)
    return max(values) if values else None


def lowest_price_usd(amounts: Iterable[Mapping[str, Any]] | None) -> float | None:
    """The lowest price in US dollars (API prices are mostly per million tokens), if any."""
    values = _usd(amounts, PRICE_KINDS)
    return min(values) if values else None


def _significant(value: float) -> str:
    return f"{value:.3g}"


def short_usd(value: float | None) -> str:
    """Dollars for people: ``$52.4B``, ``$5.6M``, ``$1.2K``, ``$1.10``, ``$0.069`` (token
    prices keep two significant digits). The dashboard's script follows the same rules."""
    if value is None or not math.isfinite(value):
        return ""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1000:
        rounded = float(_significant(value))
        for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if rounded >= scale:
                shown = rounded / scale
                text = _significant(shown) if shown < 1000 else f"{shown:,.0f}"
                return f"{sign}${text}{unit}"
    if value >= 1:
        return f"{sign}${f'{value:.2f}'.removesuffix('.00')}"
    if value == 0:
        return "$0"
    decimals = 1 - math.floor(math.log10(value))
    return f"{sign}${value:.{decimals}f}"
