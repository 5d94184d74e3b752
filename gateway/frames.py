"""A websocket text frame as the server sends it, built once for every subscriber
(RFC 6455, section 5.2).

Server frames are not masked, and with permessage-deflate off (the gateway turns it
off: it would cost about 64 KiB per connection) every subscriber of a message gets
the very same bytes. :func:`text_frame` builds them once per message; the server
writes them to each open connection, as ``websockets.broadcast`` does, without
serializing the frame again for every connection.
"""

from __future__ import annotations

import struct


def text_frame(payload: bytes) -> bytes:
    """FIN and the text opcode, the payload length (7, 16 or 64 bits), the payload."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


def payload_of(frame: bytes) -> memoryview:
    """The payload of a frame made by :func:`text_frame`, without copying it."""
    marker = frame[1] & 0x7F
    return memoryview(frame)[2 if marker < 126 else 4 if marker == 126 else 10 :]
