"""Which web pages may open the websocket: the Origin check of ``/ws``.

Browsers send ``Origin`` with every websocket handshake (RFC 6455, section 4.1), and
a page of any site may try to open ``ws://127.0.0.1:8765/ws``; the gateway answers
only pages of its own origin (the dashboard it serves) and the origins configured in
``allowed_origins``. Clients that are not browsers send no ``Origin`` and are not
affected (the token, when set, guards them).

"Its own origin" is the ``Host`` the request was sent to, and only when that host is
an IP address or ``localhost``: a page of another site whose DNS name was pointed at
this machine (DNS rebinding) sends its own name in both headers, so a gateway reached
by a DNS name (behind a proxy, say) needs that origin in ``allowed_origins``.
"""

from __future__ import annotations

import ipaddress


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a handshake with ``Origin: origin`` sent to ``Host: host`` may proceed."""
    if origin is None:
        return True
    origin = origin.strip().lower()
    if "*" in allowed or origin in (a.lower() for a in allowed):
        return True
    if host is None:
        return False
    scheme, sep, authority = origin.partition("://")
    if not sep or scheme not in ("http", "https"):
        return False
    return authority == host.strip().lower() and _local_name(authority)


def _local_name(authority: str) -> bool:
    """``127.0.0.1:8765``, ``[::1]:8765``, ``localhost:8765``: names no DNS answers for."""
    if authority.startswith("["):
        name = authority[1 : authority.find("]")] if "]" in authority else ""
    else:
        name = authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
