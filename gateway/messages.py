"""The gateway's websocket protocol: every message a client sends or receives.

JSON text frames at ``ws://HOST:PORT/ws``; the README's "Websocket gateway" section
and ``schemas/asyncapi.json`` describe the conversation. In short:

- the server greets with ``welcome`` (protocol version, server time, heartbeat
  interval, limits, whether ``auth`` is required);
- a client sends ``subscribe`` / ``unsubscribe`` with channels, an optional filter,
  an optional ``since`` position per channel and an optional ``id`` echoed back;
- the server acknowledges with ``subscribed`` (the whole effective subscription),
  then, per channel named, either ``resumed`` followed by exactly the messages the
  client missed, or ``snapshot`` followed by the current state; then live data;
- every data message (``signal``, ``metrics``) carries its ``channel``, a gapless
  per-channel ``seq``, the channel's ``epoch``, the event time ``ts``, the time
  the gateway emitted it ``emit_ts`` and the record as ``data``;
- ``heartbeat`` with a counter every few seconds; ``error`` for every request the
  server cannot use; ``shutdown`` before a graceful close.

Times are integer microseconds since the Unix epoch (UTC), like the records.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec

from streams.records import MetricsSnapshot, Signal, SignalKind, SignalLevel

PROTOCOL_VERSION = 2
FAMILIES: tuple[str, ...] = ("signals", "metrics")
"""Channel families: ``signals`` and ``metrics`` carry every subject; ``signals:<subject>``
and ``metrics:<subject>`` carry one (``<subject>`` as in the records, e.g. ``pair:IWM/QQQ``)."""
METRICS_KINDS: tuple[str, ...] = ("group", "pair")

CHANNEL_PATTERN = r"^(signals|metrics)(:(group|pair):[!-~]{1,128})?$"
ChannelName = Annotated[
    str,
    msgspec.Meta(
        pattern=CHANNEL_PATTERN,
        description=(
            "signals, metrics, or one subject's channel: signals:<subject> / "
            "metrics:<subject>, e.g. metrics:pair:IWM/QQQ"
        ),
    ),
]
Subject = Annotated[
    str,
    msgspec.Meta(pattern=r"^(group|pair):[!-~]{1,128}$", description="e.g. pair:IWM/QQQ"),
]
RequestId = Annotated[
    str | int | None, msgspec.Meta(description="Optional; echoed in the answer to the request.")
]
Micros = Annotated[int, msgspec.Meta(ge=0, description="Microseconds since the Unix epoch, UTC.")]
Seq = Annotated[int, msgspec.Meta(ge=1, description="Per-channel sequence number, gapless.")]
Epoch = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        description=(
            "Identifies the channel's history; it changes only when the gateway cannot "
            "rebuild its history from Kafka, and seq numbers of different epochs are unrelated."
        ),
    ),
]
ErrorCode = Literal[
    "bad_json",
    "bad_request",
    "unknown_op",
    "unknown_channel",
    "too_large",
    "too_many_subscriptions",
    "rate_limited",
    "unauthorized",
    "slow_client",
    "too_many_connections",
]


# Client requests ----------------------------------------------------------------


class Filter(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Narrows a subscription; every condition given must hold.

    ``kinds``: signal kinds on signal channels, ``group``/``pair`` on metrics channels.
    ``min_score``: signal channels only. ``levels``: signal channels only, the levels
    of the hierarchy to receive (``headline``, ``supporting``, ``detail``). With a
    filter, ``seq`` still counts the whole channel, so the seq of consecutive messages
    a client receives may jump.
    """

    kinds: Annotated[list[str], msgspec.Meta(min_length=1, max_length=16)] | None = None
    subjects: Annotated[list[Subject], msgspec.Meta(min_length=1, max_length=256)] | None = None
    min_score: Annotated[float, msgspec.Meta(ge=0)] | None = None
    levels: Annotated[list[SignalLevel], msgspec.Meta(min_length=1, max_length=3)] | None = None


class Position(msgspec.Struct, forbid_unknown_fields=True):
    """The last message a client has of a channel: its epoch and seq (0: none yet)."""

    epoch: Epoch
    seq: Annotated[int, msgspec.Meta(ge=0)]


