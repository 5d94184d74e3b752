"""The live terminal monitor: a Textual app and a client of the gateway."""
