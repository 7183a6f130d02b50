"""The text of an alert: headline, topics with a line of evidence, entities, amounts, sources
and languages, and links to the representative and the original article."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

EVIDENCE_CHARS = 200
MAX_ENTITIES = 8


@dataclass(frozen=True, slots=True)
class Message:
    """A title and a plain-text body."""

    title: str
    body: str


def _amount(a: Mapping[str, Any]) -> str:
    raw = str(a.get("raw") or a.get("value") or "")
    usd = a.get("value_usd")
    return f"{raw} (≈ ${float(usd):,.0f})" if usd and "$" not in raw else raw


def compose(
    rule: str,
    event: Mapping[str, Any],
    links: Mapping[str, str | None],
    changed: Sequence[str] = (),
) -> Message:
    """The message of one alert; ``changed`` lists what is new for a follow-up."""
    title = str(event.get("title") or "(untitled event)")
    prefix = "Update: " if changed else ""
    lines: list[str] = []
    if changed:
        lines.append("What changed: " + "; ".join(changed))
    for topic in event.get("topics") or ():
        evidence = " ".join(str(topic.get("evidence") or "").split())[:EVIDENCE_CHARS]
        lines.append(f"- {topic['name']}: “{evidence}”" if evidence else f"- {topic['name']}")
    names = [str(e["name"]) for e in (event.get("entities") or ())[:MAX_ENTITIES]]
    if names:
        lines.append("Entities: " + ", ".join(names))
    amounts = list(dict.fromkeys(a for a in map(_amount, event.get("amounts") or ()) if a))
    if amounts:
        lines.append("Amounts: " + "; ".join(amounts))
    langs = ", ".join(event.get("langs") or ()) or "?"
    articles, sources = int(event.get("articles") or 0), int(event.get("sources") or 0)
    lines.append(
        f"{articles} article{'s' * (articles != 1)} from {sources} "
        f"source{'s' * (sources != 1)} ({langs})"
    )
    if links.get("representative"):
        lines.append(f"Read: {links['representative']}")
    if links.get("original") and links.get("original") != links.get("representative"):
        lines.append(f"First reported: {links['original']}")
    lines.append(f"(event {event['id']}, rule {rule})")
    return Message(prefix + title, "\n".join(lines))


def compose_digest(rule: str, messages: Sequence[Message], since: datetime | None) -> Message:
    """One message for a period's alerts of a digest rule: each alert's title and text."""
    when = f" since {since:%Y-%m-%d %H:%M} UTC" if since else ""
    parts = [f"{len(messages)} tracked events for rule {rule}{when}."]
    for index, message in enumerate(messages, start=1):
        parts += ["", f"{index}. {message.title}", message.body]
    return Message(f"newswatch digest ({rule}): {len(messages)} events", "\n".join(parts))
