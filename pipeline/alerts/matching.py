"""Which tracked events a rule announces, and when an announced event has changed enough to
announce again (a new topic, a new amount, or ``follow_up_sources`` more sources)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerts.rules import AlertRule


def _amounts_usd(event: Mapping[str, Any]) -> list[float]:
    return [float(a["value_usd"]) for a in event.get("amounts") or () if a.get("value_usd")]


def matches(rule: AlertRule, event: Mapping[str, Any]) -> bool:
    """True when ``event`` (a row of the events table, as a dict) satisfies every condition."""
    topics = {t["name"] for t in event.get("topics") or ()}
    if rule.topics and not rule.topics & topics:
        return False
    if rule.entities:
        names = {str(e["name"]).casefold() for e in event.get("entities") or ()}
        if not rule.entities & names:
            return False
    if rule.countries:
        countries = {e.get("country") for e in event.get("entities") or ()}
        if not rule.countries & countries:
            return False
    if rule.min_amount_usd is not None and not any(
        value >= rule.min_amount_usd for value in _amounts_usd(event)
    ):
        return False
    if int(event.get("sources") or 0) < rule.min_sources:
        return False
    if rule.languages and not rule.languages & set(event.get("langs") or ()):
        return False
    return float(event.get("relevance") or 0.0) >= rule.min_relevance


def snapshot(event: Mapping[str, Any]) -> dict[str, Any]:
    """What an alert said about an event, to compare the next state of the event with."""
    return {
        "topics": sorted({t["name"] for t in event.get("topics") or ()}),
        "amounts": sorted({round(v, 2) for v in _amounts_usd(event)}),
        "sources": int(event.get("sources") or 0),
    }


def changes(rule: AlertRule, before: Mapping[str, Any], event: Mapping[str, Any]) -> list[str]:
    """What changed materially since ``before`` (a :func:`snapshot`); empty when nothing did."""
    now = snapshot(event)
    found = [f"new topic: {t}" for t in now["topics"] if t not in before.get("topics", [])]
    found += [
        f"new amount: ${value:,.0f}"
        for value in now["amounts"]
        if value not in before.get("amounts", [])
    ]
    grown = now["sources"] - int(before.get("sources", 0))
    if grown >= rule.follow_up_sources:
        found.append(f"{grown} more sources ({now['sources']} in all)")
    return found
