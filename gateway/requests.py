"""Parse a client's text frame into a request, or the error to answer it with (sans-I/O)."""

from __future__ import annotations

import msgspec

from gateway.messages import CHANNELS, Error, Subscribe, Unsubscribe

MAX_REQUEST_BYTES = 4096

_ops = {
    "subscribe": msgspec.json.Decoder(Subscribe),
    "unsubscribe": msgspec.json.Decoder(Unsubscribe),
}
_any = msgspec.json.Decoder()


def parse_request(frame: str | bytes) -> Subscribe | Unsubscribe | Error:
    """The request in ``frame``, or an :class:`Error` naming what is wrong with it."""
    if len(frame) > MAX_REQUEST_BYTES:
        return Error(
            "too_large", f"request is {len(frame)} bytes; the limit is {MAX_REQUEST_BYTES}"
        )
    try:
        raw = _any.decode(frame)
    except msgspec.DecodeError as exc:
        return Error("bad_json", f"not valid JSON: {exc}")
    if not isinstance(raw, dict):
        return Error("bad_request", f"expected a JSON object, got {type(raw).__name__}")
    request_id = raw.get("id") if isinstance(raw.get("id"), str | int) else None
    op = raw.get("op")
    if op not in _ops:
        return Error("unknown_op", f"unknown op {op!r}; expected one of {sorted(_ops)}", request_id)
    channels = raw.get("channels")
    if isinstance(channels, list):
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            return Error(
                "unknown_channel",
                f"unknown channels {unknown}; available: {list(CHANNELS)}",
                request_id,
            )
    try:
        return _ops[op].decode(frame)
    except msgspec.ValidationError as exc:
        return Error("bad_request", f"invalid {op} request: {exc}", request_id)
