"""The browser dashboard's files, served by the gateway on its own port at ``/``.

The files live in ``gateway/dashboard/`` inside the package and are read once, at
start. Each asset is also served under a name that carries a hash of its content
(``app.js`` -> ``app.3f2a9c1b7d5e.js``) with a year-long, immutable cache lifetime;
``index.html`` names the hashed files and is revalidated on every load (``no-cache``
with an ETag), so a new release is picked up at once and nothing stale mixes in.
Text files are also kept gzip-compressed for clients that accept it.

Every answer carries a Content-Security-Policy that lets the page run only its own
scripts and styles and connect only to this gateway's websocket, plus
``X-Content-Type-Options: nosniff`` (the W3C CSP Level 3 and the WHATWG Fetch
standard describe both).
"""

from __future__ import annotations

import gzip
import hashlib
import http
import re
from dataclasses import dataclass, replace
from email.utils import formatdate
from importlib import resources
from pathlib import PurePosixPath

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE
}
"""The file types the dashboard ships; any other file in the folder is not served."""
COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".json", ".txt", "")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASH_CHARS = 12
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_REFERENCE = re.compile(r'(?P<attr>\b(?:src|href))="(?P<path>[^"#?]+)"')


def content_security_policy(host: str | None) -> str:
    """Only this page's own files, and websockets to the host it was loaded from.

    ``connect-src 'self'`` covers ``ws:``/``wss:`` to the same host in CSP Level 3
    browsers; the explicit ``ws://host`` and ``wss://host`` cover the older ones."""
    connect = "'self'"
    if host is not None and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str
    cache_control: str


class Dashboard:
    """The dashboard's files by URL path, ready to answer ``GET`` requests."""

    def __init__(self, files: dict[str, bytes]) -> None:
        if INDEX not in files:
            raise ValueError(f"the dashboard has no {INDEX}")
        self.assets: dict[str, Asset] = {}
        hashed: dict[str, str] = {}
        for name, body in sorted(files.items()):
            suffix = PurePosixPath(name).suffix
            if name == INDEX or suffix not in CONTENT_TYPES:
                continue
            digest = hashlib.sha256(body).hexdigest()[:HASH_CHARS]
            stem = name[: len(name) - len(suffix)] if suffix else name
            hashed[name] = f"{stem}.{digest}{suffix}"
            asset = _asset(name, body, digest, IMMUTABLE)
            self.assets["/" + hashed[name]] = asset
            self.assets["/" + name] = replace(asset, cache_control=REVALIDATE)
        index = _REFERENCE.sub(
            lambda m: f'{m["attr"]}="{hashed.get(m["path"], m["path"])}"',
            files[INDEX].decode("utf-8"),
        ).encode("utf-8")
        self.index_names = hashed
        """Each asset's plain name -> the hashed name index.html refers to it by."""
        index_asset = _asset(INDEX, index, hashlib.sha256(index).hexdigest()[:16], REVALIDATE)
        self.assets["/"] = self.assets["/" + INDEX] = index_asset

    @classmethod
    def load(cls) -> Dashboard:
        """The files shipped in ``gateway/dashboard/`` (README.md files are for readers of
        the source, not served)."""
        root = resources.files("gateway").joinpath("dashboard")
        files: dict[str, bytes] = {}

        def walk(folder, prefix: str) -> None:
            for entry in folder.iterdir():
                if entry.is_dir():
                    walk(entry, f"{prefix}{entry.name}/")
                elif entry.name != "README.md" and not entry.name.startswith("."):
                    files[prefix + entry.name] = entry.read_bytes()

        walk(root, "")
        return cls(files)

    def answer(self, request: Request) -> Response | None:
        """The response to ``request`` if it names a dashboard file, else ``None``."""
        path = request.path.partition("?")[0]
        asset = self.assets.get(path)
        if asset is None:
            return None
        headers = Headers(
            [
                ("Date", formatdate(usegmt=True)),
                ("Content-Type", asset.content_type),
                ("Cache-Control", asset.cache_control),
                ("ETag", asset.etag),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
                ("Content-Security-Policy", content_security_policy(request.headers.get("Host"))),
            ]
        )
        if asset.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
        if asset.etag in _etags(request.headers.get("If-None-Match")):
            headers["Content-Length"] = "0"
            return Response(http.HTTPStatus.NOT_MODIFIED, "Not Modified", headers, b"")
        body = asset.body
        if asset.gzipped is not None and _accepts_gzip(request.headers.get("Accept-Encoding")):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        return Response(http.HTTPStatus.OK, "OK", headers, body)


def _asset(name: str, body: bytes, digest: str, cache_control: str) -> Asset:
    suffix = PurePosixPath(name).suffix
    gzipped = None
    if suffix in COMPRESSIBLE and len(body) > 512:
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    return Asset(body, gzipped, CONTENT_TYPES[suffix], f'"{digest}"', cache_control)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` takes gzip (RFC 9110, section 12.5.3: ``q=0`` refuses)."""
    for part in (header or "").split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            name, _, value = params.partition("=")
            if name.strip().lower() != "q":
                return True
            try:
                return float(value) > 0
            except ValueError:
                return False
    return False
