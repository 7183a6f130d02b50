"""The amounts a reader looks at first in an event: the largest investment pledge and the
lowest price, in US dollars, written short ("$53B", "$0.55")."""

from __future__ import annotations

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


def short_usd(value: float) -> str:
    """``$53B``, ``$10.6B``, ``$250M``, ``$1,200``, ``$0.55``."""
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if value >= size:
            shown = f"{value / size:.1f}".removesuffix(".0")
            return f"${shown}{suffix}"
    if value >= 100:
        return f"${value:,.0f}"
    return f"${value:.2f}".removesuffix(".00")
