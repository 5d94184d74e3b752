"""Build dead-letter records: the original bytes, where they came from and why."""

from __future__ import annotations

import time

from streams.codec import encode
from streams.records import DeadLetter


def dead_letter(
    reason: str, detail: str, topic: str, partition: int, offset: int, original: bytes
) -> bytes:
    return encode(
        DeadLetter(
            reason=reason,  # type: ignore[arg-type]
            detail=detail[:500],
            topic=topic,
            partition=partition,
            offset=offset,
            original=original,
            source="worker",
            ts=time.time_ns() // 1000,
        )
    )
