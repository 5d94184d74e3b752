"""Shared test helpers: schema validation with jsonschema, waiting, ports.

Tests wait for conditions, never for fixed times: :func:`wait_until` polls until a
condition holds or a generous deadline passes, and then fails saying what it waited
for, with the tail of the log that tells why.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import psutil

from streams.feeds.simulator import SessionTicks
from streams.records import Tick

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"


@cache
def validator(schema_file: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def assert_valid(schema_file: str, document: Any) -> None:
    """Fail with every violation when ``document`` does not match ``schemas/<schema_file>``."""
    errors = sorted(validator(schema_file).iter_errors(document), key=str)
    assert not errors, f"{schema_file}: " + "; ".join(e.message for e in errors)


def log_tail(path: Path | None, lines: int = 25) -> str:
    """The last ``lines`` lines of the file at ``path``, as a block to append to a failure."""
    if path is None:
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"\n({path}: {exc.strerror})"
    tail = "\n".join(text.splitlines()[-lines:])
    return f"\n--- last {lines} lines of {path} ---\n{tail}"


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout: float = 60.0,
    *,
    log: Path | None = None,
    interval: float = 0.05,
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    After ``timeout`` seconds, fail with ``what`` was awaited and the tail of ``log``.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {what}{log_tail(log)}")
        time.sleep(interval)


def log_contains(path: Path, text: str) -> bool:
    try:
        return text in Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False


def wait_for_log(path: Path, text: str, timeout: float = 60.0) -> None:
    """Wait until the log file at ``path`` contains ``text``."""
    wait_until(lambda: log_contains(path, text), f"{text!r} in {path}", timeout, log=path)


def wait_gone(processes: Iterable[psutil.Process], timeout: float = 30.0) -> None:
    """Wait until every process in ``processes`` has exited (or is a zombie)."""

    def running() -> list[psutil.Process]:
        alive = []
        for proc in processes:
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.NoSuchProcess:
                pass
        return alive

    wait_until(lambda: not running(), "the processes to exit", timeout)


def wait_for_port(port: int, timeout: float = 60.0, *, log: Path | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""

    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            return False

    wait_until(listening, f"a listener on 127.0.0.1:{port}", timeout, log=log)


def session_ticks(symbols: list[str], session: SessionTicks, **fields: Any) -> list[Tick]:
    """The ticks of one simulated session as records, in event-time order (``fields``:
    extra Tick fields, such as ``source``)."""
    return [
        Tick(symbol=symbols[i], ts=t, price=p, size=s, **fields)
        for t, i, p, s in zip(
            session.ts.tolist(),
            session.symbol.tolist(),
            session.price.tolist(),
            session.size.tolist(),
            strict=True,
        )
    ]
