"""Channels, their gapless seq numbers and the bounded history behind snapshots and
resumes (sans-I/O).

Every accepted record becomes one data message on its family channel (``signals``,
``metrics``) and one on its subject channel (``signals:pair:IWM/QQQ``), each with
the next ``seq`` of that channel. Kafka delivers at least once, so copies are
dropped first: a signal id already seen (the most recent ``remember_ids`` ids are
kept), a metrics snapshot whose (subject, ts) is not newer than the subject's last.

The numbering depends only on the order of the records on their topic, so a
gateway that reads the topic again from the start (after a restart) numbers every
message the same and keeps the epoch: the epoch is derived from the topic's first
record (:func:`epoch_of`). A client's resume is answered from the retained messages
(:meth:`History.recover`): exactly the missed ones, or, when they are not all
retained (or the epoch differs), a snapshot and the reason. Never part of them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from itertools import islice

import msgspec

from gateway.messages import MetricsMessage, Position, Resumed, SignalMessage, Snapshot
from gateway.subscriptions import Entry, Matcher, keeps
from streams.records import MetricsSnapshot, Signal

_encoder = msgspec.json.Encoder()


def epoch_of(topic: str, partition: int, offset: int, timestamp: int, value: bytes) -> str:
    """The epoch of a channel family read from a topic, derived from its first record.

    The same topic read again gives the same epoch; a topic that was recreated, or
    whose start was deleted by retention, gives another.
    """
    digest = hashlib.sha256(f"{topic}\0{partition}\0{offset}\0{timestamp}\0".encode())
    digest.update(value)
    return digest.hexdigest()[:16]


class Channel:
    """One channel: its head seq and its most recent messages."""

    __slots__ = ("latest", "name", "retained", "seq")

    def __init__(self, name: str, keep: int) -> None:
        self.name = name
        self.seq = 0
        self.retained: deque[Entry] = deque(maxlen=keep)
        # metrics only: the newest message of each subject, for snapshots
        self.latest: dict[str, Entry] = {}

    @property
    def oldest(self) -> int:
        """The seq of the oldest retained message (head + 1 when none is)."""
        return self.retained[0].seq if self.retained else self.seq + 1


class History:
    """Sequencing, de-duplication and retention of every channel.

    Defaults: ``keep_signals`` 1000 and ``keep_metrics`` 10000 messages retained on
    ``signals`` / ``metrics``, ``keep_subject`` 32 on each subject channel;
    ``snapshot_signals`` 200 signals in a snapshot of ``signals``.
    """

    def __init__(
        self,
        *,
        keep_signals: int = 1000,
        keep_metrics: int = 10_000,
        keep_subject: int = 32,
        snapshot_signals: int = 200,
        remember_ids: int = 100_000,
    ) -> None:
        self.keep = {"signals": keep_signals, "metrics": keep_metrics}
        self.keep_subject = keep_subject
        self.snapshot_signals = snapshot_signals
        self.epochs = {"signals": "", "metrics": ""}
        self.channels: dict[str, Channel] = {
            "signals": Channel("signals", keep_signals),
            "metrics": Channel("metrics", keep_metrics),
        }
        self.duplicates = {"signals": 0, "metrics": 0}
        self._seen_ids: OrderedDict[str, None] = OrderedDict()
        self._remember_ids = remember_ids
        self._latest_ts: dict[str, int] = {}

    # Input ----------------------------------------------------------------------

    def add_signal(self, signal: Signal, emit_ts: int) -> list[tuple[str, Entry]]:
        """The messages of a new signal, per channel; none when its id was seen."""
        if signal.id in self._seen_ids:
            self.duplicates["signals"] += 1
            return []
        self._seen_ids[signal.id] = None
        if len(self._seen_ids) > self._remember_ids:
            self._seen_ids.popitem(last=False)
        data = msgspec.Raw(_encoder.encode(signal))
        epoch = self.epochs["signals"]
        published = []
        for channel in self._channels_of("signals", signal.subject):
            channel.seq += 1
            message = SignalMessage(
                channel.name,
                channel.seq,
                data,  # type: ignore[arg-type]  # the record encoded once, as msgspec.Raw
                epoch,
                signal.ts,
                emit_ts,
            )
            entry = Entry(
                channel.seq,
                signal.subject,
                signal.kind,
                signal.score,
                _encoder.encode(message),
                signal.level,
            )
            channel.retained.append(entry)
            published.append((channel.name, entry))
        return published

    def add_metrics(self, snapshot: MetricsSnapshot, emit_ts: int) -> list[tuple[str, Entry]]:
        """The messages of a new snapshot, per channel; none for a copy of one already
        numbered (same subject, same or earlier event time: a worker replayed)."""
        latest = self._latest_ts.get(snapshot.subject)
        if latest is not None and snapshot.ts <= latest:
            self.duplicates["metrics"] += 1
            return []
        self._latest_ts[snapshot.subject] = snapshot.ts
        data = msgspec.Raw(_encoder.encode(snapshot))
        epoch = self.epochs["metrics"]
        published = []
        for channel in self._channels_of("metrics", snapshot.subject):
            channel.seq += 1
            message = MetricsMessage(
                channel.name,
                channel.seq,
                data,  # type: ignore[arg-type]  # the record encoded once, as msgspec.Raw
                epoch,
                snapshot.ts,
                emit_ts,
            )
            entry = Entry(
                channel.seq,
                snapshot.subject,
                snapshot.kind,
                None,
                _encoder.encode(message),
            )
            channel.retained.append(entry)
            channel.latest[snapshot.subject] = entry
            published.append((channel.name, entry))
        return published

    def _channels_of(self, family: str, subject: str) -> tuple[Channel, Channel]:
        name = f"{family}:{subject}"
        channel = self.channels.get(name)
        if channel is None:
            channel = self.channels[name] = Channel(name, self.keep_subject)
        return self.channels[family], channel

    # Output ---------------------------------------------------------------------

    def head(self, name: str) -> Position:
        channel = self.channels.get(name)
        return Position(self.epochs[name.partition(":")[0]], channel.seq if channel else 0)

    def recover(
        self, name: str, since: Position | None, matcher: Matcher | None = None
    ) -> tuple[Snapshot | Resumed, list[bytes]]:
        """What a subscriber of channel ``name`` is sent first: exactly what it missed
        after ``since``, or (without ``since``, or when that is impossible) a snapshot."""
        epoch = self.epochs[name.partition(":")[0]]
        channel = self.channels.get(name) or Channel(name, 0)
        reason = None
        if since is not None:
            if since.seq != 0 and since.epoch != epoch:
                reason = f"epoch {since.epoch!r} is not the channel's epoch {epoch!r}"
            elif since.seq > channel.seq:
                reason = f"seq {since.seq} is ahead of the channel, which is at {channel.seq}"
            elif since.seq < channel.oldest - 1:
                reason = (
                    f"seq {since.seq} is older than the retained history, which starts at "
                    f"{channel.oldest}"
                )
            else:
                missed = [
                    e.payload for e in _after(channel.retained, since.seq) if keeps(matcher, e)
                ]
                header = Resumed(name, epoch, since.seq + 1, channel.seq, len(missed))
                return header, missed
        if name.startswith("metrics"):
            # In the order the subjects first appeared (a dict keeps it on update): the
            # engine's order of groups and pairs, whatever interval each one is at now.
            current = list(channel.latest.values())
        else:
            current = list(channel.retained)[-self.snapshot_signals :]
        state = [e.payload for e in current if keeps(matcher, e)]
        return Snapshot(name, epoch, channel.seq, len(state), reason), state


def _after(retained: deque[Entry], seq: int) -> list[Entry]:
    """The retained entries with a seq above ``seq`` (entries are in seq order)."""
    if not retained or seq < retained[0].seq:
        return list(retained)
    start = seq - retained[0].seq + 1  # seq numbers of a channel are consecutive
    return list(islice(retained, start, None))
