"""The websocket gateway: rotation.metrics and rotation.signals fanned out to subscribers."""
