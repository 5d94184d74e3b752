"""Generate the JSON Schema files of ``schemas/`` from the msgspec records.

One file per topic payload (``topic.<name>.json``) and per gateway message type
(``ws.<direction>.<type>.json``), each a self-contained JSON Schema 2020-12 document,
and ``asyncapi.json``: an AsyncAPI 3.0 document of the websocket protocol and every
Kafka topic, whose payloads are ``$ref``s to those files.
``check_schemas`` reports files that differ from what the code generates.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import msgspec

from gateway.messages import CLIENT_MESSAGES, PROTOCOL_VERSION, SERVER_MESSAGES
from streams.topics import DEFAULT_TOPICS, TopicSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_for(kind: type | tuple[type, ...], title: str, description: str) -> dict[str, Any]:
    """A standalone schema of ``kind``; a tuple of kinds means any one of them."""
    if isinstance(kind, tuple):
        refs, defs = msgspec.json.schema_components(kind)
        schema: dict[str, Any] = {"anyOf": list(refs), "$defs": defs}
    else:
        schema = msgspec.json.schema(kind)
    return _normalised(
        {
            "$schema": DIALECT,
            "$id": title,
            "title": title,
            "description": description,
            **schema,
        }
    )


def _normalised(node: Any) -> Any:
    """``node`` with every ``description`` cleaned as :func:`inspect.cleandoc` does.

    msgspec copies docstrings into descriptions, and its releases differ in whether the
    indentation is kept (0.23 removes it); cleaning them here keeps the files the same
    whichever version generated them.
    """
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else _normalised(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_normalised(item) for item in node]
    return node


def _message_type(kind: type) -> str:
    info = msgspec.inspect.type_info(kind)
    return info.tag if getattr(info, "tag", None) else kind.__name__.lower()  # type: ignore[attr-defined]  # msgspec.inspect types without a tag have no .tag


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema document, for every topic and gateway message."""
    files: dict[str, dict[str, Any]] = {}
    for spec in DEFAULT_TOPICS:
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
        # The server sends every field of its messages, defaults included.
        top = files[name]["$defs"][kind.__name__]
        top["required"] = sorted(top["properties"])
    for kind in CLIENT_MESSAGES:
        name = f"ws.client.{kind.__name__.lower()}.json"
        files[name] = schema_for(kind, name, (kind.__doc__ or "").strip())
    files[ASYNCAPI] = _normalised(asyncapi(files))
    return files


ASYNCAPI = "asyncapi.json"

_WS_DESCRIPTION = """\
The websocket gateway: JSON text frames at /ws. Logical channels inside the connection: \
`signals` and `metrics` (every subject) and `signals:<subject>` / `metrics:<subject>` \
(one subject, e.g. `metrics:pair:IWM/QQQ`). The server sends `welcome`; the client may \
`auth` (when no Authorization: Bearer header was sent and a token is required), then \
`subscribe` (channels, optional filter, optional `since` per channel) and `unsubscribe`; \
the server acknowledges with `subscribed`, then per channel `resumed` + exactly the \
missed messages, or `snapshot` + the current state, then live data messages with a \
gapless per-channel `seq` and an `epoch`; `heartbeat` every few seconds; `error` for \
every unusable request; `shutdown` before closing with 1012 (restart) or 1001. Close \
codes: 1008 unauthorized or request flood, 1009 frame above the limit, 1013 slow client. \
HTTP on the same port: GET /healthz (JSON) and GET /metrics (Prometheus text)."""


def _message_name(file_name: str) -> str:
    return file_name.removesuffix(".json").replace(".", "_")


def asyncapi(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the system, given the schema files it refers to."""
    messages: dict[str, Any] = {}
    for name, schema in files.items():
        messages[_message_name(name)] = {
            "name": _message_name(name),
            "title": schema["title"],
            "summary": schema["description"].split("\n")[0][:200],
            "contentType": "application/json",
            "payload": {"$ref": f"./{name}"},
        }

    def refs(prefix: str) -> dict[str, Any]:
        return {
            _message_name(n): {"$ref": f"#/components/messages/{_message_name(n)}"}
            for n in files
            if n.startswith(prefix)
        }

    def topic_channel(spec: TopicSpec) -> dict[str, Any]:
        return {
            "address": spec.name,
            "title": spec.name,
            "description": f"{spec.description} Key: {spec.key}.",
            "servers": [{"$ref": "#/servers/kafka"}],
            "messages": refs(f"topic.{spec.name}."),
            "bindings": {"kafka": {"topic": spec.name, "partitions": spec.partitions}},
        }

    channels: dict[str, Any] = {
        "gateway": {
            "address": "/ws",
            "title": "websocket gateway",
            "description": _WS_DESCRIPTION,
            "servers": [{"$ref": "#/servers/gateway"}],
            "messages": refs("ws."),
        },
        **{spec.name.replace(".", "_"): topic_channel(spec) for spec in DEFAULT_TOPICS},
    }

    def operation(action: str, channel: str, summary: str, prefix: str) -> dict[str, Any]:
        return {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": summary,
            "messages": [
                {"$ref": f"#/channels/{channel}/messages/{name}"} for name in refs(prefix)
            ],
        }

    operations = {
        "receiveClientRequests": operation(
            "receive", "gateway", "Requests a websocket client sends.", "ws.client."
        ),
        "sendServerMessages": operation(
            "send", "gateway", "Messages the gateway sends to a websocket client.", "ws.server."
        ),
    }
    for spec in DEFAULT_TOPICS:
        channel = spec.name.replace(".", "_")
        action = "receive" if spec.name == "quotes.ticks" else "send"
        operations[f"{action}_{channel}"] = operation(
            action, channel, spec.description, f"topic.{spec.name}."
        )
    return {
        "asyncapi": "3.0.0",
        "id": "urn:rotation",
        "info": {
            "title": "rotation",
            "version": f"{PROTOCOL_VERSION}.0.0",
            "description": (
                "Market rotation monitor: quote ticks in on Kafka, bars, metrics and signals "
                "out on Kafka, metrics and signals fanned out by the websocket gateway "
                f"(protocol {PROTOCOL_VERSION}). Payload schemas are the JSON Schema 2020-12 "
                "files beside this document, generated from the code (`rotation schemas`)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "gateway": {
                "host": "127.0.0.1:8765",
                "protocol": "ws",
                "pathname": "/ws",
                "description": "rotation gateway; the bearer token is optional (--token).",
                "security": [{"$ref": "#/components/securitySchemes/bearer"}],
            },
            "kafka": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "Any Kafka cluster (KAFKA_BOOTSTRAP), or the embedded Tansu.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "Authorization: Bearer <token> at the handshake (HTTP 401 if wrong), "
                        'or a first {"op": "auth", "token": ...} message (close 1008 '
                        "if wrong or missing)."
                    ),
                }
            },
        },
    }


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
    """Differences between ``folder`` and the generated schemas, as readable lines.

    Files are compared as JSON documents with their descriptions cleaned, so only a
    change of the contract counts, not its layout or a docstring's indentation.
    """
    folder = Path(folder)
    problems = []
    expected = generate()
    for name, schema in expected.items():
        path = folder / name
        if not path.exists():
            problems.append(f"{path}: missing (run `rotation schemas`)")
        elif _normalised(_read_json(path)) != json.loads(render(schema)):
            problems.append(f"{path}: differs from the code (run `rotation schemas`)")
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(("topic.", "ws.")) and path.name not in expected:
            problems.append(f"{path}: no record generates it any more")
    return problems


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None  # not JSON at all: reported as a difference
