"""The composition root: the ``rotation`` command and everything that wires the parts.

The console script (:mod:`rotation.cli`), ``rotation up`` (:mod:`rotation.up`), loading
the configuration file and the environment (:mod:`rotation.config`,
:mod:`rotation.environment`), the embedded broker, replay of recorded history,
schema generation and the dead-letter report. This is the only package that reads
files or the environment for configuration; it passes what it read down. It may
import every other package (``monitor``, ``gateway``, ``agents``, ``streams``);
none of them imports it.
"""
