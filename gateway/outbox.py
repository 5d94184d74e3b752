"""A client's bounded queue of messages (encoded JSON) not yet written, with
conflation (sans-I/O).

Messages wait here only while the connection's write buffer is full. Metrics are
latest-state: when a newer snapshot of a subject arrives while an older one of the
same channel still waits, the older one is dropped and the newer one queued at the
end, preceded by a ``conflated`` notice naming the dropped seq numbers, so the
client never sees a silent gap. Signals, acknowledgements and errors are never
dropped. When ``max_queue`` messages wait, :meth:`Outbox.push` refuses: the client
is too slow and the server closes it.
"""

from __future__ import annotations

from collections import deque

import msgspec

from gateway.messages import Conflated

_encoder = msgspec.json.Encoder()


class _Item:
    __slots__ = ("dropped", "key", "payload", "seq", "superseded")

    def __init__(
        self, payload: bytes, key: tuple[str, str] | None, seq: int, superseded: list[int]
    ) -> None:
        self.payload = payload
        self.key = key
        self.seq = seq
        self.superseded = superseded
        self.dropped = False


class Outbox:
    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self.conflated = 0
        self._items: deque[_Item] = deque()
        self._by_key: dict[tuple[str, str], _Item] = {}
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def push(self, payload: bytes, key: tuple[str, str] | None = None, seq: int = 0) -> bool:
        """Queue ``payload``; ``key`` (channel, subject) marks a conflatable message.
        False when the queue is full (nothing was queued)."""
        superseded: list[int] = []
        if key is not None:
            old = self._by_key.get(key)
            if old is not None:
                old.dropped = True
                self._live -= 1
                self.conflated += 1
                superseded = [*old.superseded, old.seq]
        if self._live >= self.max_queue:
            return False
        item = _Item(payload, key, seq, superseded)
        self._items.append(item)
        self._live += 1
        if key is not None:
            self._by_key[key] = item
        return True

    def pop(self) -> list[bytes]:
        """The next message to write (with its ``conflated`` notice first, if any)."""
        while self._items:
            item = self._items.popleft()
            if item.dropped:
                continue
            self._live -= 1
            if item.key is None:
                return [item.payload]
            del self._by_key[item.key]
            if not item.superseded:
                return [item.payload]
            notice = _encoder.encode(Conflated(item.key[0], item.superseded))
            return [notice, item.payload]
        return []

    def clear(self) -> None:
        self._items.clear()
        self._by_key.clear()
        self._live = 0
