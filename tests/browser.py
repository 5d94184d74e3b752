"""Headless Chromium for the dashboard's tests: Debian's ``chromium`` driven by
Playwright's Python API (no browser download), the page's console and network
watched, and screenshots compared with stored ones.

``.ci/run`` installs ``chromium`` and ``chromium-driver`` with apt when missing;
``ROTATION_CHROMIUM`` names another executable. Without one the browser tests are
skipped with the reason, except under ``CI``, where they fail.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.async_api import Browser, ConsoleMessage, Page, Response, async_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No connections anywhere but the page's: the machine's network is closed.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",  # the same glyphs on every machine with the same fonts
]
UPDATE = "ROTATION_UPDATE_SNAPSHOTS"
SNAPSHOTS = Path(__file__).with_name("snapshots")
ARTIFACTS = Path(__file__).resolve().parents[1] / ".rotation" / "browser"
"""Where the tests write what they saw: screenshots and measurements (not committed)."""


def chromium() -> str:
    """The Chromium executable, or skip (fail under CI) saying how to get one."""
    named = os.environ.get("ROTATION_CHROMIUM")
    found = named or shutil.which("chromium") or shutil.which("chromium-browser")
    if found and Path(found).exists():
        return found
    why = (
        "no Chromium: install Debian's chromium and chromium-driver "
        "(sudo apt-get install chromium chromium-driver) or set ROTATION_CHROMIUM"
    )
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    executable = chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watch:
    """What a page said and loaded: console errors, uncaught exceptions, responses."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        text = f"{message.type}: {message.text} ({message.location.get('url', '')})"
        if message.type == "error":
            self.errors.append(text)
        elif message.type == "warning":
            self.warnings.append(text)

    async def bytes_transferred(self) -> int:
        """Response headers and bodies as they came over the wire (compressed)."""
        total = 0
        for response in self.responses:
            sizes = await response.request.sizes()
            total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        return total


async def open_page(
    browser: Browser,
    url: str,
    *,
    width: int = 1280,
    height: int = 800,
    scheme: str = "dark",
    mobile: bool = False,
) -> tuple[Page, Watch]:
    context = await browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme=scheme,  # type: ignore[arg-type]  # "dark" or "light"
        timezone_id="America/New_York",
        locale="en-US",
        is_mobile=mobile,
        has_touch=mobile,
        device_scale_factor=1,
    )
    page = await context.new_page()
    watch = Watch()
    page.on("console", watch.console)
    page.on("pageerror", lambda exc: watch.errors.append(f"uncaught: {exc}"))
    page.on("response", lambda response: watch.responses.append(response))
    await page.goto(url)
    return page, watch


def differing_share(actual: bytes, expected: bytes, threshold: int = 48) -> float:
    """The share of pixels whose colour differs by more than ``threshold`` (of 255) in
    any channel; 1.0 when the sizes differ."""
    a = np.asarray(Image.open(io.BytesIO(actual)).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(expected)).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        return 1.0
    return float((np.abs(a - b).max(axis=2) > threshold).mean())


def check_screenshot(name: str, png: bytes, tolerance: float = 0.02) -> Path:
    """Write ``png`` to the artifacts folder and compare it with the stored one
    (``UPDATE=1`` stores it instead); the written path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    written = ARTIFACTS / f"{name}.png"
    written.write_bytes(png)
    stored = SNAPSHOTS / f"{name}.png"
    if os.environ.get(UPDATE):
        stored.write_bytes(png)
        return written
    assert stored.exists(), (
        f"no stored screenshot {stored}: run `{UPDATE}=1 ./run test "
        f"tests/test_dashboard_browser.py -k screenshot`, then look at it"
    )
    share = differing_share(png, stored.read_bytes())
    assert share <= tolerance, (
        f"{written} differs from {stored} in {share:.1%} of its pixels (tolerance "
        f"{tolerance:.0%}); if the change is intended: `{UPDATE}=1 ./run test "
        "tests/test_dashboard_browser.py -k screenshot`"
    )
    return written
