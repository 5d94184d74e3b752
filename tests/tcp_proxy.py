"""The loopback TCP proxy of the outage tests; it lives in :mod:`benchmarks.tcp_proxy`,
which the chaos run uses too."""

from benchmarks.tcp_proxy import Proxy

__all__ = ["Proxy"]
