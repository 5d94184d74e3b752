"""The physical ceiling of the worker's input: a bare consumer reading and decoding its frames.

A new aiokafka consumer (no group, from the start, see :func:`benchmarks.raw.consume_all`)
reads every message of ``quotes.ticks`` and decodes each with the worker's own decoder,
:func:`agents.analytics.tick_checks.decode_message`. No Faust, no analytics: what is
left is the fetch and the decoding, the least any worker must spend on these frames.
Used by ``python -m benchmarks.throughput`` (just before each worker run) and by
``rotation bench`` (after each backlog is produced, before the worker starts).
"""

from __future__ import annotations

from agents.analytics.tick_checks import DecodedMessage, decode_message
from benchmarks.raw import consume_all
from streams.topics import DEFAULT_TOPICS


def tick_count(decoded: DecodedMessage) -> int:
    """How many ticks one decoded message holds (the one place that knows how)."""
    return len(decoded.columns)


async def consume_and_decode(
    bootstrap: str, messages: int, topic: str = DEFAULT_TOPICS.ticks.name
) -> tuple[int, float]:
    """Read the first ``messages`` messages of ``topic`` and decode each; return the
    ticks decoded and the seconds it took."""
    decoded = 0

    def decode(data: bytes) -> None:
        nonlocal decoded
        decoded += tick_count(decode_message(data))

    seconds = await consume_all(bootstrap, messages, topic, decode=decode)
    return decoded, seconds
