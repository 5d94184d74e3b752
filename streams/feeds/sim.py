"""The simulator feed: paces simulated ticks by trading time and produces frames.

Event time runs ``speed`` times faster than the wall clock (nights and weekends are
skipped). Every ``flush_seconds`` of wall time the ticks that became due are written
with the one tick producer (:class:`streams.tick_producer.TickProducer`): one
:class:`TickFrame` per partition (split at ``frame_max_ticks``), to that explicit
partition, and the feed goes on only once the broker acknowledged them, so the count it
reports is the count written.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np

from streams.broker_watch import BrokerWatch
from streams.feeds.simulator import SessionTicks, SimulatedMarket, Simulator
from streams.kafka import KafkaSecurity
from streams.records import Tick
from streams.tick_producer import TickProducer
from streams.topics import DEFAULT_TOPICS, TopicSpec

log = logging.getLogger("rotation.feed")

FLUSH_SECONDS = 0.05  # ROTATION_FEED_FLUSH_MS: one batch per partition per flush


def ticks_of(session: SessionTicks, lo: int, hi: int, symbols: list[str]) -> list[Tick]:
    """Ticks ``lo:hi`` of a session, in the session's (event-time) order."""
    price = session.price[lo:hi].tolist()
    return [
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
            session.symbol[lo:hi].tolist(),
            session.ts[lo:hi].tolist(),
            price,
            session.size[lo:hi].tolist(),
            strict=True,
        )
    ]


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
    flush_seconds: float = FLUSH_SECONDS,
    compression: str | None = None,
) -> int:
    """Produce simulated ticks until ``days`` sessions or ``duration`` seconds; return ticks sent.

    ``speed`` <= 0 means as fast as possible.
    """
    sim = Simulator(universe, seed)
    max_ticks = universe.simulator.frame_max_ticks
    producer = TickProducer(
        bootstrap,
        topic=ticks_topic,
        security=security,
        max_ticks=max_ticks,
        compression=compression,
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
                        await asyncio.sleep(flush_seconds)
                        continue
                else:
                    hi = min(lo + max_ticks * ticks_topic.partitions, session.ts.size)
                await producer.send(ticks_of(session, lo, hi, sim.symbols))
                sent += hi - lo
                lo = hi
                await asyncio.sleep(flush_seconds if speed > 0 else 0)
        return sent
    finally:
        watch.cancel()
        await producer.stop()
        log.info("feed stopped after %d ticks", sent)
