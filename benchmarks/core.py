"""The pure core alone: ticks/s of :class:`Pipeline` over ticks made beforehand.

Two figures per universe: ``apply`` on already decoded frames (the analytics
alone), and decoding each frame's bytes with ``streams.codec`` and then ``apply``
(what the bars agent does per message, without Faust and Kafka).
"""

from __future__ import annotations

import gc
import time

from agents.analytics.pipeline import Pipeline
from agents.analytics.tick_checks import decode_message
from agents.analytics.universe import Universe
from benchmarks.synthetic import Workload
from streams.partitioning import partitioner


def time_pure_core(universe: Universe, workload: Workload) -> float:
    """Seconds for a fresh ``Pipeline`` to apply every frame of ``workload``."""
    pipeline = Pipeline(universe, partitioner(4))
    gc.collect()
    started = time.perf_counter()
    for partition, ticks in workload.frames:
        pipeline.apply(partition, ticks)
    return time.perf_counter() - started


def time_decode_and_core(universe: Universe, workload: Workload) -> float:
    """Seconds to decode every frame's bytes and apply it to a fresh ``Pipeline``."""
    pipeline = Pipeline(universe, partitioner(4))
    gc.collect()
    started = time.perf_counter()
    for partition, data in workload.payloads:
        pipeline.apply(partition, decode_message(data).columns)
    return time.perf_counter() - started
