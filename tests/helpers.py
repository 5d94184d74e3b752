"""Shared test helpers: schema validation with jsonschema, waiting, ports."""

from __future__ import annotations

import json
import socket
import time
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

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


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
