"""schemas/asyncapi.json: an AsyncAPI 3.0 document of the websocket protocol and the topics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from streams.topics import DEFAULT_TOPICS
from tests.helpers import SCHEMAS

DOCUMENT = SCHEMAS / "asyncapi.json"


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_asyncapi_document_parses_and_every_reference_resolves():
    document = json.loads(DOCUMENT.read_text())
    assert document["asyncapi"] == "3.0.0"
    assert {"info", "servers", "channels", "operations", "components"} <= document.keys()
    files = set()
    for ref in refs(document):
        if ref.startswith("#/"):
            assert resolve(document, ref) is not None, ref
        else:
            path = SCHEMAS / ref
            assert path.is_file(), f"{ref} is referenced but does not exist"
            json.loads(path.read_text())
            files.add(path.name)
    # Every payload schema of schemas/ is described, and nothing else.
    schema_files = {p.name for p in SCHEMAS.glob("*.json") if p.name != DOCUMENT.name}
    assert files == schema_files


def test_asyncapi_describes_every_topic_and_both_directions_of_the_websocket():
    document = json.loads(DOCUMENT.read_text())
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {"/ws", *(spec.name for spec in tuple(DEFAULT_TOPICS))}
    operations = document["operations"]
    for operation in operations.values():
        assert operation["action"] in ("send", "receive")
        channel = resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert resolve(document, message["$ref"]) in channel["messages"].values()
    ws = {m["$ref"] for m in operations["sendServerMessages"]["messages"]}
    assert "#/channels/gateway/messages/ws_server_signal" in ws
    requests = {m["$ref"] for m in operations["receiveClientRequests"]["messages"]}
    assert "#/channels/gateway/messages/ws_client_subscribe" in requests
