"""Create the declared topics with their partition counts (idempotent).

Every process calls this at start, so the contract of ``streams.topics`` holds on
any broker: Tansu would otherwise create topics implicitly with 4 partitions.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.topics import ALL, TopicSpec

log = logging.getLogger(__name__)


async def ensure_topics(bootstrap: str, topics: tuple[TopicSpec, ...] = ALL) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="rotation-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if not missing:
            return
        # Another process may create a topic between our list and our create.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(t.name, num_partitions=t.partitions, replication_factor=1)
                    for t in missing
                ]
            )
        log.info("created topics: %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()
