"""Terminal presentation of stories and of one article's copy and story decisions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text


def _cut(text: str, cells: int) -> Text:
    """``text`` cut to ``cells`` terminal cells (CJK characters take two), with an ellipsis."""
    shown = Text(text)
    shown.truncate(cells, overflow="ellipsis")
    return shown


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


def jsonable(value: Any) -> Any:
    """Datetimes as ISO strings, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def print_json(data: Any, out: Console) -> None:
    """Print ``data`` as JSON."""
    out.print_json(json.dumps(jsonable(data), ensure_ascii=False))


def print_stories(stories: list[dict[str, Any]], out: Console) -> None:
    """A table of stories (``--json`` has every field, first seen included)."""
    table = Table(title=f"{len(stories)} stories, latest first", title_justify="left")
    table.add_column("story", justify="right", no_wrap=True)
    table.add_column("last seen", no_wrap=True)
    table.add_column("arts", justify="right", no_wrap=True)
    table.add_column("srcs", justify="right", no_wrap=True)
    table.add_column("langs", no_wrap=True)
    table.add_column("title", no_wrap=True)
    room = max(20, out.width - 48)
    for story in stories:
        table.add_row(
            str(story["id"]),
            f"{story['last_seen']:%Y-%m-%d}",
            str(story["articles"]),
            str(story["sources"]),
            ",".join(story["langs"] or []),
            _cut(story["title"], room),
        )
    out.print(table)


def _copy_line(article: dict[str, Any]) -> str:
    if article["duplicate_of"] is not None:
        how = (
            "identical text"
            if article["copy_method"] == "exact"
            else (f"near-duplicate text, estimated similarity {article['copy_similarity']:.2f}")
        )
        return f"copy of #{article['duplicate_of']} ({escape(article['original_url'])}): {how}"
    if article["copies"]:
        listed = ", ".join(
            f"#{c['id']} ({c['copy_method']}"
            + (
                f" {c['copy_similarity']:.2f})"
                if c["copy_similarity"] is not None and c["copy_method"] == "near"
                else ")"
            )
            for c in article["copies"]
        )
        return f"original of {len(article['copies'])} copies: {listed}"
    return "no copy of it is stored, and it copies nothing stored"


def _story_line(article: dict[str, Any]) -> str:
    evidence = article["story_evidence"] or {}
    if article["story_id"] is None:
        return "not clustered yet (the next collect or `newswatch recluster` will place it)"
    if evidence.get("opened"):
        return f"opened story #{article['story_id']}"
    if "copy" in evidence:
        return f"in story #{article['story_id']} with its original #{evidence.get('original')}"
    parts = [f"joined story #{article['story_id']} with score {article['story_score']:.2f}"]
    if evidence.get("entities"):
        parts.append("shared entities in headline/lead: " + ", ".join(evidence["entities"]))
    if evidence.get("keys"):
        parts.append("shared amounts and codes: " + ", ".join(evidence["keys"]))
    if evidence.get("title"):
        parts.append(f"headline similarity {evidence['title']:.2f}")
    if evidence.get("different_actor"):
        parts.append(f"penalised: led by {evidence['different_actor']}")
    if evidence.get("different_event"):
        parts.append(
            "penalised: another kind of event (" + ", ".join(evidence["different_event"]) + ")"
        )
    return "; ".join(parts)


def print_article(article: dict[str, Any], out: Console) -> None:
    """One article, why it is (or is not) a copy, and the story it belongs to."""
    out.print(f"[bold]#{article['id']} {escape(article['title'])}[/bold]")
    out.print(f"{escape(article['canonical_url'])}", highlight=False)
    out.print(
        f"source {escape(article['source'])} · language {article['lang'] or '?'} · "
        f"published {_when(article['published_at'])} UTC · fetched "
        f"{_when(article['fetched_at'])} UTC",
        highlight=False,
    )
    out.print(f"[bold]copies:[/bold] {_copy_line(article)}", highlight=False)
    out.print(f"[bold]story:[/bold] {_story_line(article)}", highlight=False)
    print_labels(article, out)
    story = article["story"]
    if story:
        out.print(
            f"[bold]story #{story['id']}[/bold]: {escape(story['title'])} — {story['articles']} "
            f"articles, {story['sources']} sources, {','.join(story['langs'])}",
            highlight=False,
        )
        table = Table(show_header=True)
        table.add_column("id", justify="right", no_wrap=True)
        table.add_column("date", no_wrap=True)
        table.add_column("source", no_wrap=True)
        table.add_column("lang", no_wrap=True)
        table.add_column("title", no_wrap=True)
        room = max(20, out.width - 50)
        for member in story["members"]:
            mark = f"copy of #{member['duplicate_of']}: " if member["duplicate_of"] else ""
            table.add_row(
                str(member["id"]),
                f"{member['when']:%Y-%m-%d}",
                _cut(member["source"], 16),
                member["lang"] or "?",
                _cut(mark + member["title"], room),
            )
        out.print(table)


def print_unknown(names: list[dict[str, Any]], out: Console) -> None:
    """Unknown model names, most frequent first, with the article to look at."""
    if not names:
        out.print("no unknown model names in the stored articles")
        return
    table = Table(
        title="model names not in seeds/entities.yaml (add them as aliases)", title_justify="left"
    )
    table.add_column("name", no_wrap=True)
    table.add_column("articles", justify="right")
    table.add_column("last seen", no_wrap=True)
    table.add_column("example", justify="right")
    for item in names:
        table.add_row(
            escape(item["name"]),
            str(item["articles"]),
            f"{item['last_seen']:%Y-%m-%d}",
            f"#{item['last_article']}",
        )
    out.print(table)
    out.print(
        "`newswatch show ID` shows an article; after adding aliases, run `newswatch reclassify`.",
        highlight=False,
    )


def print_labels(article: dict[str, Any], out: Console) -> None:
    """An article's topics with evidence, relevance, entities and amounts."""
    if article.get("classified_at") is None:
        out.print("[bold]labels:[/bold] not classified yet", highlight=False)
        return
    out.print(f"[bold]relevance:[/bold] {article['relevance']:.2f}", highlight=False)
    for topic in article.get("topics") or []:
        out.print(
            f"[bold]topic {topic['name']}[/bold] ({topic['score']:.2f}): "
            f"“{escape(topic['evidence'])}”",
            highlight=False,
        )
    names = ", ".join(f"{e['name']} ({e['kind']})" for e in article.get("entities") or [])
    out.print(f"[bold]entities:[/bold] {escape(names) or '-'}", highlight=False)
    for amount in article.get("amounts") or []:
        if amount.get("value") is not None:
            value = f"{amount['value']:,.10g}"
        else:
            value = f"{amount['low']:,.10g} to {amount['high']:,.10g}"
        usd = f" = US${amount['value_usd']:,.10g}" if amount.get("value_usd") else ""
        unit = f" {amount['unit']}" if amount.get("unit") else ""
        out.print(
            f"[bold]amount[/bold] {escape(amount['raw'])}: {value} "
            f"{amount.get('currency') or '?'}{unit}{usd} — {amount['kind']}, "
            f"{amount['modality']}",
            highlight=False,
        )
