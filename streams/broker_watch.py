"""Watch the broker and say so when it becomes unreachable and when it is back.

Kafka clients retry on their own; this makes the outage and the recovery visible in
the process's log (and lets a health endpoint report it): one ApiVersions round trip
every ``interval`` seconds, in a thread so the event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from streams.kafka import KafkaSecurity
from streams.probe import api_versions_probe

log = logging.getLogger("rotation.broker")


class BrokerWatch:
    def __init__(
        self,
        bootstrap: str,
        name: str,
        security: KafkaSecurity | None = None,
        interval: float = 2.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.security = KafkaSecurity() if security is None else security
        self.name = name
        self.interval = interval
        self.reachable = True
        self.since = time.monotonic()

    async def run(self) -> None:
        if self.security.protocol != "PLAINTEXT":
            return  # the plain-text probe cannot speak TLS/SASL; the clients still log
        while True:
            ok = await asyncio.to_thread(self._probe)
            if ok != self.reachable:
                away = time.monotonic() - self.since
                self.reachable, self.since = ok, time.monotonic()
                if ok:
                    log.warning(
                        "%s: broker %s reachable again after %.1f s; clients reconnect",
                        self.name,
                        self.bootstrap,
                        away,
                    )
                else:
                    log.warning("%s: broker %s unreachable; retrying", self.name, self.bootstrap)
            await asyncio.sleep(self.interval)

    def _probe(self) -> bool:
        for host in self.bootstrap.split(","):
            try:
                api_versions_probe(host, timeout=1.0)
                return True
            except OSError:
                continue
        return False
