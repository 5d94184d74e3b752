"""The Faust agents and the pure analytics they run.

:mod:`agents.analytics` is plain Python and numpy: no Kafka, asyncio, clock or
environment (an import-linter contract keeps it so). Above it, :mod:`agents.app` builds
the Faust app and :mod:`agents.bar_agent` / :mod:`agents.rotation_agent` are thin
shells: decode a message, call the analytics, send what they return. May import
:mod:`streams`; never the gateway, the monitor or the composition root.
"""
