"""The data in motion: records, topics, the Faust app, tick sources, broker, config, CLI."""
