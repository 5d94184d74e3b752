"""Create the declared topics with their partition counts (idempotent).

Every process calls this at start with the configured topics, so the contract holds on
any broker: Tansu would otherwise create topics implicitly with 4 partitions. A topic
that already exists with another partition count than the configuration says is an
error (``TopicMismatch``): ticks would be placed in partitions the topic does not
have, or read by fewer consumers than the configuration assumes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streams.errors import RotationError
from streams.kafka import KafkaSecurity, kafka_client_kwargs
from streams.topics import DEFAULT_TOPICS, TopicSpec

log = logging.getLogger(__name__)


class TopicMismatch(RotationError):
    """A topic exists with another partition count than the configuration declares."""


class BrokerUnreachable(RotationError):
    """The broker did not answer when the topics were checked."""


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[TopicSpec] = DEFAULT_TOPICS,
    security: KafkaSecurity | None = None,
) -> dict[str, str]:
    """Create the missing ``topics`` (default: every topic as shipped); check the
    partition count of those that exist. Returns topic name -> ``created`` or ``exists``.
    """
    topics = tuple(topics)
    admin = AIOKafkaAdminClient(
        **kafka_client_kwargs(bootstrap, security), client_id="rotation-admin"
    )
    try:
        try:
            await admin.start()
        except KafkaError as exc:
            raise BrokerUnreachable(
                f"cannot reach Kafka at {bootstrap} to check the topics "
                f"({type(exc).__name__}: {exc}); is the broker up?"
            ) from None
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        present = [t for t in topics if t.name in existing]
        if missing:
            # Another process may create a topic between our list and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            t.name,
                            num_partitions=t.partitions,
                            replication_factor=1,
                            topic_configs=dict(t.configs),
                        )
                        for t in missing
                    ]
                )
            log.info("created topics: %s", ", ".join(t.name for t in missing))
        if present:
            _check_partitions(present, await admin.describe_topics([t.name for t in present]))
        return {t.name: "created" if t in missing else "exists" for t in topics}
    finally:
        await admin.close()


def _check_partitions(specs: Sequence[TopicSpec], described: list[dict]) -> None:
    counts = {
        d.get("topic"): len(d.get("partitions") or [])
        for d in described
        if isinstance(d, dict) and not d.get("error_code")
    }
    for spec in specs:
        actual = counts.get(spec.name)
        if actual and actual != spec.partitions:
            raise TopicMismatch(
                f"topic {spec.name} has {actual} partitions, but the configuration says "
                f"{spec.partitions}: set its [topics] partitions to {actual}, or delete the "
                "topic so it is created anew"
            )
