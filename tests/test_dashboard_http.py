"""The dashboard as HTTP: files, content types, caching, the CSP, the Origin check on
``/ws`` and ``--no-dashboard``, against a real gateway on loopback (a real broker
behind it) and plain HTTP clients. What the page does in a browser is
tests/test_dashboard_browser.py."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import re

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from gateway.origins import origin_allowed
from gateway.settings import GatewaySettings
from gateway.static import IMMUTABLE, Dashboard, content_security_policy
from rotation.config import ConfigError, load_universe
from tests.test_gateway_server import kafka, running_gateway, url_of  # noqa: F401  (fixture)

FILES = {
    "index.html": b'<link rel="stylesheet" href="style.css"><script src="app.js" defer></script>'
    b'<script src="vendor/lib/lib.min.js" defer></script><a href="#top">top</a>',
    "style.css": b"body { color: black }\n" * 60,
    "app.js": b"window.Rotation = {};\n",
    "vendor/lib/lib.min.js": b"/* lib */\n",
    "vendor/lib/LICENSE": b"MIT\n",
    "notes.bin": b"\x00",
}


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# The files, without a server -----------------------------------------------------------


def test_index_names_each_asset_by_a_hash_of_its_content():
    dashboard = Dashboard(FILES)
    index = dashboard.assets["/"].body.decode()
    names = dashboard.index_names
    assert re.fullmatch(r"app\.[0-9a-f]{12}\.js", names["app.js"])
    assert re.fullmatch(r"vendor/lib/lib\.min\.[0-9a-f]{12}\.js", names["vendor/lib/lib.min.js"])
    assert f'src="{names["app.js"]}"' in index and f'href="{names["style.css"]}"' in index
    assert 'href="#top"' in index  # not a file: left alone
    changed = Dashboard({**FILES, "app.js": b"window.Rotation = {v: 2};\n"})
    assert changed.index_names["app.js"] != names["app.js"]
    assert changed.index_names["style.css"] == names["style.css"]
    assert "/notes.bin" not in dashboard.assets  # a type the dashboard does not ship


def test_a_dashboard_without_an_index_is_refused():
    with pytest.raises(ValueError, match=r"no index\.html"):
        Dashboard({"app.js": b""})


def test_the_shipped_dashboard_loads_and_names_only_files_it_has():
    dashboard = Dashboard.load()
    index = dashboard.assets["/"].body.decode()
    for reference in re.findall(r'(?:src|href)="([^"#]+)"', index):
        if not reference.startswith(("data:", "http")):
            assert "/" + reference in dashboard.assets, reference
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index), "an inline script"
    assert not re.search(r"\sstyle=|\son[a-z]+=", index), "an inline style or handler"


def test_the_policy_allows_only_own_files_and_the_websocket_of_the_host():
    policy = content_security_policy("127.0.0.1:8765")
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert "connect-src 'self' ws://127.0.0.1:8765 wss://127.0.0.1:8765;" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert "connect-src 'self';" in content_security_policy("evil; script-src *")


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "ok"),
    [
        (None, "127.0.0.1:8765", (), True),  # not a browser
        ("http://127.0.0.1:8765", "127.0.0.1:8765", (), True),  # the dashboard itself
        ("http://localhost:8765", "localhost:8765", (), True),
        ("http://[::1]:8765", "[::1]:8765", (), True),
        ("http://127.0.0.1:3000", "127.0.0.1:8765", (), False),  # another local page
        ("https://evil.example", "127.0.0.1:8765", (), False),
        ("http://evil.example:8765", "evil.example:8765", (), False),  # DNS rebinding
        ("https://desk.example.com", "127.0.0.1:8765", ("https://desk.example.com",), True),
        ("https://DESK.example.com", "127.0.0.1:8765", ("https://desk.example.com",), True),
        ("https://evil.example", "127.0.0.1:8765", ("*",), True),
        ("null", "127.0.0.1:8765", (), False),  # a sandboxed or file: page
    ],
)
def test_which_origins_may_open_the_websocket(origin, host, allowed, ok):
    assert origin_allowed(origin, host, allowed) is ok


@pytest.mark.parametrize(
    "origin", ["desk.example.com", "https://desk.example.com/", "ftp://x", "https://a b"]
)
def test_a_malformed_allowed_origin_is_one_clear_error(origin):
    with pytest.raises(ValueError, match=r"allowed_origins: .* is not an origin"):
        GatewaySettings(allowed_origins=(origin,))


def test_the_gateway_table_takes_the_dashboard_switch_and_origins(tmp_path):
    config = tmp_path / "universe.toml"
    config.write_text(
        '[gateway]\ndashboard = false\nallowed_origins = ["https://desk.example.com"]\n'
    )
    assert load_universe(str(config)).gateway == {
        "dashboard": False,
        "allowed_origins": ["https://desk.example.com"],
    }
    config.write_text('[gateway]\nallowed_origins = "https://desk.example.com"\n')
    with pytest.raises(ConfigError, match="allowed_origins' must be an array"):
        load_universe(str(config))


# A real gateway ----------------------------------------------------------------------


async def test_the_gateway_serves_the_dashboard_with_types_caching_and_policy(kafka):  # noqa: F811
    async with running_gateway(kafka) as gateway:
        port = gateway.port
        status, headers, body = await asyncio.to_thread(get, port, "/")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Cache-Control"] == "no-cache"
        assert f"ws://127.0.0.1:{port}" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, _, _ = await asyncio.to_thread(get, port, "/", **{"If-None-Match": headers["ETag"]})
        assert status == 304
        index = body.decode()
        assert gateway.dashboard is not None
        for plain, hashed in gateway.dashboard.index_names.items():
            if f'"{hashed}"' not in index:
                continue
            status, headers, content = await asyncio.to_thread(get, port, "/" + hashed)
            assert status == 200, hashed
            assert headers["Cache-Control"] == IMMUTABLE
            suffix = plain.rpartition(".")[2]
            expected = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
            assert headers["Content-Type"].startswith(expected.get(suffix, "")), plain
            status, zipped_headers, zipped = await asyncio.to_thread(
                get, port, "/" + hashed, **{"Accept-Encoding": "gzip, br"}
            )
            if zipped_headers.get("Content-Encoding") == "gzip":
                assert gzip.decompress(zipped) == content
                assert zipped_headers["Vary"] == "Accept-Encoding"
        status, headers, body = await asyncio.to_thread(get, port, "/nope")
        assert status == 404 and b"the dashboard at /" in body


async def test_websocket_admits_its_own_page_and_configured_origins_only(kafka):  # noqa: F811
    async with running_gateway(kafka, allowed_origins=("https://desk.example.com",)) as gateway:
        own = Origin(f"http://127.0.0.1:{gateway.port}")
        for origin in (own, Origin("https://desk.example.com"), None):
            async with connect(url_of(gateway), origin=origin) as ws:
                assert '"welcome"' in await asyncio.wait_for(ws.recv(), 30)
        with pytest.raises(InvalidStatus) as refused:
            await connect(url_of(gateway), origin=Origin("https://evil.example"))
        assert refused.value.response.status_code == 403
        assert b"https://evil.example may not open" in refused.value.response.body
        assert gateway.stats.connections_rejected["origin"] == 1


async def test_no_dashboard_leaves_the_websocket_health_and_metrics(kafka):  # noqa: F811
    async with running_gateway(kafka, dashboard=False) as gateway:
        assert gateway.dashboard is None
        status, _, body = await asyncio.to_thread(get, gateway.port, "/")
        assert status == 404 and b"dashboard" not in body
        assert (await asyncio.to_thread(get, gateway.port, "/healthz"))[0] == 200
        async with connect(url_of(gateway)) as ws:
            assert '"welcome"' in await asyncio.wait_for(ws.recv(), 30)


def test_no_dashboard_flags_of_up_and_gateway():
    import argparse

    from rotation.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["up"]).dashboard is True
    assert parser.parse_args(["up", "--no-dashboard"]).dashboard is False
    gateway = parser.parse_args(
        [
            "gateway",
            "--no-dashboard",
            "--allowed-origin",
            "https://a.example",
            "--allowed-origin",
            "*",
        ]
    )
    settings = GatewaySettings.from_args(gateway)
    assert settings.dashboard is False and settings.allowed_origins == ("https://a.example", "*")
    assert GatewaySettings.from_args(argparse.Namespace()).dashboard is True
