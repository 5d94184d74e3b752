"""Tick sources: everything that writes to ``quotes.ticks`` (``rotation feed SOURCE``).

========================  ====================================================  ==========
source                    module                                                extra
========================  ====================================================  ==========
``sim``                   :mod:`streams.feeds.sim` (the seeded simulator)        -
``replay FILE``           :mod:`rotation.replay` (CSV/Parquet, ``--kafka`` path)  -
``yahoo SYMBOLS``         :mod:`streams.feeds.yahoo`                            ``yahoo``
``alpaca SYMBOLS``        :mod:`streams.feeds.alpaca`                           ``alpaca``
``polygon SYMBOLS``       :mod:`streams.feeds.polygon`                          ``polygon``
========================  ====================================================  ==========

A live provider is two halves: a pure protocol module (provider message in, events
out: :mod:`streams.feeds.protocol`) and the shared websocket shell
(:mod:`streams.feeds.shell`: reconnect with backoff, resubscribe, gap detection) that
hands ticks to :mod:`streams.feeds.producer` (frames per partition on Kafka). Errors
are in :mod:`streams.feeds.errors`. See ``streams/feeds/README.md``.

Nothing is imported here, so ``rotation feed sim`` loads neither websockets nor pandas.
"""
