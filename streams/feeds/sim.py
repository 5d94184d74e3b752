"""The simulator feed: paces simulated ticks by trading time and produces frames.

Event time runs ``speed`` times faster than the wall clock (nights and weekends are
skipped) while the scripted regimes run (every regime but the last, which lasts), and
``then_speed`` times (real time by default) once they are over: the story plays in
about a minute, and what follows is a load the embedded broker holds for hours (each
flush with ticks is a record batch it keeps, see the README's "The embedded broker's
envelope"). Every ``flush_seconds`` of wall time (``THEN_FLUSH_SECONDS`` once the
story is over) the ticks that became due are written with the one tick producer
(:class:`streams.tick_producer.TickProducer`): one :class:`ColumnarTickFrame` per
partition (split at ``frame_max_ticks``, encoded from the session's arrays), to that explicit
partition, and the feed goes on only once the broker acknowledged them, so the count it
reports is the count written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import numpy as np

from streams.broker_watch import BrokerWatch
from streams.codec import encode
from streams.feeds.simulator import SessionTicks, SimulatedMarket, Simulator
from streams.kafka import KafkaSecurity
from streams.records import ColumnarTickFrame, Tick
from streams.tick_producer import TickProducer, ticks_between
from streams.topics import DEFAULT_TOPICS, TopicSpec

log = logging.getLogger("rotation.feed")

FLUSH_SECONDS = 0.05  # ROTATION_FEED_FLUSH_MS: one batch per partition per flush
# Once the story is over (real time): ticks of thousands of symbols are due every few
# ms; gathering a second of them keeps the broker's batches (its cost) as few as a
# small universe made, and a second is nothing against 15-minute bars.
THEN_FLUSH_SECONDS = 1.0


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


def frames_of(
    session: SessionTicks,
    lo: int,
    hi: int,
    symbols: list[str],
    partition: np.ndarray,
    max_ticks: int,
) -> list[tuple[int, bytes]]:
    """Ticks ``lo:hi`` of a session as encoded columnar frames, (partition, bytes) in
    partition order, event-time order kept, at most ``max_ticks`` a frame; the same
    ticks as :func:`ticks_of`, built from the session's arrays without a :class:`Tick`
    each. ``partition`` is the partition of each symbol index."""
    index = session.symbol[lo:hi]
    price = session.price[lo:hi]
    parts = partition[index]
    out: list[tuple[int, bytes]] = []
    for p in np.unique(parts).tolist():
        (rows,) = np.nonzero(parts == p)
        for start in range(0, rows.size, max_ticks):
            chunk = rows[start : start + max_ticks]
            codes, local = np.unique(index[chunk], return_inverse=True)
            px = price[chunk]
            bid = np.round(px - 0.01, 2).tolist()
            frame = ColumnarTickFrame(
                v=2,
                symbols=[symbols[c] for c in codes.tolist()],
                symbol=local.tolist(),
                ts=session.ts[lo:hi][chunk].tolist(),
                price=px.tolist(),
                size=session.size[lo:hi][chunk].tolist(),
                bid=[b if x > 0.02 else None for b, x in zip(bid, px.tolist(), strict=True)],
                ask=np.round(px + 0.01, 2).tolist(),
                source="sim",
            )
            out.append((p, encode(frame)))
    return out


def story_clock(universe: SimulatedMarket) -> float:
    """Trading seconds of the scripted regimes: every regime but the last."""
    sim = universe.simulator
    return sum(regime.days for regime in sim.regimes[:-1]) * float(sim.session_seconds)


@dataclass(frozen=True)
class Pace:
    """Trading seconds due after some wall seconds: ``speed`` until ``story`` trading
    seconds, then ``then`` (None: ``speed`` throughout)."""

    speed: float
    then: float | None
    story: float

    def due(self, elapsed: float) -> float:
        fast = elapsed * self.speed
        if self.then is None or fast <= self.story:
            return fast
        return self.story + (elapsed - self.story / self.speed) * self.then


async def run_feed(
    bootstrap: str,
    universe: SimulatedMarket,
    *,
    ticks_topic: TopicSpec = DEFAULT_TOPICS.ticks,
    security: KafkaSecurity | None = None,
    seed: int = 7,
    speed: float = 11_700.0,
    then_speed: float | None = None,
    days: int | None = None,
    duration: float | None = None,
    flush_seconds: float = FLUSH_SECONDS,
    compression: str | None = None,
) -> int:
    """Produce simulated ticks until ``days`` sessions or ``duration`` seconds; return ticks sent.

    ``speed`` <= 0 means as fast as possible (throughout); ``then_speed`` None keeps
    ``speed`` after the scripted regimes.
    """
    sim = Simulator(universe, seed)
    pace = Pace(speed, then_speed, story_clock(universe))
    seconds = universe.simulator.session_seconds
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
    partition = np.array([producer.partition_of(s) for s in sim.symbols], dtype=np.int64)
    sent = 0
    started = time.monotonic()
    try:
        for session in sim.sessions(days):
            log.info("session %d (%s): %d ticks", session.day, session.regime, session.ts.size)
            if speed > 0 and pace.then is not None and session.day * seconds == pace.story:
                log.info("the scripted regimes are over: %g x real time from here", pace.then)
            lo = 0
            wait = flush_seconds
            while lo < session.ts.size:
                elapsed = time.monotonic() - started
                if duration is not None and elapsed >= duration:
                    return sent
                if speed > 0:
                    due_clock = pace.due(elapsed)
                    if pace.then is not None and due_clock > pace.story:
                        wait = max(flush_seconds, THEN_FLUSH_SECONDS)
                    hi = int(np.searchsorted(session.clock, due_clock, side="right"))
                    if hi == lo:
                        await asyncio.sleep(wait)
                        continue
                else:
                    hi = min(lo + max_ticks * ticks_topic.partitions, session.ts.size)
                frames = frames_of(session, lo, hi, sim.symbols, partition, max_ticks)
                what = ticks_between(hi - lo, int(session.ts[lo]), int(session.ts[hi - 1]))
                await producer.send_frames(frames, hi - lo, what)
                sent += hi - lo
                lo = hi
                await asyncio.sleep(wait if speed > 0 else 0)
        return sent
    finally:
        watch.cancel()
        await producer.stop()
        log.info("feed stopped after %d ticks", sent)
