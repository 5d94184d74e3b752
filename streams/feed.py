"""Moved: the simulator feed now lives in :mod:`streams.feeds.sim`, next to the other
tick sources. This name stays importable."""

from streams.feeds.sim import FLUSH_SECONDS, frames_of, run_feed

__all__ = ["FLUSH_SECONDS", "frames_of", "run_feed"]
