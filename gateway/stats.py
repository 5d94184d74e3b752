"""The gateway's counters and gauges, rendered in the Prometheus text format (``/metrics``).

https://prometheus.io/docs/instrumenting/exposition_formats/ (text format 0.0.4).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Stats:
    connections_accepted: int = 0
    connections_rejected: Counter[str] = field(default_factory=Counter)
    messages_sent: int = 0
    bytes_sent: int = 0
    conflated: int = 0
    slow_client_closes: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    records: Counter[str] = field(default_factory=Counter)
    undecodable: Counter[str] = field(default_factory=Counter)
    offset_gaps: Counter[str] = field(default_factory=Counter)

    def render(self, gauges: dict[str, tuple[str, list[tuple[dict[str, str], float]]]]) -> str:
        """Counters of this object plus ``gauges``: name -> (help, [(labels, value)])."""
        out: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
                out.append(
                    f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}"
                )

        def labelled(counter: Counter[str], label: str):
            return [({label: key}, value) for key, value in sorted(counter.items())]

        p = "rotation_gateway_"
        metric(
            f"{p}connections_total",
            "counter",
            "Websocket connections accepted.",
            [({}, self.connections_accepted)],
        )
        metric(
            f"{p}connections_rejected_total",
            "counter",
            "Handshakes refused, by reason.",
            labelled(self.connections_rejected, "reason"),
        )
        metric(
            f"{p}messages_sent_total",
            "counter",
            "Messages written to clients.",
            [({}, self.messages_sent)],
        )
        metric(
            f"{p}bytes_sent_total",
            "counter",
            "Message bytes written to clients.",
            [({}, self.bytes_sent)],
        )
        metric(
            f"{p}conflated_total",
            "counter",
            "Metrics messages a slow client skipped for a newer one of the same subject.",
            [({}, self.conflated)],
        )
        metric(
            f"{p}slow_client_closes_total",
            "counter",
            "Clients closed with 1013 for falling too far behind.",
            [({}, self.slow_client_closes)],
        )
        metric(
            f"{p}errors_total",
            "counter",
            "Error messages sent, by code.",
            labelled(self.errors, "code"),
        )
        metric(
            f"{p}kafka_records_total",
            "counter",
            "Kafka records read, by topic.",
            labelled(self.records, "topic"),
        )
        metric(
            f"{p}kafka_undecodable_total",
            "counter",
            "Kafka records skipped as undecodable, by topic.",
            labelled(self.undecodable, "topic"),
        )
        metric(
            f"{p}kafka_offset_gaps_total",
            "counter",
            "Jumps in the offsets read (compaction or retention), by topic.",
            labelled(self.offset_gaps, "topic"),
        )
        for name, (help_text, samples) in gauges.items():
            metric(f"{p}{name}", "gauge", help_text, samples)
        return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
