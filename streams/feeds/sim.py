"""The simulator feed: paces simulated ticks by trading time and produces frames.

Event time runs ``speed`` times faster than the wall clock (nights and weekends are
skipped). Every ``FLUSH_SECONDS`` of wall time the ticks that became due are grouped
by partition (``streams.partitioning``) and sent as one :class:`TickFrame`
per partition (split at ``frame_max_ticks``), to that explicit partition.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
from aiokafka import AIOKafkaProducer

from streams.broker_watch import BrokerWatch
from streams.codec import encode
from streams.feeds.simulator import SessionTicks, SimulatedMarket, Simulator
from streams.kafka import KafkaSecurity, kafka_client_kwargs
from streams.partitioning import partition_for
from streams.records import Tick, TickFrame
from streams.topics import DEFAULT_TOPICS, TopicSpec

log = logging.getLogger("rotation.feed")

FLUSH_SECONDS = 0.02


def frames_of(
    session: SessionTicks,
    lo: int,
    hi: int,
    symbols: list[str],
    partitions: np.ndarray,
    max_ticks: int,
) -> list[tuple[int, bytes]]:
    """Encode ticks ``lo:hi`` of a session as (partition, frame bytes), time-ordered."""
    out: list[tuple[int, bytes]] = []
    sym = session.symbol[lo:hi]
    part = partitions[sym]
    ts, price, size = session.ts[lo:hi], session.price[lo:hi], session.size[lo:hi]
    for p in np.unique(part):
        idx = np.flatnonzero(part == p)
        for chunk in range(0, idx.size, max_ticks):
            sel = idx[chunk : chunk + max_ticks]
            ticks = [
                Tick(
                    symbol=symbols[s],
                    ts=t,
                    price=px,
                    size=sz,
                    bid=round(px - 0.01, 2) if px > 0.02 else None,
                    ask=round(px + 0.01, 2),
                    source="sim",
                )
                for s, t, px, sz in zip(
                    sym[sel].tolist(),
                    ts[sel].tolist(),
                    price[sel].tolist(),
                    size[sel].tolist(),
                    strict=True,
                )
            ]
            out.append((int(p), encode(TickFrame(ticks=ticks))))
    return out


async def run_feed(
    bootstrap: str,
    universe: SimulatedMarket,
    *,
    ticks_topic: TopicSpec = DEFAULT_TOPICS.ticks,
    security: KafkaSecurity | None = None,
    seed: int = 7,
    speed: float = 11_700.0,
    days: int | None = None,
    duration: float | None = None,
) -> int:
    """Produce simulated ticks until ``days`` sessions or ``duration`` seconds; return ticks sent.

    ``speed`` <= 0 means as fast as possible.
    """
    sim = Simulator(universe, seed)
    partitions = np.array([partition_for(s, ticks_topic.partitions) for s in sim.symbols])
    max_ticks = universe.simulator.frame_max_ticks
    producer = AIOKafkaProducer(
        **kafka_client_kwargs(bootstrap, security), linger_ms=5, max_request_size=8 * 1024 * 1024
    )
    await producer.start()
    watch = asyncio.create_task(BrokerWatch(bootstrap, "feed", security).run())
    sent = 0
    started = time.monotonic()
    try:
        for session in sim.sessions(days):
            log.info("session %d (%s): %d ticks", session.day, session.regime, session.ts.size)
            lo = 0
            while lo < session.ts.size:
                elapsed = time.monotonic() - started
                if duration is not None and elapsed >= duration:
                    return sent
                if speed > 0:
                    due_clock = elapsed * speed
                    hi = int(np.searchsorted(session.clock, due_clock, side="right"))
                    if hi == lo:
                        await asyncio.sleep(FLUSH_SECONDS)
                        continue
                else:
                    hi = min(lo + max_ticks * ticks_topic.partitions, session.ts.size)
                for partition, frame in frames_of(
                    session, lo, hi, sim.symbols, partitions, max_ticks
                ):
                    await producer.send(ticks_topic.name, frame, partition=partition)
                sent += hi - lo
                lo = hi
                await asyncio.sleep(FLUSH_SECONDS if speed > 0 else 0)
        return sent
    finally:
        watch.cancel()
        await producer.stop()
        log.info("feed stopped after %d ticks", sent)
