"""How long a worker waits before asking again: jittered backoff and the server's hint.

:class:`Backoff` is the bounded exponential backoff with full jitter used after failed
takes; :func:`retry_after` reads a ``Retry-After`` header (delta seconds, what pitstop
sends with 429 and 503; an HTTP date is read too), so an overloaded or store-less server is
asked again when it said, not sooner.
"""

from __future__ import annotations

import random
import time
from typing import Any

UNAVAILABLE = 503
"""The status of a server that refused the request without doing it (store outage,
overload): always safe to send again, after ``Retry-After``."""


class Backoff:
    """Bounded exponential backoff with full jitter; reset by a success."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def next(self) -> float:
        """The wait after one more failure."""
        self.failures += 1
        ceiling = min(self.cap, self.base * (2 ** min(self.failures - 1, 30)))
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Forget earlier failures."""
        self.failures = 0


def retry_after(headers: Any, cap: float = 60.0) -> float | None:
    """Seconds from a ``Retry-After`` header (at most ``cap``), or None without a usable one."""
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        from email.utils import parsedate_to_datetime  # rare: not at import (import runpod)

        try:
            seconds = parsedate_to_datetime(raw).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), cap)
