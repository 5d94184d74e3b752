"""The pure analytics: plain Python with no Kafka, no asyncio and no clock.

Feed them events, read their results. The Faust agents, the tests and the
benchmarks all drive the same code.
"""
