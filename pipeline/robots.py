"""robots.txt rules: parsing and the RFC 9309 status policy (fetching is done by ``fetch``)."""

from __future__ import annotations

from urllib.robotparser import RobotFileParser

MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks crawlers to parse at least 500 KiB


class RobotsRules:
    """The parsed rules of one host; ``allow_all``/``deny_all`` cover the status-code cases."""

    __slots__ = ("_parser", "allow_all", "deny_all")

    def __init__(self, text: str = "", *, allow_all: bool = False, deny_all: bool = False) -> None:
        self.allow_all = allow_all or (not deny_all and not text.strip())
        self.deny_all = deny_all
        self._parser = RobotFileParser()
        self._parser.parse(text.splitlines())

    def allows(self, url: str, user_agent: str) -> bool:
        """True when ``user_agent`` may fetch ``url``."""
        if self.deny_all:
            return False
        if self.allow_all:
            return True
        # The product token is the part before the first slash ("newswatch/0.1 (...)").
        return self._parser.can_fetch(user_agent.split("/", 1)[0], url)


def rules_for_status(status: int, body: bytes) -> RobotsRules:
    """Rules implied by the final status of a robots.txt fetch (RFC 9309 section 2.3.1)."""
    if 200 <= status < 300:
        return RobotsRules(body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace"))
    if 400 <= status < 500:
        return RobotsRules(allow_all=True)  # "unavailable": crawl freely
    return RobotsRules(deny_all=True)  # "unreachable": assume complete disallow