class Subscribe(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Client request: subscribe to channels (again: replaces their filter).

    With ``since`` the server replays exactly the messages after that position of
    each channel named there, or says it cannot and sends a snapshot instead.
    """

    op: Literal["subscribe"]
    channels: Annotated[list[ChannelName], msgspec.Meta(min_length=1, max_length=64)]
    filter: Filter | None = None
    since: dict[ChannelName, Position] | None = None
    id: RequestId = None


class Unsubscribe(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Client request: remove channels from this connection's subscription."""

    op: Literal["unsubscribe"]
    channels: Annotated[list[ChannelName], msgspec.Meta(min_length=1, max_length=64)]
    id: RequestId = None


class Auth(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Client request: authenticate with the gateway's token (for clients that cannot
    send an ``Authorization: Bearer`` header, such as browsers). Must be the first
    message when the gateway requires a token and the handshake carried none."""

    op: Literal["auth"]
    token: Annotated[str, msgspec.Meta(max_length=1024)]
    id: RequestId = None


class Ping(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Client request: the server answers ``pong`` (an app-level round trip)."""

    op: Literal["ping"]
    id: RequestId = None


Request = Subscribe | Unsubscribe | Auth | Ping


# Server messages ----------------------------------------------------------------


class Limits(msgspec.Struct):
    """The limits this gateway enforces on each connection."""

    max_message_bytes: Annotated[
        int, msgspec.Meta(description="Larger requests get error too_large.")
    ]
    max_frame_bytes: Annotated[
        int, msgspec.Meta(description="Larger frames close the connection with 1009.")
    ]
    max_requests_per_second: Annotated[
        float, msgspec.Meta(description="Sustained request rate; beyond: error rate_limited.")
    ]
    max_subscriptions: Annotated[int, msgspec.Meta(description="Channels per connection.")]
    max_queue: Annotated[
        int,
        msgspec.Meta(description="Messages queued for a client before slow_client and 1013."),
    ]


class Welcome(msgspec.Struct, tag_field="type", tag="welcome"):
    """Server: sent once on connect."""

    protocol: int
    server_time: Micros
    heartbeat_interval: Annotated[float, msgspec.Meta(description="Seconds between heartbeats.")]
    channels: Annotated[list[str], msgspec.Meta(description="Channel families.")]
    auth_required: Annotated[
        bool, msgspec.Meta(description="True: send auth first (no valid bearer header was sent).")
    ]
    limits: Limits


class Authenticated(msgspec.Struct, tag_field="type", tag="authenticated"):
    """Server: the ``auth`` request succeeded."""

    id: RequestId = None


class Subscribed(msgspec.Struct, tag_field="type", tag="subscribed"):
    """Server: the whole effective subscription after a subscribe or unsubscribe."""

    channels: list[str]
    filters: Annotated[
        dict[str, Filter], msgspec.Meta(description="The filter of each filtered channel.")
    ]
    id: RequestId = None


class Snapshot(msgspec.Struct, tag_field="type", tag="snapshot"):
    """Server: the next ``count`` messages of ``channel`` are its current state (the
    latest metrics per subject, or the recent signals), not a continuation; live
    messages follow from ``seq + 1``. ``reason`` says why a requested resume was
    not possible (null when none was requested)."""

    channel: str
    epoch: Epoch
    seq: Annotated[int, msgspec.Meta(ge=0, description="The channel's head.")]
    count: Annotated[int, msgspec.Meta(ge=0)]
    reason: str | None = None


class Resumed(msgspec.Struct, tag_field="type", tag="resumed"):
    """Server: the next ``count`` messages of ``channel`` are exactly those with seq
    ``from_seq`` .. ``to_seq`` that the client missed (and its filter keeps)."""

    channel: str
    epoch: Epoch
    from_seq: Annotated[int, msgspec.Meta(ge=1)]
    to_seq: Annotated[int, msgspec.Meta(ge=0)]
    count: Annotated[int, msgspec.Meta(ge=0)]


class SignalMessage(msgspec.Struct, tag_field="type", tag="signal"):
    """Server: one rotation signal. Each signal id is delivered once per channel."""

    channel: ChannelName
    seq: Seq
    data: Signal
    epoch: Epoch = ""
    ts: Annotated[int, msgspec.Meta(ge=0, description="Event time of the signal.")] = 0
    emit_ts: Annotated[int, msgspec.Meta(ge=0, description="When the gateway emitted it.")] = 0


class MetricsMessage(msgspec.Struct, tag_field="type", tag="metrics"):
    """Server: one metrics snapshot of one subject after one closed interval."""

    channel: ChannelName
    seq: Seq
    data: MetricsSnapshot
    epoch: Epoch = ""
    ts: Annotated[int, msgspec.Meta(ge=0, description="Event time (end of the interval).")] = 0
    emit_ts: Annotated[int, msgspec.Meta(ge=0, description="When the gateway emitted it.")] = 0


class Conflated(msgspec.Struct, tag_field="type", tag="conflated"):
    """Server: to a client that fell behind, these metrics messages of ``channel`` will
    not come: a newer snapshot of the same subject (the next message) replaced them."""

    channel: str
    seqs: list[int]


class Heartbeat(msgspec.Struct, tag_field="type", tag="heartbeat"):
    """Server: every ``heartbeat_interval`` seconds; ``n`` counts heartbeats since start."""

    n: Annotated[int, msgspec.Meta(ge=1)]
    server_time: Micros


class Pong(msgspec.Struct, tag_field="type", tag="pong"):
    """Server: the answer to ``ping``."""

    server_time: Micros
    id: RequestId = None


class Error(msgspec.Struct, tag_field="type", tag="error"):
    """Server: a request could not be used; ``code`` says why, ``message`` says what."""

    code: ErrorCode
    message: str
    id: RequestId = None


class Shutdown(msgspec.Struct, tag_field="type", tag="shutdown"):
    """Server: the gateway is stopping; the connection closes next with ``code``
    (1012: restarting, reconnect and resume; 1001: going away)."""

    code: Literal[1001, 1012]
    message: str


SERVER_MESSAGES = (
    Welcome,
    Authenticated,
    Subscribed,
    Snapshot,
    Resumed,
    SignalMessage,
    MetricsMessage,
    Conflated,
    Heartbeat,
    Pong,
    Error,
    Shutdown,
)
CLIENT_MESSAGES = (Subscribe, Unsubscribe, Auth, Ping)
DATA_MESSAGES = (SignalMessage, MetricsMessage)
SIGNAL_KINDS: tuple[str, ...] = get_args(SignalKind)
SIGNAL_LEVELS: tuple[str, ...] = get_args(SignalLevel)
ServerMessage = (
    Welcome
    | Authenticated
    | Subscribed
    | Snapshot
    | Resumed
    | SignalMessage
    | MetricsMessage
    | Conflated
    | Heartbeat
    | Pong
    | Error
    | Shutdown
)

# Close codes (RFC 6455 section 7.4.1 and the IANA registry).
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013
