"""Parse a client's text frame into a request, or the error to answer it with (sans-I/O).

Checks run from the cheapest to the most specific, and the first failure names the
problem: size (``too_large``), JSON (``bad_json``), shape (``bad_request``), ``op``
(``unknown_op``), channel names (``unknown_channel``), then fields and values
(``bad_request``, with msgspec's path to the offending field).
"""

from __future__ import annotations

import re

import msgspec

from gateway.messages import (
    CHANNEL_PATTERN,
    FAMILIES,
    METRICS_KINDS,
    SIGNAL_KINDS,
    SIGNAL_LEVELS,
    Auth,
    Error,
    Ping,
    Request,
    Subscribe,
    Unsubscribe,
)

MAX_REQUEST_BYTES = 4096
"""Default limit of one request; a larger one gets ``too_large`` (the connection stays)."""

_ops: dict[str, msgspec.json.Decoder] = {
    "subscribe": msgspec.json.Decoder(Subscribe),
    "unsubscribe": msgspec.json.Decoder(Unsubscribe),
    "auth": msgspec.json.Decoder(Auth),
    "ping": msgspec.json.Decoder(Ping),
}
_any = msgspec.json.Decoder()
_channel = re.compile(CHANNEL_PATTERN)


def family_of(channel: str) -> str:
    """``signals`` or ``metrics``: the family of a valid channel name."""
    return channel.partition(":")[0]


def parse_request(frame: str | bytes, max_bytes: int = MAX_REQUEST_BYTES) -> Request | Error:
    """The request in ``frame``, or an :class:`Error` naming what is wrong with it."""
    size = len(frame.encode()) if isinstance(frame, str) else len(frame)
    if size > max_bytes:
        return Error("too_large", f"request is {size} bytes; the limit is {max_bytes}")
    try:
        raw = _any.decode(frame)
    except msgspec.DecodeError as exc:
        return Error("bad_json", f"not valid JSON: {exc}")
    if not isinstance(raw, dict):
        return Error("bad_request", f"expected a JSON object, got {type(raw).__name__}")
    request_id = raw.get("id") if isinstance(raw.get("id"), str | int) else None
    op = raw.get("op")
    if not isinstance(op, str) or op not in _ops:
        return Error("unknown_op", f"unknown op {op!r}; expected one of {sorted(_ops)}", request_id)
    channels = raw.get("channels")
    if isinstance(channels, list):
        unknown = [c for c in channels if not (isinstance(c, str) and _channel.match(c))]
        if unknown:
            return Error(
                "unknown_channel",
                f"unknown channels {unknown[:8]}; channels are {list(FAMILIES)} or "
                "<family>:<subject> such as metrics:pair:IWM/QQQ or signals:group:small_caps",
                request_id,
            )
    try:
        request = _ops[op].decode(frame)
    except msgspec.ValidationError as exc:
        hint = f"; levels are {list(SIGNAL_LEVELS)}" if "$.filter.levels" in str(exc) else ""
        return Error("bad_request", f"invalid {op} request: {exc}{hint}", request_id)
    if isinstance(request, Subscribe) and (problem := _subscribe_problem(request)):
        return Error("bad_request", f"invalid subscribe request: {problem}", request_id)
    return request


def _subscribe_problem(request: Subscribe) -> str | None:
    families = {family_of(c) for c in request.channels}
    if request.since:
        stray = sorted(set(request.since) - set(request.channels))
        if stray:
            return f"since names channels {stray} that the request does not subscribe to"
    flt = request.filter
    if flt is None:
        return None
    if flt.min_score is not None and "metrics" in families:
        return "min_score applies to signal channels only; subscribe to metrics separately"
    if flt.levels is not None and "metrics" in families:
        return "levels applies to signal channels only; subscribe to metrics separately"
    if flt.kinds:
        for family in families:
            allowed = SIGNAL_KINDS if family == "signals" else METRICS_KINDS
            wrong = [k for k in flt.kinds if k not in allowed]
            if wrong:
                return (
                    f"kinds {wrong} do not exist on {family} channels; "
                    f"{family} kinds are {list(allowed)}"
                )
    return None
