"""The client side of resume: where each channel stands and which signals were seen
(sans-I/O; :class:`gateway.client.GatewayClient` feeds it every server message).

A channel's position (epoch, seq) is what the next ``subscribe`` sends as ``since``.
After a ``snapshot`` or ``resumed`` header the next ``count`` data messages of the
channel catch up (the channel's state, or exactly what was missed); the position
is complete only once all of them are in, so a connection lost in between resumes
from the last complete one. Each signal id is delivered once: a snapshot after a
reconnect, or Kafka's at-least-once delivery, may bring a signal again.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal

from gateway.messages import MetricsMessage, Position, Resumed, SignalMessage, Snapshot

Delivery = Literal["live", "catch_up", "seen"]
"""What a data message is: new flow, part of a snapshot or resume, or a signal already
delivered (not to be delivered again)."""


class _CatchUp:
    __slots__ = ("header", "left")

    def __init__(self, header: Snapshot | Resumed) -> None:
        self.header = header
        self.left = header.count


class Resume:
    """Positions per channel and the ids of the signals delivered, across connections."""

    def __init__(self, remember_signals: int = 10_000) -> None:
        self.positions: dict[str, Position] = {}
        """Channel -> the last complete position, for ``since``."""
        self.remember_signals = remember_signals
        self._catching_up: dict[str, _CatchUp] = {}
        self._signal_ids: OrderedDict[str, None] = OrderedDict()

    def since(self, channels: tuple[str, ...]) -> dict[str, Position]:
        """The positions of ``channels`` that are known."""
        return {c: self.positions[c] for c in channels if c in self.positions}

    def disconnected(self) -> None:
        """A catch-up cut short stays incomplete: the positions stay where they were."""
        self._catching_up.clear()

    def header(self, message: Snapshot | Resumed) -> None:
        """A ``snapshot`` or ``resumed`` header: ``count`` catch-up messages follow."""
        channel = message.channel
        head = message.seq if isinstance(message, Snapshot) else message.to_seq
        if isinstance(message, Snapshot):
            self.positions.pop(channel, None)  # valid only once all of it is in
        if message.count == 0:
            self._catching_up.pop(channel, None)
            self.positions[channel] = Position(message.epoch, head)
        else:
            self._catching_up[channel] = _CatchUp(message)

    def data(self, message: SignalMessage | MetricsMessage) -> Delivery:
        """Track one data message; what it is for the client's user."""
        channel = message.channel
        catch_up = self._catching_up.get(channel)
        if catch_up is None or isinstance(catch_up.header, Resumed):
            self.positions[channel] = Position(message.epoch, message.seq)
        delivery: Delivery = "live" if catch_up is None else "catch_up"
        if catch_up is not None:
            catch_up.left -= 1
            if catch_up.left == 0:
                header = catch_up.header
                head = header.seq if isinstance(header, Snapshot) else header.to_seq
                self.positions[channel] = Position(header.epoch, head)
                del self._catching_up[channel]
        if isinstance(message, SignalMessage):
            signal_id = message.data.id
            if signal_id in self._signal_ids:
                return "seen"
            self._signal_ids[signal_id] = None
            if len(self._signal_ids) > self.remember_signals:
                self._signal_ids.popitem(last=False)
        return delivery
