"""The websocket gateway: rotation.metrics and rotation.signals fanned out to subscribers.

Public surface: :class:`gateway.server.Gateway` (the server, ``rotation gateway``),
:class:`gateway.settings.GatewaySettings` (every limit, with its default),
:class:`gateway.client.GatewayClient` (the reconnecting, resuming Python client) and
the protocol structs of :mod:`gateway.messages`. The protocol logic is sans-I/O:
:mod:`gateway.requests` (parsing), :mod:`gateway.session` (one conversation),
:mod:`gateway.history` (numbering, snapshots, resume), :mod:`gateway.subscriptions`,
:mod:`gateway.outbox` (per-client queue, conflation), :mod:`gateway.ratelimit`,
:mod:`gateway.resume` (the client's positions and seen signals);
:mod:`gateway.kafka_reader` and :mod:`gateway.server` do the I/O. May import
:mod:`streams`; never the agents, the monitor or the composition root.
"""
