"""The gateway's websocket protocol: every message a client sends or receives.

JSON text frames at ``ws://HOST:PORT/ws``. A client sends
``{"op": "subscribe", "channels": ["signals", "metrics"], "id": "optional"}`` (or
``"op": "unsubscribe"``); the server answers ``subscribed`` with the whole effective
subscription, then sends a snapshot (the latest metrics per subject and the recent
signals) and every new message of those channels. Each data message carries its
``channel`` and ``seq``, a per-channel counter that increases by one per message,
so a client can tell when it missed one. A request the server cannot use is answered
with ``error`` and the connection stays open.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from streams.records import MetricsSnapshot, Signal

PROTOCOL_VERSION = 1
CHANNELS: tuple[str, ...] = ("signals", "metrics")

ChannelName = Literal["signals", "metrics"]
RequestId = Annotated[str | int | None, msgspec.Meta(description="Echoed in the answer.")]


class Subscribe(msgspec.Struct, forbid_unknown_fields=True):
    """Client request: add channels to this connection's subscription."""

    op: Literal["subscribe"]
    channels: Annotated[list[ChannelName], msgspec.Meta(min_length=1, max_length=16)]
    id: RequestId = None


class Unsubscribe(msgspec.Struct, forbid_unknown_fields=True):
    """Client request: remove channels from this connection's subscription."""

    op: Literal["unsubscribe"]
    channels: Annotated[list[ChannelName], msgspec.Meta(min_length=1, max_length=16)]
    id: RequestId = None


class Welcome(msgspec.Struct, tag_field="type", tag="welcome"):
    """Server: sent once on connect."""

    protocol: int
    server_time: Annotated[int, msgspec.Meta(description="Microseconds since the epoch.")]
    channels: list[str]


class Subscribed(msgspec.Struct, tag_field="type", tag="subscribed"):
    """Server: the whole effective subscription after a subscribe or unsubscribe."""

    channels: list[str]
    id: RequestId = None


class Error(msgspec.Struct, tag_field="type", tag="error"):
    """Server: a request could not be used; ``code`` says why, ``message`` says what."""

    code: Literal[
        "bad_json", "bad_request", "unknown_op", "unknown_channel", "too_large", "slow_client"
    ]
    message: str
    id: RequestId = None


class SignalMessage(msgspec.Struct, tag_field="type", tag="signal"):
    """Server: one rotation signal on the ``signals`` channel."""

    channel: Literal["signals"]
    seq: Annotated[int, msgspec.Meta(ge=1)]
    data: Signal


class MetricsMessage(msgspec.Struct, tag_field="type", tag="metrics"):
    """Server: one metrics snapshot on the ``metrics`` channel."""

    channel: Literal["metrics"]
    seq: Annotated[int, msgspec.Meta(ge=1)]
    data: MetricsSnapshot


SERVER_MESSAGES = (Welcome, Subscribed, Error, SignalMessage, MetricsMessage)
CLIENT_MESSAGES = (Subscribe, Unsubscribe)
ServerMessage = Welcome | Subscribed | Error | SignalMessage | MetricsMessage
