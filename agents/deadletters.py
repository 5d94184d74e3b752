"""Build dead-letter records (the original bytes, where they came from and why) and count
them per reason.

Every dead letter is one record on the dead-letter topic, keyed by its reason, so the
topic itself is the durable count: ``rotation deadletter`` reads it and shows the
counts by reason. :class:`DeadLetterCounts` keeps this process's running totals for
its log lines.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from streams.codec import encode
from streams.records import DeadLetter

MAX_DETAIL = 500
MAX_SOURCE = 64


def dead_letter(
    reason: str,
    detail: str,
    topic: str,
    partition: int,
    offset: int,
    original: bytes,
    source: str = "worker",
) -> bytes:
    """The encoded :class:`DeadLetter`; ``source`` is the input's own source (a tick's
    ``source`` field or its producer), ``worker`` for records the worker made itself."""
    return encode(
        DeadLetter(
            reason=reason,  # type: ignore[arg-type]  # callers pass the reason codes of records.DeadLetter
            detail=detail[:MAX_DETAIL],
            topic=topic,
            partition=partition,
            offset=offset,
            original=original,
            source=source[:MAX_SOURCE],
            ts=time.time_ns() // 1000,
        )
    )


class DeadLetterCounts:
    """Dead letters sent by this process, per reason."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.by_reason: Counter[str] = Counter()

    def sent(self, reason: str, count: int, where: str, example: str) -> None:
        """Log ``count`` dead letters of ``reason`` from one message (one line per
        message and reason, however many ticks it held)."""
        self.by_reason[reason] += count
        what = f"{count} inputs" if count > 1 else "1 input"
        self.log.warning(
            "dead-letter %s: %s from %s (%d %s in all since start), e.g. %s",
            reason,
            what,
            where,
            self.by_reason[reason],
            reason,
            example,
        )
