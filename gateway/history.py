"""Per-channel sequence numbers and the retained history that makes a snapshot (sans-I/O).

``signals``: every distinct signal id once (Kafka's at-least-once may deliver one
twice), the most recent ``keep_signals`` retained. ``metrics``: the latest snapshot
per subject. Each accepted record becomes one encoded data message with the next
``seq`` of its channel.
"""

from __future__ import annotations

from collections import OrderedDict, deque

import msgspec

from gateway.messages import MetricsMessage, SignalMessage
from streams.records import MetricsSnapshot, Signal

_encoder = msgspec.json.Encoder()


class ChannelHistory:
    def __init__(self, keep_signals: int = 200, remember_ids: int = 100_000) -> None:
        self.seq = {"signals": 0, "metrics": 0}
        self.signals: deque[bytes] = deque(maxlen=keep_signals)
        self.metrics: dict[str, tuple[int, bytes]] = {}
        self.latest_ts: dict[str, int] = {}
        self._seen_ids: OrderedDict[str, None] = OrderedDict()
        self._remember_ids = remember_ids
        self.duplicates = 0

    def add_signal(self, signal: Signal) -> bytes | None:
        """The message for a new signal, or None when its id was already delivered."""
        if signal.id in self._seen_ids:
            self.duplicates += 1
            return None
        self._seen_ids[signal.id] = None
        if len(self._seen_ids) > self._remember_ids:
            self._seen_ids.popitem(last=False)
        self.seq["signals"] += 1
        message = _encoder.encode(SignalMessage("signals", self.seq["signals"], signal))
        self.signals.append(message)
        return message

    def add_metrics(self, snapshot: MetricsSnapshot) -> bytes | None:
        """The message for a new snapshot, or None for a copy of one already delivered
        (same subject, same or earlier event time: a worker replayed after a restart)."""
        latest = self.latest_ts.get(snapshot.subject)
        if latest is not None and snapshot.ts <= latest:
            self.duplicates += 1
            return None
        self.latest_ts[snapshot.subject] = snapshot.ts
        self.seq["metrics"] += 1
        message = _encoder.encode(MetricsMessage("metrics", self.seq["metrics"], snapshot))
        self.metrics[snapshot.subject] = (self.seq["metrics"], message)
        return message

    def snapshot(self, channel: str) -> list[bytes]:
        """What a new subscriber of ``channel`` is sent first, oldest first."""
        if channel == "signals":
            return list(self.signals)
        return [message for _, message in sorted(self.metrics.values())]
