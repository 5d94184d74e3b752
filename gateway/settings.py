"""Every setting and limit of the gateway, with its default, in one place.

Each field is also a ``rotation gateway`` flag (``max_queue`` -> ``--max-queue``) and
a key of the universe file's ``[gateway]`` table (flags win); the token comes from
``--token`` or ``ROTATION_GATEWAY_TOKEN`` only (a flag shows in the process list, so
the environment is the better place). The README's "Websocket gateway" section has
the table.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

TOKEN_ENV = "ROTATION_GATEWAY_TOKEN"


def _doc(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class GatewaySettings:
    host: str = field(default="127.0.0.1", metadata=_doc("listen address"))
    port: int = field(default=8765, metadata=_doc("listen port (0: any free port)"))
    token: str | None = field(
        default=None,
        metadata=_doc(f"require this bearer token (default: {TOKEN_ENV}; unset: no auth)"),
    )
    auth_timeout: float = field(
        default=10.0, metadata=_doc("seconds a client without a bearer header has to send auth")
    )
    max_message_bytes: int = field(
        default=4096, metadata=_doc("largest request; larger ones get error too_large")
    )
    max_frame_bytes: int = field(
        default=65536, metadata=_doc("largest frame; larger ones close the connection (1009)")
    )
    max_requests_per_second: float = field(
        default=20.0, metadata=_doc("sustained requests per connection; beyond: rate_limited")
    )
    request_burst: int = field(default=40, metadata=_doc("requests allowed in a burst"))
    flood_limit: int = field(
        default=100, metadata=_doc("rate-limited requests in a row before close 1008")
    )
    max_subscriptions: int = field(default=64, metadata=_doc("channels per connection"))
    max_connections: int = field(
        default=10_000, metadata=_doc("connections in all; beyond: HTTP 503")
    )
    max_connections_per_address: int = field(
        default=100,
        metadata=_doc("connections per client IP address; beyond: HTTP 429 (0: no limit)"),
    )
    max_queue: int = field(
        default=1024,
        metadata=_doc("messages queued for a client beyond its socket; beyond: slow_client, 1013"),
    )
    write_limit: int = field(
        default=32768,
        metadata=_doc(
            "bytes buffered per connection before its messages wait in its queue instead"
        ),
    )
    heartbeat_interval: float = field(
        default=5.0, metadata=_doc("seconds between heartbeat messages")
    )
    ping_interval: float = field(
        default=20.0, metadata=_doc("seconds between websocket pings (protocol level)")
    )
    ping_timeout: float = field(
        default=20.0, metadata=_doc("seconds to wait for a pong before closing (1011)")
    )
    keep_signals: int = field(default=1000, metadata=_doc("signals retained for resume"))
    keep_metrics: int = field(default=10_000, metadata=_doc("metrics retained for resume"))
    keep_subject: int = field(
        default=32, metadata=_doc("messages retained per subject channel for resume")
    )
    snapshot_signals: int = field(
        default=200, metadata=_doc("recent signals in a snapshot of the signals channel")
    )
    fetch_max_wait_ms: int = field(
        default=10,
        metadata=_doc(
            "longest a Kafka fetch waits for new records (latency floor on Tansu; "
            "`rotation gateway` takes ROTATION_FETCH_MAX_WAIT_MS when neither this nor "
            "[gateway] sets it)"
        ),
    )
    shutdown_timeout: float = field(
        default=5.0, metadata=_doc("seconds clients get to close after the shutdown notice")
    )
    dashboard: bool = field(
        default=True,
        metadata=_doc("serve the browser dashboard at / (--no-dashboard: /ws, /healthz, /metrics)"),
    )
    allowed_origins: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "web origins, besides the dashboard's own, whose pages may open /ws, e.g. "
            "https://desk.example.com (repeat the flag; * allows any)"
        ),
    )

    def __post_init__(self) -> None:
        origins = self.allowed_origins
        if isinstance(origins, str) or not all(isinstance(o, str) for o in origins):
            raise ValueError(f"allowed_origins must be a list of origins, got {origins!r}")
        object.__setattr__(self, "allowed_origins", tuple(origins))
        for origin in origins:
            if not valid_origin(origin):
                raise ValueError(
                    f"allowed_origins: {origin!r} is not an origin such as "
                    "https://desk.example.com or http://127.0.0.1:8080 (scheme, host, "
                    "optional port; no path), nor *"
                )
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            may_be_zero = f.name in ("port", "max_connections_per_address", "flood_limit")
            if isinstance(value, int | float) and (value < 0 or (value == 0 and not may_be_zero)):
                raise ValueError(f"{f.name} must be > 0, got {value}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, got {self.port}")

    @classmethod
    def from_args(
        cls,
        args: argparse.Namespace,
        configured: dict[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> GatewaySettings:
        """Flags given on the command line, then ``configured`` (the ``[gateway]`` table
        of the universe file), then the defaults; the token also from ``environ``
        (the composition root passes the process environment)."""
        values: dict[str, object] = dict(configured or {})
        for f in fields(cls):
            given = getattr(args, f.name, None)
            if given is not None:
                values[f.name] = given
        if not values.get("token"):
            values["token"] = (environ or {}).get(TOKEN_ENV) or None
        return cls(**values)  # type: ignore[arg-type]  # argparse and the TOML give typed values; __post_init__ checks them


_ORIGIN = re.compile(r"^https?://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$")


def valid_origin(origin: str) -> bool:
    """``scheme://host[:port]`` as a browser sends it in ``Origin`` (RFC 6454), or ``*``."""
    return origin == "*" or _ORIGIN.match(origin) is not None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, with the default in its help."""
    for f in fields(GatewaySettings):
        if f.name == "dashboard":
            parser.add_argument(
                "--no-dashboard",
                dest="dashboard",
                action="store_const",
                const=False,
                default=None,
                help="do not serve the browser dashboard at / (/ws, /healthz, /metrics stay)",
            )
            continue
        if f.name == "allowed_origins":
            parser.add_argument(
                "--allowed-origin",
                dest="allowed_origins",
                action="append",
                default=None,
                metavar="ORIGIN",
                help=f.metadata["help"],
            )
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float}.get(str(f.type).split(" ")[0], str)
        help_text = f.metadata["help"]
        if f.default is not None:
            help_text += f" (default {f.default})"
        parser.add_argument(flag, type=kind, default=None, help=help_text)
