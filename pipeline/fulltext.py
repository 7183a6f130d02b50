"""Full-text terms that work the same in English, Korean and Chinese, on SQLite and PostgreSQL.

Neither SQLite's FTS5 tokenizers nor PostgreSQL's ``simple`` parser split Korean or Chinese
into words: a run of Hangul or Han characters would be one token, so "降价" could never be
found inside "全面降价". The index therefore stores terms, not raw text:

- a run of Latin letters and digits is one term, case-folded ("DeepSeek" -> "deepseek");
- a run of Han, Hangul, kana or other CJK characters becomes its overlapping character
  bigrams ("全面降价" -> "全面 面降 降价"); a single character stays a unigram.

A query is cut the same way. Each query word must appear as a phrase of its terms (bigrams in
order), and all words must appear. Korean particles are handled for free: "딥시크" is the
phrase "딥시 시크", found inside "딥시크가". A one-character CJK word is a prefix query on
the bigrams, so "降" still finds "降价".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Han (CJK unified + extension A + compatibility), Hangul syllables and jamo, kana.
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff"
)
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")

#: Longest term kept; longer runs of letters (base64, URLs glued together) are noise.
TERM_MAX = 40
#: At most this many query words are used; more are ignored.
QUERY_WORDS_MAX = 12


def _run_terms(run: str) -> list[str]:
    if _IS_CJK.match(run):
        if len(run) == 1:
            return [run]
        return [run[i : i + 2] for i in range(len(run) - 1)]
    word = run.casefold()
    return [word] if len(word) <= TERM_MAX else []


def terms(text: str) -> list[str]:
    """The index terms of ``text``, in order."""
    found: list[str] = []
    for match in _RUN.finditer(text):
        found.extend(_run_terms(match.group()))
    return found


def index_body(title: str, text: str) -> str:
    """What the search index stores for an article: its title's and text's terms."""
    return " ".join(terms(title) + terms(text))


@dataclass(frozen=True, slots=True)
class Phrase:
    """One query word: its terms in order; ``prefix`` for a lone CJK character."""

    terms: tuple[str, ...]
    prefix: bool = False


def parse_query(query: str) -> list[Phrase]:
    """The phrases of a query; empty when it holds no searchable word."""
    phrases: list[Phrase] = []
    for match in _RUN.finditer(query):
        run = match.group()
        found = _run_terms(run)
        if not found:
            continue
        prefix = len(run) == 1 and bool(_IS_CJK.match(run))
        phrase = Phrase(tuple(found), prefix)
        if phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) >= QUERY_WORDS_MAX:
            break
    return phrases


def fts5_match(phrases: list[Phrase]) -> str:
    """An FTS5 MATCH expression: every phrase, ANDed. Terms are quoted, so no query syntax
    from the user's text reaches FTS5."""
    parts = []
    for phrase in phrases:
        quoted = '"' + " ".join(phrase.terms) + '"'
        parts.append(quoted + "*" if phrase.prefix else quoted)
    return " AND ".join(parts)


def tsquery(phrases: list[Phrase]) -> str:
    """A PostgreSQL ``to_tsquery('simple', …)`` text: phrases with ``<->``, ANDed with ``&``.
    Terms hold only letters and digits, so quoting them is enough."""
    parts = []
    for phrase in phrases:
        words = [f"'{term}'" for term in phrase.terms]
        if phrase.prefix:
            words[-1] += ":*"
        parts.append("(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


def snippet(text: str, phrases: list[Phrase], width: int = 160) -> str:
    """About ``width`` characters of ``text`` around the first place a query word occurs."""
    if not text:
        return ""
    folded = text.casefold()
    at = -1
    for phrase in phrases:
        needle = phrase.terms[0] if phrase.prefix else _surface(phrase)
        at = folded.find(needle)
        if at >= 0:
            break
    at = max(at, 0)
    start = max(0, at - width // 3)
    end = min(len(text), start + width)
    piece = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


def _surface(phrase: Phrase) -> str:
    """The text a phrase stands for: bigrams glued back ("딥시 시크" -> "딥시크")."""
    first = phrase.terms[0]
    if _IS_CJK.match(first):
        return first + "".join(term[-1] for term in phrase.terms[1:])
    return first
