"""Generate the JSON Schema files of ``schemas/`` from the msgspec records.

One file per topic payload (``topic.<name>.json``) and per gateway message type
(``ws.<direction>.<type>.json``), each a self-contained JSON Schema 2020-12 document.
``check_schemas`` reports files that differ from what the code generates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from gateway.messages import CLIENT_MESSAGES, SERVER_MESSAGES
from streams.topics import ALL

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(kind: type | tuple[type, ...], title: str, description: str) -> dict[str, Any]:
    """A standalone schema of ``kind``; a tuple of kinds means any one of them."""
    if isinstance(kind, tuple):
        refs, defs = msgspec.json.schema_components(kind)
        schema: dict[str, Any] = {"anyOf": list(refs), "$defs": defs}
    else:
        schema = msgspec.json.schema(kind)
    return {
        "$schema": DIALECT,
        "$id": title,
        "title": title,
        "description": description,
        **schema,
    }


def _message_type(kind: type) -> str:
    info = msgspec.inspect.type_info(kind)
    return info.tag if getattr(info, "tag", None) else kind.__name__.lower()  # type: ignore[attr-defined]


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema document, for every topic and gateway message."""
    files: dict[str, dict[str, Any]] = {}
    for spec in ALL:
        name = f"topic.{spec.name}.json"
        files[name] = schema_for(
            spec.payload,
            name,
            f"{spec.description} Topic {spec.name}, {spec.partitions} partition(s), key: "
            f"{spec.key}.",
        )
    for kind in SERVER_MESSAGES:
        name = f"ws.server.{_message_type(kind)}.json"
        files[name] = schema_for(kind, name, (kind.__doc__ or "").strip())
    for kind in CLIENT_MESSAGES:
        name = f"ws.client.{kind.__name__.lower()}.json"
        files[name] = schema_for(kind, name, (kind.__doc__ or "").strip())
    return files


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate().items():
        path = folder / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def check_schemas(folder: str | Path) -> list[str]:
    """Differences between ``folder`` and the generated schemas, as readable lines."""
    folder = Path(folder)
    problems = []
    expected = generate()
    for name, schema in expected.items():
        path = folder / name
        if not path.exists():
            problems.append(f"{path}: missing (run `rotation schemas`)")
        elif path.read_text(encoding="utf-8") != render(schema):
            problems.append(f"{path}: differs from the code (run `rotation schemas`)")
    for path in folder.glob("*.json"):
        if path.name.startswith(("topic.", "ws.")) and path.name not in expected:
            problems.append(f"{path}: no record generates it any more")
    return problems
