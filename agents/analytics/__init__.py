"""The pure analytics: plain Python with no Kafka, no asyncio, no clock, no environment.

Feed them events, read their results: bars and per-symbol indicators, group breadth,
relative strength, the RRG, the signal rules, and :mod:`agents.analytics.universe`
(what they run on). The Faust agents, the replay, the tests and the benchmarks all
drive the same code. May import only :mod:`streams`' records, topics and units.
"""
