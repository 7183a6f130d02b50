"""robots.txt rules: parsing and the RFC 9309 status policy (fetching is done by ``fetch``).

Matching follows RFC 9309 rather than ``urllib.robotparser``, which differs where it matters:
it lets the first matching rule win (so the common "Allow: /" then "Disallow: /search" allowed
/search), treats ``*`` and ``$`` in paths literally, matches user agents by substring ("news"
matched "newswatch"), uses only the first group naming us, and reads a file starting with a
byte-order mark as having no first group. Here the longest matching path wins, Allow winning
a tie; groups naming our product token are merged, and only without one does ``*`` apply.
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple
from urllib.parse import quote, urlsplit

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# Characters kept as they are when percent-encoding a path or pattern (the rest of the ASCII
# set RFC 3986 allows in a path and query, plus the pattern operators "*" and "$").
_SAFE = "/?=&;:@!$'()*+,%-._~"


class Rule(NamedTuple):
    """One Allow or Disallow line; ``pieces`` are the pattern split at its ``*`` wildcards."""

    allow: bool
    pattern: str
    pieces: tuple[str, ...]
    anchored: bool  # the pattern ended with "$"

    @classmethod
    def of(cls, allow: bool, pattern: str) -> Rule:
        """Build a rule from a canonical path pattern."""
        anchored = pattern.endswith("$")
        body = pattern[:-1] if anchored else pattern
        return cls(allow, pattern, tuple(body.split("*")), anchored)

    def matches(self, target: str) -> bool:
        """Glob match from the start of ``target``, without backtracking.

        No regular expression: "/*a*a*a*a*b" against a long path would backtrack for ages,
        and both the file and the URLs come from the site.
        """
        first, *rest = self.pieces
        if not target.startswith(first):
            return False
        position = len(first)
        if not rest:
            return not self.anchored or position == len(target)
        *middle, last = rest
        for piece in middle:  # leftmost matches leave the most room for what follows
            found = target.find(piece, position)
            if found < 0:
                return False
            position = found + len(piece)
        if self.anchored:
            return target.endswith(last) and len(target) - len(last) >= position
        return target.find(last, position) >= 0


class RobotsRules:
    """The parsed rules of one host; ``allow_all``/``deny_all`` cover the status-code cases."""

    __slots__ = ("_groups", "allow_all", "deny_all")

    def __init__(self, text: str = "", *, allow_all: bool = False, deny_all: bool = False) -> None:
        self.allow_all = allow_all or (not deny_all and not text.strip())
        self.deny_all = deny_all
        self._groups = _parse(text)

    def allows(self, url: str, user_agent: str) -> bool:
        """True when ``user_agent`` may fetch ``url``."""
        if self.deny_all:
            return False
        if self.allow_all:
            return True
        rules = self.rules_for(user_agent)
        parts = urlsplit(url)
        target = _canonical((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        best: tuple[int, bool] | None = None
        for rule in rules:
            if rule.matches(target):
                candidate = (len(rule.pattern), rule.allow)  # longer wins; on a tie, True > False
                if best is None or candidate > best:
                    best = candidate
        return best is None or best[1]

    def rules_for(self, user_agent: str) -> list[Rule]:
        """The rules of every group naming our product token, else those of ``*``."""
        token = _product_token(user_agent)
        mine = [rule for agents, rules in self._groups if token in agents for rule in rules]
        if mine:
            return mine
        return [rule for agents, rules in self._groups if "*" in agents for rule in rules]


def _product_token(user_agent: str) -> str:
    # "newswatch/0.1 (+https://...)" -> "newswatch"; robots.txt may also write a version.
    return user_agent.strip().split("/", 1)[0].split(" ", 1)[0].lower()


def _parse(text: str) -> list[tuple[frozenset[str], list[Rule]]]:
    """Groups of (user agents, rules), in file order (RFC 9309 section 2.1)."""
    groups: list[tuple[frozenset[str], list[Rule]]] = []
    agents: set[str] = set()
    rules: list[Rule] = []
    in_rules = False
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        key = key.lower()
        if key == "user-agent":
            if in_rules:  # a user-agent line after rules starts a new group
                groups.append((frozenset(agents), rules))
                agents, rules, in_rules = set(), [], False
            agents.add(_product_token(value) if value != "*" else "*")
        elif key in ("allow", "disallow"):
            if not agents:
                continue  # rules before any user-agent line belong to no group
            in_rules = True
            if value:  # "Disallow:" with no path disallows nothing
                rules.append(Rule.of(key == "allow", _canonical(value)))
    if agents:
        groups.append((frozenset(agents), rules))
    return groups


def _canonical(path: str) -> str:
    """Percent-encoding made comparable: non-ASCII encoded, escapes upper-case, unreserved
    characters decoded (RFC 9309 2.2.2 compares octets after this normalization)."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match[1], 16))
        return char if char in _UNRESERVED else "%" + match[1].upper()

    return _PERCENT.sub(fix, quote(path, safe=_SAFE))


def rules_for_status(status: int, body: bytes) -> RobotsRules:
    """Rules implied by the final status of a robots.txt fetch (RFC 9309 section 2.3.1)."""
    if 200 <= status < 300:
        return RobotsRules(body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace"))
    if 400 <= status < 500:
        return RobotsRules(allow_all=True)  # "unavailable": crawl freely
    return RobotsRules(deny_all=True)  # "unreachable": assume complete disallow
