"""Sending one message to one Apprise URL, with retries; errors come back redacted.

Apprise's own log lines, and those of the HTTP library under it, can carry the URL, tokens
included: they never reach our logs. While a message is sent those loggers do not propagate
(set at each send: a logging configuration loaded later may reset them); Apprise's lines are
captured and only their redacted text is kept as the error of a failed attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pipeline.alerts.message import Message
from pipeline.alerts.rules import redact

_SECRET_BEARING_LOGGERS = ("apprise", "urllib3", "requests")


@contextmanager
def _contained_logs() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _SECRET_BEARING_LOGGERS]
    before = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.propagate = False
    try:
        yield
    finally:
        for logger, value in zip(loggers, before, strict=True):
            logger.propagate = value


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of sending one message: ok, or the redacted reason."""

    ok: bool
    error: str | None = None


def send(
    url: str,
    message: Message,
    *,
    tries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send ``message`` to ``url``, trying up to ``tries`` times with doubling waits."""
    with _contained_logs():
        return _send(url, message, tries, backoff, sleep)


def _send(
    url: str, message: Message, tries: int, backoff: float, sleep: Callable[[float], None]
) -> Delivery:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        return Delivery(False, f"not a usable Apprise URL: {redact(url)}")
    error = "not delivered"
    for attempt in range(tries):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            ok = notifier.notify(title=message.title, body=message.body)
        if ok:
            return Delivery(True)
        lines = [line for line in captured.getvalue().splitlines() if line.strip()]
        error = redact(lines[-1] if lines else "not delivered")[:500]
    return Delivery(False, error)
