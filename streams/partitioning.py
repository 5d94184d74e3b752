"""Which partition of the ticks topic holds a symbol: Kafka's default key partitioner.

murmur2 of the UTF-8 symbol, made positive, modulo the partition count (the Java
client's ``DefaultPartitioner``; aiokafka's ``murmur2`` is the same function), so a
producer that sends one tick per message with ``key=symbol`` and a producer that
sends frames of many ticks to an explicit partition agree. The analytics never call
this: they are given a ``partition_of`` function, so they need no Kafka client.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from aiokafka.partitioner import murmur2


def partition_for(symbol: str, partitions: int) -> int:
    """Partition of ``symbol`` on a ticks topic of ``partitions`` partitions."""
    return _partition(symbol, partitions)


def partitioner(partitions: int) -> Callable[[str], int]:
    """``partition_for`` with the partition count fixed: symbol -> partition."""

    def partition_of(symbol: str) -> int:
        return _partition(symbol, partitions)

    return partition_of


@lru_cache(maxsize=1 << 16)
def _partition(symbol: str, partitions: int) -> int:
    # Cached: murmur2 in Python costs microseconds, and it runs once per tick.
    return (murmur2(symbol.encode()) & 0x7FFFFFFF) % partitions
