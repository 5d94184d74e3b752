"""The bottom layer: the wire contract and the plumbing every process shares.

Records (:mod:`streams.records`) and their codec, every topic (:mod:`streams.topics`),
which partition holds a symbol (:mod:`streams.partitioning`), time units
(:mod:`streams.units`), the root of the project's errors (:mod:`streams.errors`),
Kafka connection settings, topic creation and the broker probe, and the tick sources
(:mod:`streams.feeds`, the simulator among them). It imports no other package of
the project; configuration reaches it as arguments, never from the environment.
"""
