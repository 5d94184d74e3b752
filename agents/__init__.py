"""Faust agents (thin shells: decode, call the pure analytics, send) and the analytics."""
